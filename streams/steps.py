"""Pure steps the Faust agents call: bytes in, new state and outputs (or a dead letter) out.

No Faust, no Kafka: every branch is unit-tested without I/O.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from projections.agents import reducer as agents
from projections.agents.state import AgentState
from projections.changes import ConversationChange, change_between, placement
from projections.conversations import reducer as conversations
from projections.conversations.state import ConversationState
from projections.errors import LifecycleError
from projections.queues import reducer as queues
from projections.queues.reducer import QueueState
from projections.state_codec import dump, dump_remembered, load, load_remembered
from schemas.codec import decode
from schemas.envelope import Envelope
from schemas.errors import DecodeError
from schemas.events import EventData


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """Why an input could not be applied; the shell parks it with the original bytes."""

    reason: str
    detail: str


@dataclass(frozen=True, slots=True)
class Keyed:
    """One record to publish: key and value bytes."""

    key: str
    value: bytes


@dataclass(frozen=True, slots=True)
class Applied:
    """The new state to store, and what to publish because of it."""

    state: bytes
    by_queue: tuple[Keyed, ...] = field(default=())
    by_agent: tuple[Keyed, ...] = field(default=())


def _dead(exc: DecodeError | LifecycleError) -> DeadLetter:
    if isinstance(exc, DecodeError):
        return DeadLetter(exc.code, str(exc))
    return DeadLetter(exc.reason, exc.detail)


def _misplaced(event: Envelope[EventData], key: str | None, family: str) -> DeadLetter | None:
    """Why a decoded event does not belong where it was read, if it does not."""
    if not event.type.startswith(f"cc.{family}."):
        return DeadLetter("wrong_topic", f"{event.type} on the {family}s topic")
    if key is not None and key != event.subject:
        return DeadLetter("key_mismatch", f"key {key!r} but subject {event.subject!r}")
    return None


def conversation_step(raw: bytes, key: str | None, current: bytes | None) -> Applied | DeadLetter:
    """Fold one `cc.conversations` record into its conversation."""
    try:
        event = decode(raw)
        if misplaced := _misplaced(event, key, "conversation"):
            return misplaced
        before = load_remembered(ConversationState, current) if current is not None else None
        after = conversations.apply(before, event)
    except (DecodeError, LifecycleError) as exc:
        return _dead(exc)
    except (ValueError, TypeError, KeyError) as exc:
        return DeadLetter("invalid_state", repr(exc))
    if after is before:
        # A redelivered event: the state is unchanged, but the change it caused may
        # not have reached the queue and agent streams before a crash, so send the
        # current placement again (applying it twice is harmless).
        change: ConversationChange | None = ConversationChange(
            after.conversation_id, event.id, event.time, after.channel, after.priority,
            after.queued_at, None, placement(after))
    else:
        change = change_between(before, after, event.id, event.time)
    return Applied(dump_remembered(after), *_fan_out(change))


def _fan_out(change: ConversationChange | None) -> tuple[tuple[Keyed, ...], tuple[Keyed, ...]]:
    if change is None:
        return (), ()
    body = dump(change)
    return (tuple(Keyed(q, body) for q in sorted(change.queues())),
            tuple(Keyed(a, body) for a in sorted(change.agents())))


S = TypeVar("S")


def _change_step(state_cls: type[S], fold: Callable[[S | None, str, ConversationChange], S],
                 raw_change: bytes, key: str, current: bytes | None) -> Applied | DeadLetter:
    try:
        change = load(ConversationChange, raw_change)
        before = load_remembered(state_cls, current) if current is not None else None
        return Applied(dump_remembered(fold(before, key, change)))
    except (ValueError, TypeError, KeyError) as exc:
        return DeadLetter("invalid_change", repr(exc))


def queue_step(raw_change: bytes, queue: str, current: bytes | None) -> Applied | DeadLetter:
    """Fold one re-keyed conversation change into a queue."""
    return _change_step(QueueState, queues.apply_change, raw_change, queue, current)


def agent_change_step(raw_change: bytes, agent_id: str, current: bytes | None) -> Applied | DeadLetter:
    """Fold one re-keyed conversation change into an agent's load and offers."""
    return _change_step(AgentState, agents.apply_change, raw_change, agent_id, current)


def agent_event_step(raw: bytes, key: str | None, current: bytes | None) -> Applied | DeadLetter:
    """Fold one `cc.agents` record into its agent."""
    try:
        event = decode(raw)
        if misplaced := _misplaced(event, key, "agent"):
            return misplaced
        before = load_remembered(AgentState, current) if current is not None else None
        return Applied(dump_remembered(agents.apply(before, event)))
    except (DecodeError, LifecycleError) as exc:
        return _dead(exc)
    except (ValueError, TypeError, KeyError) as exc:
        return DeadLetter("invalid_state", repr(exc))
