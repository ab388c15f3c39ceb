"""Projection states as the rows of the read-model tables (pure).

The column lists here are the single description of each table's layout that
the store writes with; they follow `migrations/`. A row is written as one JSON
object, each column its field of the same name, read out by PostgreSQL: a
conversation's or an agent's state (whole, in the `state` column too), a
`WaitingRow`. A unit test holds every column to a field.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from projections.agents.state import AgentState
from projections.conversations.state import ConversationState
from projections.kpi.agent_time import AgentPoint
from projections.kpi.facts import Fact
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
FACT_COLUMNS: tuple[str, ...] = (
    "fact_id", "kind", "at", "conversation_id", "customer_id", "queue", "channel", "agent_id",
    "doc",
)
POINT_COLUMNS: tuple[str, ...] = ("point_id", "agent_id", "at", "doc")
"""KPI facts and agent points (`projections.kpi`): `doc` is the whole object."""
WAITING_COLUMNS: tuple[str, ...] = (
    "conversation_id", "queue", "priority", "channel", "since", "offered_to", "language",
    "required_skills",
)


def state_json(state: ConversationState | AgentState | Fact | AgentPoint) -> str:
    """A state, KPI fact or agent point as the JSON its row is written from: its whole
    column (`state`, `doc`), and every other column its field of the same name
    (`store.write_batch`)."""
    return dump(state).decode()


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

    def json(self) -> str:
        """The JSON the row is written from: each column its field of the same name."""
        return dump(self).decode()


def waiting_row(s: ConversationState) -> WaitingRow | None:
    """The queue_waiting row of a conversation, or None when it does not wait; `since` is
    its `waiting_since`, as in the queue reducer and the router."""
    queue, since = s.waiting_in, s.waiting_since
    if queue is None or since is None:
        return None
    return WaitingRow(s.conversation_id, queue, s.priority, s.channel, since,
                      s.offered_agent_id, s.language, dict(s.required_skills))
