"""What a conversation event changed for queues and agents, and which ones it touches.

The stream processor folds conversation events keyed by conversation; queue and
agent projections are keyed otherwise. A `ConversationChange` carries the before
and after placement so the queue and agent reducers can be fed by re-keyed streams;
`queues()` and `agents()` are the one answer to where it goes (`projections.fanout`
delivers it there).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from projections.conversations.state import ConversationState


@dataclass(frozen=True, slots=True)
class Placement:
    """Where a conversation is: waiting in a queue, offered to an agent, or held by one."""

    phase: str
    queue: str | None
    """The queue it waits in (None unless queued or offered)."""
    holder: str | None
    """The agent whose capacity it occupies (None unless assigned)."""
    offered_to: str | None


@dataclass(frozen=True, slots=True)
class ConversationChange:
    """One conversation's placement before and after one event."""

    conversation_id: str
    event_id: str
    time: datetime
    channel: str
    priority: int
    waiting_since: datetime | None
    """`ConversationState.waiting_since` after the event: set while it waits, else None."""
    before: Placement | None
    after: Placement
    version: int = 0
    """The conversation's `events` count after the event: it only grows, so a fold that
    meets this conversation's changes again (a replay of a re-keyed topic from its
    committed offset) can tell an older change from the latest. 0: unknown (a record
    written before versions), judged by content alone."""

    def queues(self) -> tuple[str, ...]:
        """Queues whose waiting list this change touches, sorted."""
        return queues_of(self.before, self.after)

    def agents(self) -> tuple[str, ...]:
        """Agents whose load or offers this change touches, sorted."""
        return agents_of(self.before, self.after)


def queues_of(*placements: Placement | None) -> tuple[str, ...]:
    """The queues the placements wait in, sorted: those a change between them touches."""
    return tuple(sorted({q for p in placements if p and (q := p.queue)}))


def agents_of(*placements: Placement | None) -> tuple[str, ...]:
    """The agents holding or offered the placements, sorted: those a change between them
    touches (their load or their offers)."""
    return tuple(sorted({a for p in placements if p for a in (p.holder, p.offered_to) if a}))


def placement(state: ConversationState) -> Placement:
    """The placement of a conversation state."""
    return Placement(*_where(state))


def change_between(before: ConversationState | None, after: ConversationState,
                   event_id: str, time: datetime) -> ConversationChange | None:
    """The change, or None when the event moved nothing queues or agents care about.

    With no `before`, the change states where the conversation is now: what a new one
    sends, and what the worker sends again for a redelivered event."""
    # Compared as tuples first: most events move nothing, and then no Placement is built.
    new = _where(after)
    old = _where(before) if before is not None else None
    if before is not None and old == new and (before.priority, before.waiting_since) == (
            after.priority, after.waiting_since):
        return None
    return ConversationChange(
        conversation_id=after.conversation_id, event_id=event_id, time=time,
        channel=after.channel, priority=after.priority, waiting_since=after.waiting_since,
        before=Placement(*old) if old is not None else None, after=Placement(*new),
        version=after.events,
    )


def _where(state: ConversationState) -> tuple[str, str | None, str | None, str | None]:
    """The fields of `placement(state)`, in its order."""
    return (state.phase, state.waiting_in, state.holder, state.offered_agent_id)
