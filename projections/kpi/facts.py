"""What a conversation event contributes to the KPIs: facts, each filed at one instant.

A fact is definition-free: it records what happened and how long it took, never
whether that met a threshold, so one stored fact serves every version of the KPI
definitions (`projections.kpi.definitions`) and any interval. Facts are derived from
the conversation reducer's states before and after an event (the same fold every
projection runs), so a redelivered or resent event, which changes no state, adds no
fact; each fact's id is its conversation's, its event's and its kind, so a fact stored
twice is one.

Which clock files a fact: the event time of the event that completes it (an answer is
filed when the agent was assigned, a resolution when it was resolved), in the
interval of the queue it was in at that moment.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from projections.conversations.state import ConversationState
from schemas.envelope import Envelope
from schemas.events import EventData
from schemas.events.conversation import MessageSent, SurveyAnswered, SurveySent

Kind = Literal[
    "started", "queued", "answered", "assigned", "abandoned", "first_response_customer",
    "first_response_agent", "next_response", "handled", "resolved", "reopened",
    "transferred", "escalated", "handoff", "survey_sent", "survey_answered",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class Fact:
    fact_id: str
    """`<conversation id>/<event id>:<kind>`: the same fact however often it is derived
    (an event id reused by another conversation makes another fact)."""
    kind: Kind
    at: datetime
    conversation_id: str
    customer_id: str
    queue: str
    channel: str
    mode: str
    started_by: str
    agent_id: str | None = None
    seconds: float | None = None
    """The duration the fact measures, if it measures one."""
    scores: tuple[int | None, int | None, int | None] = (None, None, None)
    """CSAT, NPS and CES of a survey answer."""


def facts_of(before: ConversationState | None, after: ConversationState,
             event: Envelope[EventData]) -> list[Fact]:
    """The facts `event` completed, moving its conversation from `before` to `after`
    (`after is before`: a redelivery or a refused event, which completes nothing)."""
    if after is before:
        return []
    t, data = event.time, event.data
    found: list[tuple[Kind, str | None, float | None]] = []
    prior = before

    def became(field: str) -> bool:
        """Whether the event set `field` (a milestone set once)."""
        return getattr(after, field) is not None and (
            prior is None or getattr(prior, field) is None)

    if prior is None:
        found.append(("started", None, None))
    if became("first_queued_at"):
        found.append(("queued", None, None))
    if became("first_assigned_at"):
        found.append(("answered", after.agent_id, _since(after.first_queued_at, t)))
    if after.phase == "assigned" and after.agent_id is not None and (
            prior is None or prior.phase != "assigned" or prior.agent_id != after.agent_id):
        found.append(("assigned", after.agent_id, None))  # a hold begins (`handled` ends it)
    if became("abandoned_at"):
        found.append(("abandoned", None, _since(after.first_queued_at or after.started_at, t)))
    if became("first_human_reply_at"):
        found.append(("first_response_customer", after.agent_id,
                      _since(after.first_customer_message_at, t)))
    if became("first_agent_reply_after_assign_at"):
        found.append(("first_response_agent", after.agent_id, _since(after.first_assigned_at, t)))
    if (isinstance(data, MessageSent) and data.author_type != "bot" and prior is not None
            and prior.first_human_reply_at is not None and prior.unanswered_since is not None):
        found.append(("next_response", after.agent_id, _since(prior.unanswered_since, t)))
    if prior is not None and prior.phase == "assigned" and prior.assigned_at is not None and (
            after.phase != "assigned" or after.agent_id != prior.agent_id):
        found.append(("handled", prior.agent_id, _since(prior.assigned_at, t)))
    if became("resolved_at"):
        found.append(("resolved", after.agent_id or (prior.agent_id if prior else None),
                      _since(after.first_customer_message_at or after.started_at, t)))
    if prior is not None:
        for kind, field in _COUNTED:
            if getattr(after, field) > getattr(prior, field):
                found.append((kind, prior.agent_id, None))
        if prior.phase == "bot" and after.phase != "bot" and after.handoff_reason is not None:
            found.append(("handoff", None, None))
    if isinstance(data, SurveySent) and became("survey_sent_at"):
        found.append(("survey_sent", None, None))
    fact_scores: tuple[int | None, int | None, int | None] = (None, None, None)
    if isinstance(data, SurveyAnswered):
        fact_scores = (data.csat, data.nps, data.ces)
        found.append(("survey_answered", None, None))
    return [Fact(fact_id=f"{after.conversation_id}/{event.id}:{kind}", kind=kind, at=t,
                 conversation_id=after.conversation_id, customer_id=after.customer_id,
                 queue=(prior.queue if kind == "handled" and prior else after.queue),
                 channel=after.channel, mode=after.mode, started_by=after.started_by,
                 agent_id=agent, seconds=seconds,
                 scores=fact_scores if kind == "survey_answered" else (None, None, None))
            for kind, agent, seconds in found]


_COUNTED: tuple[tuple[Kind, str], ...] = (
    ("reopened", "reopens"), ("transferred", "transfers"), ("escalated", "escalations"))
"""Facts of a count on the conversation state going up, and that count."""


def _since(start: datetime | None, end: datetime) -> float | None:
    return None if start is None else max(0.0, (end - start).total_seconds())
