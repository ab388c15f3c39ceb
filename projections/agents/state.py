"""What is known about one agent: session, status, skills, capacity and load."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from projections.dedupe import Position
from schemas.events.vocabulary import SYNC_CHANNELS

DEFAULT_LANGUAGES: tuple[str, ...] = ("en",)

RECENT_IDS = 256
"""Agent events de-duplicated by id over this many latest events (agents live long)."""


RELEASED_KEPT = timedelta(minutes=15)
"""How long (event time, behind the agent's latest move) a released conversation's
version is kept: a replay of the change topic starts at its committed offset, seconds
behind, or a few minutes when commits were held."""


@dataclass(frozen=True, slots=True)
class Moved:
    """The latest change that moved one conversation for an agent."""

    conversation_id: str
    version: int
    """`ConversationChange.version`."""
    at: datetime
    """The change's event time."""


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentState:
    agent_id: str
    logged_in: bool = False
    status: str = "offline"
    status_since: datetime | None = None
    aux_code: str = ""
    name: str = ""
    skills: dict[str, int] = field(default_factory=dict)
    capacity: dict[str, int] = field(default_factory=dict)
    languages: tuple[str, ...] = ()
    holding: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """Channel -> conversations this agent holds (assigned)."""
    offered: tuple[str, ...] = ()
    """Conversations offered to this agent and not yet answered."""
    logged_in_at: datetime | None = None
    last_assigned_at: datetime | None = None
    last_released_at: datetime | None = None
    versions: tuple[Moved, ...] = ()
    """The latest change that moved each conversation for this agent, sorted by
    conversation: every one held or offered, and those released less than
    `RELEASED_KEPT` (event time) before the latest such change. A change no newer than
    this is one already applied (or overtaken), read again by a replay, and changes
    nothing."""
    last_moved_at: datetime | None = None
    """Event time of the latest change that moved a conversation for this agent."""
    position: Position | None = None
    """Where the agent's last own event applied was read on `cc.agents` (None when folded
    without positions); conversation changes do not move it."""
    recent_ids: tuple[str, ...] = ()
    """Ids of the last `RECENT_IDS` agent events applied (`projections.dedupe`)."""

    def version_of(self, conversation_id: str) -> int | None:
        """The version recorded for a conversation (None: none kept)."""
        for moved in self.versions:
            if moved.conversation_id == conversation_id:
                return moved.version
        return None

    def load(self, channel: str) -> int:
        """Conversations held on a channel."""
        return len(self.holding.get(channel, ()))

    def sync_busy(self) -> bool:
        """True while holding a synchronous (voice, live chat) conversation."""
        return any(self.holding.get(c) for c in SYNC_CHANNELS)

    def speaks(self, language: str) -> bool:
        """Whether the agent works in `language` (an agent who states none works in English)."""
        return language in (self.languages or DEFAULT_LANGUAGES)

    def has_skills(self, required: dict[str, int]) -> bool:
        """Whether every required skill is held at least at the required proficiency."""
        return all(self.skills.get(s, 0) >= level for s, level in required.items())

    def free_slots(self, channel: str) -> int:
        """How many more conversations of `channel` this agent could take now."""
        if not self.logged_in:
            return 0
        free = self.capacity.get(channel, 0) - self.load(channel)
        if channel in SYNC_CHANNELS and self.sync_busy():
            return 0
        return max(0, free)
