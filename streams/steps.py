"""Pure per-record steps of the worker: one input record folded into one state.

No Faust, no Kafka, no bytes of state: `streams.batches` loads each key's state
once per batch, runs these steps record by record and dumps the result once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import orjson

from projections.agents import reducer as agents
from projections.agents.state import AgentState
from projections.changes import ConversationChange, change_between
from projections.conversations import reducer as conversations
from projections.conversations.state import ConversationState
from projections.dedupe import Position
from projections.errors import LifecycleError
from projections.state_codec import load, recall_record
from schemas.codec import decode
from schemas.envelope import Envelope
from schemas.errors import DecodeError
from schemas.events import EventData
from schemas.topics import Family, family_of

S = TypeVar("S")
ChangeFold = Callable[[S | None, str, ConversationChange], S]


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """Why an input could not be applied; the shell parks it with the original bytes."""

    reason: str
    detail: str


def _dead(exc: DecodeError | LifecycleError) -> DeadLetter:
    if isinstance(exc, DecodeError):
        return DeadLetter(exc.code, str(exc))
    return DeadLetter(exc.reason, exc.detail)


def _misplaced(event: Envelope[EventData], key: str, family: Family) -> DeadLetter | None:
    """Why a decoded event does not belong where it was read, if it does not."""
    if family_of(event.type) is not family:
        return DeadLetter("wrong_topic", f"{event.type} on the {family}s topic")
    if key != event.subject:
        return DeadLetter("key_mismatch", f"key {key!r} but subject {event.subject!r}")
    return None


def conversation_step(raw: bytes, key: str, before: ConversationState | None,
                      position: Position | None = None,
                      ) -> tuple[ConversationState, ConversationChange | None] | DeadLetter:
    """Fold one `cc.conversations` record, read at `position`: the new state and what it
    changed for queues and agents."""
    try:
        event = decode(raw)
        if misplaced := _misplaced(event, key, Family.CONVERSATION):
            return misplaced
        after = conversations.apply(before, event, position)
    except (DecodeError, LifecycleError) as exc:
        return _dead(exc)
    except (ValueError, TypeError, KeyError) as exc:
        return DeadLetter("invalid_state", repr(exc))
    if after is before:
        # A redelivered or resent event: the state is unchanged, but the change it caused
        # may not have reached the queue and agent streams before a crash, so send the
        # current placement again, with no `before` (applying it twice is harmless).
        return after, change_between(None, after, event.id, event.time)
    return after, change_between(before, after, event.id, event.time)


def agent_event_step(raw: bytes, key: str, before: AgentState | None,
                     position: Position | None = None) -> AgentState | DeadLetter:
    """Fold one `cc.agents` record, read at `position`, into its agent."""
    try:
        event = decode(raw)
        if misplaced := _misplaced(event, key, Family.AGENT):
            return misplaced
        return agents.apply(before, event, position)
    except (DecodeError, LifecycleError) as exc:
        return _dead(exc)
    except (ValueError, TypeError, KeyError) as exc:
        return DeadLetter("invalid_state", repr(exc))


def parse_changes(raw: bytes) -> list[ConversationChange] | DeadLetter:
    """The changes of one re-keyed record: a JSON array of them (one array per key
    and batch), or a lone change object as written by earlier versions. A record this
    process wrote (`BatchOutcome.rekeyed`) is not parsed again."""
    remembered = recall_record(raw)
    if remembered is not None:
        return list(remembered)
    try:
        obj = orjson.loads(raw)
        items = obj if isinstance(obj, list) else [obj]
        if not items:
            return DeadLetter("invalid_change", "a record with no changes")
        return [load(ConversationChange, item) for item in items]
    except (ValueError, TypeError, KeyError) as exc:
        return DeadLetter("invalid_change", repr(exc))


def change_step(fold: ChangeFold[S], changes: list[ConversationChange], key: str,
                before: S | None) -> S | DeadLetter:
    """Fold a record's (non-empty) changes into a queue or an agent, all or none."""
    state = before
    try:
        for change in changes:
            state = fold(state, key, change)
    except (ValueError, TypeError, KeyError) as exc:
        return DeadLetter("invalid_change", repr(exc))
    assert state is not None, "parse_changes never returns an empty list"
    return state
