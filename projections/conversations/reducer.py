"""Fold conversation events into `ConversationState`: `apply(state, event, position) -> state`.

Pure: no clock, no I/O. An event already applied (read again at or below the position
of the last one applied, or an id among the latest; `projections.dedupe`) returns the
state unchanged; an event impossible in the current state raises `LifecycleError`.
Each step returns only the fields it changes; `apply` builds the new state once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from projections.conversations.state import RECENT_IDS, TERMINAL_PHASES, ConversationState
from projections.dedupe import Position, already_applied, applied
from projections.errors import LifecycleError
from projections.evolve import evolve
from schemas.envelope import Envelope
from schemas.events import EventData
from schemas.events.conversation import (
    Abandoned,
    Assigned,
    BotHandoffRequested,
    ConversationStarted,
    ConversationStatusChanged,
    Escalated,
    MessageReceived,
    MessageSent,
    OfferAccepted,
    OfferDeclined,
    Offered,
    OfferExpired,
    Queued,
    Reopened,
    Resolved,
    SurveyAnswered,
    SurveySent,
    Transferred,
)


def apply(state: ConversationState | None, event: Envelope[EventData],
          position: Position | None = None) -> ConversationState:
    """The conversation after `event`, read from the log at `position` (None: unknown)."""
    if state is None:
        if not isinstance(event.data, ConversationStarted):
            raise LifecycleError("unknown_conversation",
                                 f"{event.type} for conversation {event.subject} that never started")
        return _started(event.subject, event.data, event.time, event.id, position)
    if already_applied(state, event.id, position):
        return state
    if isinstance(event.data, ConversationStarted):
        raise LifecycleError("already_started", f"conversation {event.subject} started twice")
    if state.phase in TERMINAL_PHASES and not isinstance(
            event.data, (Reopened, SurveySent, SurveyAnswered)):
        raise LifecycleError(f"already_{state.phase}",
                             f"{event.type} for {state.phase} conversation {event.subject}")
    changes = _step(state, event.data, event.time)  # a fresh dict, completed here
    changes["last_event_at"] = max(state.last_event_at, event.time)
    changes["events"] = state.events + 1
    changes.update(applied(state, event.id, position, RECENT_IDS))
    return evolve(state, **changes)


def _started(cid: str, d: ConversationStarted, t: datetime, event_id: str,
             position: Position | None) -> ConversationState:
    return ConversationState(
        conversation_id=cid, channel=d.channel, mode=d.mode, customer_id=d.customer_id,
        language=d.language, started_by=d.started_by, queue=d.queue, priority=d.priority,
        required_skills=dict(d.required_skills), phase="bot" if d.started_by == "bot" else "new",
        started_at=t, last_event_at=t, events=1, **applied(None, event_id, position, RECENT_IDS),
    )


Changes = dict[str, Any]


def _step(s: ConversationState, data: EventData, t: datetime) -> Changes:  # noqa: C901
    match data:
        case MessageReceived():
            return dict(messages_in=s.messages_in + 1,
                           first_customer_message_at=s.first_customer_message_at or t,
                           unanswered_since=s.unanswered_since or t,
                           substatus="open" if s.substatus == "pending_customer" else s.substatus)
        case MessageSent(author_type="bot"):
            return dict(messages_out_bot=s.messages_out_bot + 1)
        case MessageSent():
            return _agent_replied(s, t)
        case BotHandoffRequested(reason=reason, sentiment=sentiment):
            if s.phase != "bot":
                raise LifecycleError("not_with_bot", f"handoff while {s.phase}")
            return dict(phase="new", handoff_reason=reason, sentiment=sentiment)
        case Queued(queue=queue, priority=priority, required_skills=skills):
            if s.phase in ("offered", "assigned"):
                raise LifecycleError("not_waiting", f"queued while {s.phase}")
            return _enqueue(s, queue, t, priority=priority, skills=dict(skills))
        case Offered(agent_id=agent, expires_at=expires):
            if s.phase != "queued":
                raise LifecycleError("not_queued", f"offered to {agent} while {s.phase}")
            return dict(phase="offered", offered_agent_id=agent, offer_expires_at=expires,
                           offers=s.offers + 1, first_offered_at=s.first_offered_at or t)
        case OfferAccepted(agent_id=agent):
            if s.phase != "offered" or s.offered_agent_id != agent or s.offer_accepted:
                raise LifecycleError("no_such_offer", f"no open offer to {agent}")
            return dict(offer_accepted=True)
        case OfferDeclined(agent_id=agent) | OfferExpired(agent_id=agent):
            if s.phase != "offered" or s.offered_agent_id != agent or s.offer_accepted:
                raise LifecycleError("no_such_offer", f"no open offer to {agent}")
            return dict(phase="queued", offered_agent_id=None, offer_expires_at=None)
        case Assigned(agent_id=agent):
            return _assign(s, agent, t)
        case Transferred():
            return _transfer(s, data, t)
        case Escalated(tier=tier, to_queue=to_queue):
            escalated = dict(tier=max(s.tier, tier), escalations=s.escalations + 1)
            return {**escalated, **_enqueue(s, to_queue, t)} if to_queue else escalated
        case ConversationStatusChanged(status=status):
            return dict(substatus=status)
        case Resolved(resolved_by=by, resolution_code=code):
            return dict(phase="resolved", resolved_at=t, resolved_by=by, resolution_code=code,
                           offered_agent_id=None, offer_expires_at=None, offer_accepted=False,
                           substatus="open")
        case Reopened():
            if s.phase != "resolved":
                raise LifecycleError("not_resolved", f"reopen while {s.phase}")
            reopened = dict(reopens=s.reopens + 1, resolved_at=None, resolved_by=None,
                            resolution_code=None)
            return {**reopened, **_enqueue(s, s.queue, t)}
        case Abandoned():
            if s.phase == "assigned":
                raise LifecycleError("already_assigned", "abandoned after an agent joined")
            return dict(phase="abandoned", abandoned_at=t, offered_agent_id=None,
                           offer_expires_at=None, offer_accepted=False)
        case SurveySent():
            return dict(survey_sent_at=s.survey_sent_at or t)
        case SurveyAnswered(csat=csat, nps=nps, ces=ces):
            return dict(csat=csat if csat is not None else s.csat,
                           nps=nps if nps is not None else s.nps,
                           ces=ces if ces is not None else s.ces)
    raise LifecycleError("wrong_topic", f"{type(data).__name__} is not a conversation event")


def _agent_replied(s: ConversationState, t: datetime) -> Changes:
    after_assign = s.first_agent_reply_after_assign_at
    if after_assign is None and s.phase == "assigned":
        after_assign = t
    return dict(messages_out_agent=s.messages_out_agent + 1,
                   first_human_reply_at=s.first_human_reply_at or t,
                   first_agent_reply_after_assign_at=after_assign, unanswered_since=None)


def _enqueue(s: ConversationState, queue: str, t: datetime, *, priority: int | None = None,
             skills: dict[str, int] | None = None) -> Changes:
    already_waiting = s.phase == "queued" and s.queue == queue
    return dict(
        phase="queued", queue=queue, agent_id=None, offered_agent_id=None, offer_expires_at=None,
        offer_accepted=False,
        priority=s.priority if priority is None else priority,
        required_skills=s.required_skills if skills is None else skills,
        queued_at=s.queued_at if already_waiting else t,
        first_queued_at=s.first_queued_at or t,
    )


def _assign(s: ConversationState, agent: str, t: datetime) -> Changes:
    if s.phase == "assigned":
        raise LifecycleError("already_assigned", f"assigned to {agent} while held by {s.agent_id}")
    if s.phase == "offered" and s.offered_agent_id != agent:
        raise LifecycleError("offered_elsewhere", f"assigned to {agent}, offered to {s.offered_agent_id}")
    if s.phase not in ("queued", "offered"):
        raise LifecycleError("not_queued", f"assigned while {s.phase}")
    seen = s.agents_seen if agent in s.agents_seen else (*s.agents_seen, agent)
    return dict(phase="assigned", agent_id=agent, offered_agent_id=None, offer_expires_at=None,
                   offer_accepted=False,
                   assigned_at=t, first_assigned_at=s.first_assigned_at or t, agents_seen=seen)


def _transfer(s: ConversationState, d: Transferred, t: datetime) -> Changes:
    moved = dict(transfers=s.transfers + 1)
    if d.to_agent_id:
        if s.phase != "assigned":
            raise LifecycleError("not_assigned", f"agent transfer while {s.phase}")
        seen = s.agents_seen if d.to_agent_id in s.agents_seen else (*s.agents_seen, d.to_agent_id)
        return {**moved, "agent_id": d.to_agent_id, "assigned_at": t, "agents_seen": seen,
                "queue": d.to_queue or s.queue}
    if d.to_queue:
        return {**moved, **_enqueue(s, d.to_queue, t)}
    raise LifecycleError("no_target", "transfer names neither an agent nor a queue")
