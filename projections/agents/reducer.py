"""Fold agent events and conversation changes into `AgentState`.

Agent events come from `cc.agents`; load comes from conversation changes re-keyed
by agent, so the two inputs commute: a change for an agent not yet seen creates it.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from projections.agents.state import RECENT_IDS, AgentState
from projections.changes import ConversationChange
from projections.dedupe import Position, already_applied, applied
from projections.errors import LifecycleError
from schemas.envelope import Envelope
from schemas.events import EventData
from schemas.events.agent import (
    AgentStatusChanged,
    CapacityChanged,
    LoggedIn,
    LoggedOut,
    SkillsChanged,
)


def apply(state: AgentState | None, event: Envelope[EventData],
          position: Position | None = None) -> AgentState:
    """The agent after one of its own events, read from `cc.agents` at `position` (None:
    unknown). An event already applied (`projections.dedupe`) changes nothing."""
    s = state or AgentState(agent_id=event.subject)
    if already_applied(s, event.id, position):
        return s
    t = event.time
    match event.data:
        case LoggedIn(name=name, skills=skills, capacity=capacity, languages=languages):
            s = replace(s, logged_in=True, name=name, skills=dict(skills), capacity=dict(capacity),
                        languages=tuple(languages), logged_in_at=t,
                        status="away" if not s.logged_in else s.status,
                        status_since=t if not s.logged_in else s.status_since)
        case LoggedOut():
            if not s.logged_in:
                raise LifecycleError("not_logged_in", f"agent {s.agent_id} logged out twice")
            s = replace(s, logged_in=False, status="offline", status_since=t, aux_code="")
        case AgentStatusChanged(status=status, aux_code=aux):
            if not s.logged_in:
                raise LifecycleError("not_logged_in", f"status {status} for logged-out {s.agent_id}")
            s = replace(s, status=status, aux_code=aux,
                        status_since=t if status != s.status else s.status_since)
        case CapacityChanged(capacity=capacity):
            s = replace(s, capacity=dict(capacity))
        case SkillsChanged(skills=skills):
            s = replace(s, skills=dict(skills))
        case _:
            raise LifecycleError("wrong_topic", f"{event.type} is not an agent event")
    return replace(s, **applied(s, event.id, position, RECENT_IDS))


def apply_change(state: AgentState | None, agent_id: str, change: ConversationChange) -> AgentState:
    """The agent after a conversation was offered to, assigned to or released from it."""
    s = state or AgentState(agent_id=agent_id)
    cid = change.conversation_id
    holding = {ch: tuple(c for c in convs if c != cid) for ch, convs in s.holding.items()}
    holding = {ch: convs for ch, convs in holding.items() if convs}
    offered = tuple(c for c in s.offered if c != cid)
    after = change.after
    # Judged by what this agent already holds, not by `before`: a change may be
    # re-sent with no `before` after a redelivery, and must not count twice.
    held = any(cid in convs for convs in s.holding.values())
    gained = after.holder == agent_id and not held
    released = held and after.holder != agent_id
    # Sorted and max(): changes for one agent arrive from many partitions in any
    # interleaving, and the state must not depend on which came first.
    if after.holder == agent_id:
        holding[change.channel] = tuple(sorted((*holding.get(change.channel, ()), cid)))
    if after.offered_to == agent_id:
        offered = tuple(sorted((*offered, cid)))
    return replace(
        s, holding=dict(sorted(holding.items())), offered=offered,
        last_assigned_at=_latest(s.last_assigned_at, change.time) if gained else s.last_assigned_at,
        last_released_at=_latest(s.last_released_at, change.time) if released else s.last_released_at,
    )


def _latest(a: datetime | None, b: datetime) -> datetime:
    return b if a is None or b > a else a
