"""Projection states as the column tuples of the read-model tables (pure).

The column lists here are the single description of each table's layout that
the store writes with; they follow `migrations/`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import orjson

from projections.agents.state import AgentState
from projections.conversations.state import ConversationState
from projections.state_codec import dump

CONVERSATION_COLUMNS: tuple[str, ...] = (
    "conversation_id", "channel", "mode", "customer_id", "queue", "priority", "phase",
    "substatus", "agent_id", "started_at", "first_queued_at", "queued_at", "first_assigned_at",
    "first_customer_message_at", "first_human_reply_at", "resolved_at", "abandoned_at",
    "resolved_by", "messages_in", "messages_out_agent", "messages_out_bot", "offers",
    "transfers", "escalations", "reopens", "csat", "nps", "ces", "last_event_at", "state",
)
AGENT_COLUMNS: tuple[str, ...] = (
    "agent_id", "logged_in", "status", "status_since", "skills", "capacity", "holding", "state",
)
WAITING_COLUMNS: tuple[str, ...] = (
    "conversation_id", "queue", "priority", "channel", "since", "offered_to", "language",
    "required_skills",
)
JSONB_COLUMNS = frozenset({"state", "skills", "capacity", "holding", "required_skills"})
"""Columns passed as JSON text and cast to jsonb by the store."""

Row = tuple[object, ...]


def _json(value: object) -> str:
    return orjson.dumps(value, option=orjson.OPT_UTC_Z | orjson.OPT_NON_STR_KEYS).decode()


def conversation_row(s: ConversationState) -> Row:
    """The `conversations` row of a state, in `CONVERSATION_COLUMNS` order."""
    return (
        s.conversation_id, s.channel, s.mode, s.customer_id, s.queue, s.priority, s.phase,
        s.substatus, s.agent_id, s.started_at, s.first_queued_at, s.queued_at,
        s.first_assigned_at, s.first_customer_message_at, s.first_human_reply_at,
        s.resolved_at, s.abandoned_at, s.resolved_by, s.messages_in, s.messages_out_agent,
        s.messages_out_bot, s.offers, s.transfers, s.escalations, s.reopens, s.csat, s.nps,
        s.ces, s.last_event_at, dump(s).decode(),
    )


def agent_row(s: AgentState) -> Row:
    """The `agents` row of a state, in `AGENT_COLUMNS` order."""
    return (s.agent_id, s.logged_in, s.status, s.status_since, _json(s.skills),
            _json(s.capacity), _json(s.holding), dump(s).decode())


@dataclass(frozen=True, slots=True)
class WaitingRow:
    """One `queue_waiting` row: a conversation waiting (or offered) in a queue."""

    conversation_id: str
    queue: str
    priority: int
    channel: str
    since: datetime
    offered_to: str | None
    language: str
    required_skills: dict[str, int]
    """What an agent needs to take it; the read API counts the agents who have it
    (`projections.queues.staffing`)."""

    def values(self) -> Row:
        """The row in `WAITING_COLUMNS` order."""
        return (self.conversation_id, self.queue, self.priority, self.channel, self.since,
                self.offered_to, self.language, _json(self.required_skills))


def waiting_row(s: ConversationState) -> WaitingRow | None:
    """The queue_waiting row of a conversation, or None when it does not wait; `since` is
    its `waiting_since`, as in the queue reducer and the router."""
    queue, since = s.waiting_in, s.waiting_since
    if queue is None or since is None:
        return None
    return WaitingRow(s.conversation_id, queue, s.priority, s.channel, since,
                      s.offered_agent_id, s.language, dict(s.required_skills))
