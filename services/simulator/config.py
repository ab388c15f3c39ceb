"""What the simulated contact center looks like: rates, mix, shares, staffing."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType

from schemas.events.vocabulary import SYNC_CHANNELS

CHANNELS = ("chat", "voice", "messaging", "sms", "email", "social")

BOT_CHANNELS = frozenset({"chat", "messaging", "sms", "social"})
"""Channels where a bot answers first; voice and email reach a human queue directly."""

DEFAULT_START = datetime(2025, 1, 6, 8, 0, tzinfo=UTC)


@dataclass(frozen=True, slots=True, kw_only=True)
class QueueSpec:
    """A queue, the skill its conversations require, and its share of arrivals."""

    name: str
    skill: str
    weight: float


def _frozen(mapping: Mapping[str, float]) -> Mapping[str, float]:
    return MappingProxyType(dict(mapping))


DEFAULT_CHANNEL_MIX = _frozen(
    {"chat": 0.35, "voice": 0.15, "messaging": 0.2, "sms": 0.1, "email": 0.15, "social": 0.05})
DEFAULT_LANGUAGES = _frozen({"en": 0.8, "es": 0.15, "fr": 0.05})
DEFAULT_QUEUES = (
    QueueSpec(name="billing", skill="billing", weight=0.4),
    QueueSpec(name="tech", skill="tech", weight=0.35),
    QueueSpec(name="sales", skill="sales", weight=0.25),
)


@dataclass(frozen=True, slots=True, kw_only=True)
class SimulationConfig:
    """Everything the model needs; the same config always yields the same events.

    Shares are probabilities in [0, 1]; times are simulated seconds.
    """

    seed: int = 0
    rate: float = 0.3
    """Conversation arrivals per second (Poisson)."""
    duration: float = 3600.0
    """Arrivals stop, and (unless `drain`) the event stream ends, at this offset."""
    start: datetime = DEFAULT_START
    agents: int = 50
    channel_mix: Mapping[str, float] = field(default_factory=lambda: DEFAULT_CHANNEL_MIX)
    languages: Mapping[str, float] = field(default_factory=lambda: DEFAULT_LANGUAGES)
    queues: tuple[QueueSpec, ...] = DEFAULT_QUEUES
    bot_first_share: float = 0.5
    """Of conversations on bot channels, the share a bot answers first."""
    containment_share: float = 0.35
    """Of bot-first conversations, the share the bot resolves without a human."""
    abandonment: float = 1.0
    """Impatience multiplier: 0 never abandons, 2 abandons twice as fast."""
    survey_share: float = 0.3
    survey_response_share: float = 0.4
    transfer_share: float = 0.05
    escalation_share: float = 0.03
    reopen_share: float = 0.05
    decline_share: float = 0.04
    expire_share: float = 0.03
    vip_share: float = 0.05
    offer_timeout: float = 20.0
    route: bool = True
    """Play a stand-in router (offers and assignments); off when the real router runs."""
    drain: bool = False
    """Keep simulating after `duration` (no new arrivals) until every conversation ends."""
    source: str = "switchboard/simulator"

    def __post_init__(self) -> None:
        if self.start.tzinfo is None:
            raise ValueError("start must be timezone-aware")
        if self.rate <= 0 or self.duration <= 0:
            raise ValueError("rate and duration must be positive")
        if self.agents < 0:
            raise ValueError("agents must be >= 0")
        unknown = set(self.channel_mix) - set(CHANNELS)
        if unknown:
            raise ValueError(f"unknown channels {sorted(unknown)}; use {CHANNELS}")
        for name, weights in (("channel_mix", self.channel_mix), ("languages", self.languages)):
            if not weights or min(weights.values()) < 0 or sum(weights.values()) <= 0:
                raise ValueError(f"{name} needs non-negative weights with a positive sum")
        if not self.queues or sum(q.weight for q in self.queues) <= 0:
            raise ValueError("at least one queue with a positive weight is needed")
        for name in ("bot_first_share", "containment_share", "survey_share",
                     "survey_response_share", "transfer_share", "escalation_share",
                     "reopen_share", "decline_share", "expire_share", "vip_share"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be within [0, 1]")
        if self.abandonment < 0:
            raise ValueError("abandonment must be >= 0")


def is_sync(channel: str) -> bool:
    """Chat and voice hold the agent's attention: at most one voice call, chats never mixed
    with a call."""
    return channel in SYNC_CHANNELS
