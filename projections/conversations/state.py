"""What is known about one conversation after folding its events."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar, Literal

from projections.dedupe import Position

Phase = Literal["bot", "new", "queued", "offered", "assigned", "resolved", "abandoned"]
"""Where the conversation stands in routing: with the bot, waiting to be queued, waiting
in a queue, offered to an agent, held by an agent, or finished."""

WAITING_PHASES: frozenset[str] = frozenset({"queued", "offered"})
TERMINAL_PHASES: frozenset[str] = frozenset({"resolved", "abandoned"})

RECENT_IDS = 32
"""Conversation events de-duplicated by id over this many latest events; a redelivered
record is recognised by its position however old (see `projections.dedupe`)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ConversationState:
    """One conversation: routing phase, placement, milestones and counts."""

    conversation_id: str
    channel: str
    mode: str
    customer_id: str
    language: str
    started_by: str
    queue: str
    priority: int
    required_skills: dict[str, int]
    phase: Phase
    substatus: str = "open"
    agent_id: str | None = None
    offered_agent_id: str | None = None
    offer_expires_at: datetime | None = None
    offer_accepted: bool = False
    """The offered agent accepted; only `assigned` (or the customer leaving) follows."""
    started_at: datetime
    first_queued_at: datetime | None = None
    queued_at: datetime | None = None
    """When it last started waiting; kept across declined offers (head of queue)."""
    first_offered_at: datetime | None = None
    first_assigned_at: datetime | None = None
    assigned_at: datetime | None = None
    first_customer_message_at: datetime | None = None
    first_human_reply_at: datetime | None = None
    first_agent_reply_after_assign_at: datetime | None = None
    unanswered_since: datetime | None = None
    last_event_at: datetime
    resolved_at: datetime | None = None
    abandoned_at: datetime | None = None
    resolved_by: str | None = None
    resolution_code: str | None = None
    handoff_reason: str | None = None
    sentiment: str | None = None
    tier: int = 1
    messages_in: int = 0
    messages_out_agent: int = 0
    messages_out_bot: int = 0
    offers: int = 0
    transfers: int = 0
    escalations: int = 0
    reopens: int = 0
    agents_seen: tuple[str, ...] = ()
    survey_sent_at: datetime | None = None
    csat: int | None = None
    nps: int | None = None
    ces: int | None = None
    events: int = 0
    position: Position | None = None
    """Where the last event applied was read (None when folded without positions)."""
    recent_ids: tuple[str, ...] = ()
    """Ids of the last `RECENT_IDS` events applied: with `position`, what makes a
    redelivered or resent event change nothing (`projections.dedupe`)."""

    FORMER_NAMES: ClassVar[dict[str, str]] = {"seen_ids": "recent_ids"}
    """Fields stored under another name by earlier versions (read by `state_codec.load`):
    `seen_ids` held every id; the next event applied keeps only the latest."""

    @property
    def holder(self) -> str | None:
        """The agent whose capacity this conversation occupies, if any."""
        return self.agent_id if self.phase == "assigned" else None

    @property
    def waiting_in(self) -> str | None:
        """The queue this conversation waits in, if it waits."""
        return self.queue if self.phase in WAITING_PHASES else None

    @property
    def waiting_since(self) -> datetime | None:
        """Since when it waits in that queue (None when it does not wait): the one
        definition the queues, the `queue_waiting` rows and the router's waits all read.

        `queued_at`: set on every entry into a queue, kept while an offer comes and goes.
        The reducer sets it whenever the conversation waits; a state that says it waits
        without it (written by hand) waits since it started, the one earlier time that no
        later event moves, so no event can shorten a wait or reorder a queue."""
        if self.phase not in WAITING_PHASES:
            return None
        return self.queued_at or self.started_at
