"""Fold conversation changes into one queue's waiting list.

Order is the routing order: priority first (higher first), then time waited.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, replace
from datetime import datetime

from projections.changes import ConversationChange


@dataclass(frozen=True, slots=True)
class Waiting:
    conversation_id: str
    priority: int
    channel: str
    since: datetime
    offered_to: str | None = None


@dataclass(frozen=True, slots=True)
class QueueState:
    queue: str
    waiting: tuple[Waiting, ...] = ()
    """In routing order: highest priority first, then longest waiting."""


def _order(w: Waiting) -> tuple[int, datetime, str]:
    return (-w.priority, w.since, w.conversation_id)


def apply_change(state: QueueState | None, queue: str, change: ConversationChange) -> QueueState:
    """The queue after a conversation entered, left or moved within it. A change into the
    queue without `waiting_since` is malformed (`changes.change_between` always sets it
    there): ValueError, which the worker parks as an invalid change."""
    state = state or QueueState(queue=queue)
    rest = tuple(w for w in state.waiting if w.conversation_id != change.conversation_id)
    after = change.after
    if after.queue == queue:
        if change.waiting_since is None:
            raise ValueError(f"{change.conversation_id} waits in {queue} since no time")
        entry = Waiting(change.conversation_id, change.priority, change.channel,
                        change.waiting_since, after.offered_to)
        # `waiting` is in routing order (this is its only writer): the entry goes where
        # sorting the whole list again would put it, found in log(n) comparisons.
        at = bisect_right(rest, _order(entry), key=_order)
        rest = (*rest[:at], entry, *rest[at:])
    return replace(state, waiting=rest)


@dataclass(frozen=True, slots=True)
class QueueSummary:
    """What a dashboard shows about a queue at an instant."""

    queue: str
    waiting: int
    offered: int
    oldest_wait_s: float
    by_priority: dict[int, int]
    by_channel: dict[str, int]


def summarize(state: QueueState, now: datetime) -> QueueSummary:
    """Counts and the oldest wait of a queue at `now`."""
    by_priority: dict[int, int] = {}
    by_channel: dict[str, int] = {}
    for w in state.waiting:
        by_priority[w.priority] = by_priority.get(w.priority, 0) + 1
        by_channel[w.channel] = by_channel.get(w.channel, 0) + 1
    oldest = min((w.since for w in state.waiting), default=None)
    return QueueSummary(
        queue=state.queue, waiting=len(state.waiting),
        offered=sum(1 for w in state.waiting if w.offered_to),
        oldest_wait_s=max(0.0, (now - oldest).total_seconds()) if oldest else 0.0,
        by_priority=by_priority, by_channel=by_channel,
    )
