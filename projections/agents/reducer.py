"""Fold agent events and conversation changes into `AgentState`.

Agent events come from `cc.agents`; load comes from conversation changes re-keyed
by agent, so the two inputs commute: a change for an agent not yet seen creates it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from projections.agents.state import RECENT_IDS, AgentState
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

    A released conversation's version is not kept: an older change of it read again
    may hold or offer it for a moment, but the replay goes on to the change that
    released it, and `last_assigned_at`/`last_released_at` only move forward, so the
    agent ends as folding each change once leaves it. Keeping only what is held or
    offered, sorted, also keeps the state independent of how changes from different
    conversations interleave (the projector's batches, several partitions)."""
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
        versions=_versions(s.versions, cid, change.version, holding, offered) if moved
        else s.versions,
        last_assigned_at=_latest(s.last_assigned_at, change.time) if holds and not held
        else s.last_assigned_at,
        last_released_at=_latest(s.last_released_at, change.time) if held and not holds
        else s.last_released_at,
    )


def _versions(versions: tuple[tuple[str, int], ...], cid: str, version: int,
              holding: dict[str, tuple[str, ...]], offered: tuple[str, ...],
              ) -> tuple[tuple[str, int], ...]:
    """`versions` with `cid` at `version`, kept for the conversations held or offered
    only, sorted by conversation. An unknown version (0) records nothing, and forgets an
    older one: the change was applied on its content alone."""
    current = {c for convs in holding.values() for c in convs}.union(offered)
    kept = [(c, v) for c, v in versions if c != cid and c in current]
    if version and cid in current:
        kept.append((cid, version))
    return tuple(sorted(kept))


def _in_order(holding: dict[str, tuple[str, ...]]) -> bool:
    """Whether `holding` is as `apply_change` leaves it: channels sorted, none empty."""
    channels = list(holding)
    return all(holding.values()) and channels == sorted(channels)


def _latest(a: datetime | None, b: datetime) -> datetime:
    return b if a is None or b > a else a
