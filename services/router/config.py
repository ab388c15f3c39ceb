"""The routing configuration: domains, queues, strategies, timeouts (one TOML file).

Pure: `parse_config(text)` turns the file's text into a validated `RoutingConfig`
or raises `ConfigError` listing every problem with its path, so an operator can
fix the file in one go. Pydantic does the field checks (types, ranges, unknown
keys); the cross-references (overflow targets, cycles, domains) are checked here.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from schemas.events.vocabulary import SYNC_CHANNELS
from services.runtime.settings import CLOSED_HORIZON_S

Strategy = Literal["longest_idle", "least_occupied", "most_proficient"]
Proficiency = Annotated[int, Field(ge=1, le=10)]
ANY_QUEUE = "*"
DEFAULT_QUEUE = "default"
"""The `[queues.default]` table: settings for every queue the file does not name."""


class ConfigError(ValueError):
    """The routing configuration cannot be used; `problems` says where and why."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("invalid routing configuration:\n  " + "\n  ".join(problems))
        self.problems = problems


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Relaxation(_Strict):
    """One bullseye ring: after `after_s` of waiting, ask less of the agent."""

    after_s: float = Field(gt=0)
    lower_by: int = Field(default=0, ge=0, le=10)
    """Lower every required proficiency by this much (never below 1)."""
    drop: tuple[str, ...] = ()
    """Stop requiring these skills."""


class Overflow(_Strict):
    """After `after_s` of waiting, move the conversation to another queue."""

    after_s: float = Field(gt=0)
    to: str = Field(min_length=1)


class QueuePolicy(_Strict):
    strategy: Strategy = "longest_idle"
    required_skills: dict[str, Proficiency] = Field(default_factory=dict)
    """Skills (name -> minimum proficiency 1..10) every conversation in this queue needs, on
    top of its own: a tier-2 queue asks for `tier2` of whatever is escalated or transferred
    into it. Where both name a skill, the higher level counts."""
    offer_timeout_s: float = Field(default=20.0, gt=0, le=3600)
    auto_accept: bool = False
    """Assign without an offer (usual for messaging and email)."""
    decline_exclusion_s: float = Field(default=60.0, ge=0)
    """An agent who declined or let an offer expire is not offered that conversation again
    for this long."""
    sla_at_risk_after_s: float | None = Field(default=None, gt=0)
    """Waits this long or longer count as SLA at risk and raise the priority."""
    relax: tuple[Relaxation, ...] = ()
    overflow: Overflow | None = None


class Priorities(_Strict):
    """How much each signal raises a conversation's routing priority."""

    negative_sentiment: int = Field(default=2, ge=0, le=10)
    sla_at_risk: int = Field(default=3, ge=0, le=10)


class Domain(_Strict):
    queues: tuple[str, ...] = (ANY_QUEUE,)
    """Queues this domain routes; `*` is every queue no other domain names."""
    agent_skills: tuple[str, ...] = ()
    """Only agents with one of these skills; empty: every agent."""


def _default_mixing() -> dict[str, tuple[str, ...]]:
    return {"voice": ("voice", "chat"), "chat": ("voice", "chat")}


class Routing(_Strict):
    tick_ms: int = Field(default=250, ge=10, le=10_000)
    """The longest a routable conversation waits for a decision; passes also run on every
    batch of events."""
    max_async: int = Field(default=8, ge=1, le=50)
    """The most asynchronous conversations an agent holds per channel."""
    default_capacity: dict[str, int] = Field(default_factory=lambda: {
        "voice": 1, "chat": 1, "sms": 8, "messaging": 8, "social": 8, "email": 5})
    """Capacity per channel for agents who did not state theirs."""
    mixing: dict[str, tuple[str, ...]] = Field(default_factory=_default_mixing)
    """While holding a conversation on the key channel, no new one on the listed channels."""
    prefer_previous_agent_s: float = Field(default=3600.0, ge=0)
    """Offer a customer's previous agent first for this long after their last contact."""
    forget_after_s: float | None = Field(default=None, gt=0)
    """Finished conversations are dropped from memory this long after their last event;
    unset: the worker's horizon, SWITCHBOARD_CLOSED_HORIZON_S (default 8 days)."""
    away_on_missed_offer: bool = True
    """RONA (redirect on no answer): an agent who lets an offer expire is set away with
    `missed_offer_aux_code`, so the next customers are not offered to someone who is not at
    the desk; the agent sets themselves available when back."""
    missed_offer_aux_code: str = Field(default="missed_offer", min_length=1, max_length=100)


class _File(_Strict):
    routing: Routing = Routing()
    priority: Priorities = Priorities()
    domains: dict[str, Domain] = Field(default_factory=lambda: {"default": Domain()})
    queues: dict[str, QueuePolicy] = Field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RoutingConfig:
    """The whole validated configuration."""

    routing: Routing
    priority: Priorities
    domains: dict[str, Domain]
    queues: dict[str, QueuePolicy]
    closed_horizon_s: float = CLOSED_HORIZON_S
    """The settings' horizon of closed conversations (`Settings.closed_horizon_s`)."""

    @property
    def forget_after_s(self) -> float:
        """How long a finished conversation stays in memory after its last event: the
        file's `routing.forget_after_s`, else the settings' horizon."""
        return self.routing.forget_after_s or self.closed_horizon_s

    def policy(self, queue: str) -> QueuePolicy:
        """The policy of a queue: its own table, or `[queues.default]`."""
        return self.queues.get(queue) or self.queues.get(DEFAULT_QUEUE) or QueuePolicy()

    def domain_of(self, queue: str) -> str | None:
        """The domain that routes `queue`, if any."""
        for name, domain in self.domains.items():
            if queue in domain.queues:
                return name
        for name, domain in self.domains.items():
            if ANY_QUEUE in domain.queues:
                return name
        return None

    def capacity(self, stated: dict[str, int], channel: str) -> int:
        """How many conversations of `channel` an agent may hold at once."""
        cap = stated.get(channel, self.routing.default_capacity.get(channel, 0))
        return min(cap, 1) if channel in SYNC_CHANNELS else min(cap, self.routing.max_async)


def default_config(closed_horizon_s: float = CLOSED_HORIZON_S) -> RoutingConfig:
    """The configuration used when no file is given."""
    return parse_config("", closed_horizon_s)


def parse_config(text: str, closed_horizon_s: float = CLOSED_HORIZON_S) -> RoutingConfig:
    """The configuration in TOML `text`, or ConfigError with every problem; finished
    conversations are forgotten after `closed_horizon_s` unless the file says otherwise."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"not valid TOML: {exc}"]) from None
    try:
        file = _File.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError([_describe(e) for e in exc.errors()]) from None
    config = RoutingConfig(file.routing, file.priority, file.domains, file.queues,
                           closed_horizon_s)
    problems = _cross_check(config)
    if problems:
        raise ConfigError(problems)
    return config


def _describe(error: object) -> str:
    err = error if isinstance(error, dict) else {}
    path = ".".join(str(p) for p in err.get("loc", ())) or "(file)"
    return f"{path}: {err.get('msg', 'invalid')}"


def _cross_check(config: RoutingConfig) -> list[str]:
    problems: list[str] = []
    owners: dict[str, str] = {}
    for name, domain in config.domains.items():
        for queue in domain.queues:
            if queue in owners:
                problems.append(f"domains.{name}.queues: {queue!r} is already routed by "
                                f"domain {owners[queue]!r}; a queue has one router")
            owners[queue] = name
    for name, policy in config.queues.items():
        steps = [r.after_s for r in policy.relax]
        if steps != sorted(steps):
            problems.append(f"queues.{name}.relax: steps must be in increasing after_s order")
        if policy.overflow and policy.overflow.to == name:
            problems.append(f"queues.{name}.overflow.to: a queue cannot overflow into itself")
    problems.extend(_overflow_cycles(config))
    return problems


def _overflow_cycles(config: RoutingConfig) -> list[str]:
    # Followed with `policy()`, as the router does: a target without its own table takes
    # [queues.default], and with it the default's overflow.
    problems = []
    targets = [p.overflow.to for p in config.queues.values() if p.overflow]
    for start in dict.fromkeys([*config.queues, *targets]):
        seen, queue = [start], start
        while (overflow := config.policy(queue).overflow) is not None:
            queue = overflow.to
            if queue in seen:
                if queue == start and len(seen) > 1:
                    problems.append(f"queues.{start}.overflow: cycle {' -> '.join([*seen, queue])}")
                elif queue == start and start not in config.queues:
                    problems.append(f"queues.{DEFAULT_QUEUE}.overflow.to: {start!r} has no table of "
                                    f"its own, so it takes [queues.{DEFAULT_QUEUE}] and would "
                                    "overflow into itself")
                break
            seen.append(queue)
    return problems
