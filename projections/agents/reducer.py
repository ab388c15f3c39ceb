"""Fold agent events and conversation changes into `AgentState`.

Agent events come from `cc.agents`; load comes from conversation changes re-keyed
by agent, so the two inputs commute: a change for an agent not yet seen creates it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from projections.agents.state import RECENT_IDS, RELEASED_KEPT, AgentState, Moved
from projections.changes import ConversationChange
from projections.dedupe import Position, already_applied, applied
from projections.errors import LifecycleError
from projections.evolve import evolve
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
    return evolve(s, **_step(s, event), **applied(s, event.id, position, RECENT_IDS))


def _step(s: AgentState, event: Envelope[EventData]) -> dict[str, Any]:
    """The fields one of the agent's own events changes."""
    t = event.time
    match event.data:
        case LoggedIn(name=name, skills=skills, capacity=capacity, languages=languages):
            return dict(logged_in=True, name=name, skills=dict(skills), capacity=dict(capacity),
                        languages=tuple(languages), logged_in_at=t,
                        status="away" if not s.logged_in else s.status,
                        status_since=t if not s.logged_in else s.status_since)
        case LoggedOut():
            if not s.logged_in:
                raise LifecycleError("not_logged_in", f"agent {s.agent_id} logged out twice")
            return dict(logged_in=False, status="offline", status_since=t, aux_code="")
        case AgentStatusChanged(status=status, aux_code=aux):
            if not s.logged_in:
                raise LifecycleError("not_logged_in", f"status {status} for logged-out {s.agent_id}")
            return dict(status=status, aux_code=aux,
                        status_since=t if status != s.status else s.status_since)
        case CapacityChanged(capacity=capacity):
            return dict(capacity=dict(capacity))
        case SkillsChanged(skills=skills):
            return dict(skills=dict(skills))
    raise LifecycleError("wrong_topic", f"{event.type} is not an agent event")


def apply_change(state: AgentState | None, agent_id: str, change: ConversationChange) -> AgentState:
    """The agent after a conversation was offered to, assigned to or released from it.

    A change no newer than the latest applied for its conversation (`AgentState.versions`)
    changes nothing: after a rebalance the re-keyed change topic is read again from its
    committed offset, and an older change met by a newer state would release (or offer)
    what the agent has since been given, stamping `last_released_at` on the way. Only a
    change that moved the conversation for this agent (held or not, offered or not) is
    recorded there: a change re-sent for a redelivered event, or one that moved it only
    for others, leaves the versions as the offline fold, which never saw it, has them.

    A released conversation's version is kept `RELEASED_KEPT` of event time behind the
    agent's latest move, then dropped: the replay starts minutes behind at most, and a
    horizon in event time (not a count) drops the same entries whatever the order
    changes from different conversations arrive in (the projector's batches, several
    partitions); sorted, the versions do not depend on it either."""
    s = state or AgentState(agent_id=agent_id)
    cid = change.conversation_id
    seen = s.version_of(cid)
    if change.version and seen is not None and change.version <= seen:
        return s
    after = change.after
    # Judged by what this agent already holds, not by `before`: a change may be
    # re-sent with no `before` after a redelivery, and must not count twice.
    held = any(cid in convs for convs in s.holding.values())
    holds = after.holder == agent_id
    offered_now = after.offered_to == agent_id
    holding, offered = s.holding, s.offered
    moved = held != holds or (cid in offered) != offered_now
    # Sorted and max(): changes for one agent arrive from many partitions in any
    # interleaving, and the state must not depend on which came first. What the change
    # does not touch is kept as it is (already in that order), not copied.
    if held or holds or not _in_order(holding):
        holding = {ch: rest for ch, convs in holding.items()
                   if (rest := tuple(c for c in convs if c != cid))}
        if holds:
            holding[change.channel] = tuple(sorted((*holding.get(change.channel, ()), cid)))
        holding = dict(sorted(holding.items()))
    if offered_now or cid in offered:
        offered = tuple(c for c in offered if c != cid)
        if offered_now:
            offered = tuple(sorted((*offered, cid)))
    return evolve(
        s, holding=holding, offered=offered,
        **(_moved(s, change, holding, offered) if moved else {}),
        last_assigned_at=_latest(s.last_assigned_at, change.time) if holds and not held
        else s.last_assigned_at,
        last_released_at=_latest(s.last_released_at, change.time) if held and not holds
        else s.last_released_at,
    )


def _moved(s: AgentState, change: ConversationChange, holding: dict[str, tuple[str, ...]],
           offered: tuple[str, ...]) -> dict[str, Any]:
    """The fields that record a change which moved its conversation for this agent: its
    version (none when unknown, which forgets an older one: the change was applied on
    its content alone), and the released versions past the horizon dropped."""
    cid = change.conversation_id
    latest = _latest(s.last_moved_at, change.time)
    current = {c for convs in holding.values() for c in convs}.union(offered)
    horizon = latest - RELEASED_KEPT
    kept = [m for m in s.versions if m.conversation_id != cid
            and (m.conversation_id in current or m.at >= horizon)]
    # Recorded only inside the horizon, as a later change would drop it anyway: which
    # entries exist must not depend on whether that later change came first.
    if change.version and (cid in current or change.time >= horizon):
        kept.append(Moved(cid, change.version, change.time))
    return {"versions": tuple(sorted(kept, key=_by_conversation)), "last_moved_at": latest}


def _by_conversation(m: Moved) -> str:
    return m.conversation_id


def _in_order(holding: dict[str, tuple[str, ...]]) -> bool:
    """Whether `holding` is as `apply_change` leaves it: channels sorted, none empty."""
    channels = list(holding)
    return all(holding.values()) and channels == sorted(channels)


def _latest(a: datetime | None, b: datetime) -> datetime:
    return b if a is None or b > a else a
