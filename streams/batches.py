"""Pure batch folds of the worker: a batch of records in, one state per key out.

Faust's per-record costs (a table write, a changelog record, a re-keyed record)
dominated the worker, so a batch loads each key's state from the table once,
folds its records in order with `streams.steps`, and stores it once. What a batch
changed for queues and agents leaves as one record per queue and per agent: a
JSON array of the changes, in log order.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Generic, NamedTuple, TypeVar

from projections.agents import reducer as agents
from projections.agents.state import AgentState
from projections.changes import ConversationChange
from projections.conversations.state import ConversationState
from projections.dedupe import Position
from projections.queues import reducer as queues
from projections.queues.reducer import QueueState
from projections.state_codec import dump, dump_remembered, load_remembered, remember_record
from streams.steps import (
    ChangeFold,
    DeadLetter,
    agent_event_step,
    change_step,
    conversation_step,
    parse_changes,
)

S = TypeVar("S")


class Record(NamedTuple):
    """A record as read: key and value bytes (either may be missing on a bad record), and
    where it was read (None when unknown: the reducers then dedupe by event id alone)."""

    key: bytes | None
    value: bytes | None
    position: Position | None = None


Lookup = Callable[[bytes], "bytes | None"]
"""The table's stored state of a key."""


@dataclass(frozen=True, slots=True)
class Keyed:
    """One record to publish: key and value bytes."""

    key: str
    value: bytes


@dataclass(slots=True)
class BatchOutcome:
    """What to store, publish and dead-letter after one batch."""

    states: dict[bytes, tuple[bytes, int]] = field(default_factory=dict)
    """Final state of every key the batch changed, in first-change order, with the
    index of its last record (whose partition is the key's)."""
    dead: list[tuple[int, DeadLetter]] = field(default_factory=list)
    """Index in the batch of each record that could not be applied, and why."""
    applied: int = 0
    by_queue: dict[str, list[bytes]] = field(default_factory=dict)
    by_agent: dict[str, list[bytes]] = field(default_factory=dict)
    change_of: dict[bytes, ConversationChange] = field(default_factory=dict)
    """The change each body was written from, when parsing the body rebuilds it exactly."""

    def add_change(self, change: ConversationChange) -> None:
        """Re-key the change to each queue and agent it touches (`projections.fanout`)."""
        body = dump(change)
        if _parses_back_as_itself(change):
            self.change_of[body] = change
        for q in change.queues():
            self.by_queue.setdefault(q, []).append(body)
        for a in change.agents():
            self.by_agent.setdefault(a, []).append(body)

    def rekeyed(self) -> tuple[list[Keyed], list[Keyed]]:
        """One record per queue and per agent, each a JSON array of its changes; this
        process remembers what each record parses back as (`parse_changes`)."""
        return ([self._record(k, v) for k, v in self.by_queue.items()],
                [self._record(k, v) for k, v in self.by_agent.items()])

    def _record(self, key: str, bodies: list[bytes]) -> Keyed:
        value = b"[" + b",".join(bodies) + b"]"
        changes = [self.change_of.get(body) for body in bodies]
        if None not in changes:
            remember_record(value, tuple(changes))
        return Keyed(key, value)


def _parses_back_as_itself(change: ConversationChange) -> bool:
    """Whether parsing the change's JSON rebuilds it field for field: an integer priority
    (an event may carry 2.0, which the state loader reads as 2) and times whose UTC
    offset is whole minutes (JSON keeps no seconds of an offset)."""
    t, since = change.time, change.waiting_since
    return type(change.priority) is int and (t.tzinfo is UTC or _whole_minutes(t)) and (
        since is None or since.tzinfo is UTC or _whole_minutes(since))


def _whole_minutes(t: datetime) -> bool:
    offset = t.utcoffset()
    return offset is not None and offset % timedelta(minutes=1) == timedelta(0)


class _Running(Generic[S]):
    """The states of one batch's keys: loaded from the table once, dumped once."""

    def __init__(self, cls: type[S], lookup: Lookup) -> None:
        self._cls, self._lookup = cls, lookup
        self._states: dict[bytes, S | None] = {}
        self._changed: dict[bytes, int] = {}

    def get(self, key: bytes) -> S | None:
        if key not in self._states:
            raw = self._lookup(key)
            self._states[key] = load_remembered(self._cls, raw, key) if raw is not None else None
        return self._states[key]

    def put(self, key: bytes, state: S, index: int) -> None:
        self._states[key] = state
        self._changed[key] = index

    def dumped(self) -> dict[bytes, tuple[bytes, int]]:
        return {k: (dump_remembered(self._states[k], k), i) for k, i in self._changed.items()}


Step = Callable[[bytes, str, "S | None", "Position | None"],
               "tuple[S, ConversationChange | None] | DeadLetter"]
"""One record, read at a position, folded into its key's state: the new state and the
change it made."""


def _apply_one(running: _Running[S], index: int, record: Record,
               step: Step[S]) -> ConversationChange | None | DeadLetter:
    key, value, position = record
    if key is None:
        return DeadLetter("missing_key", "records must be keyed by subject")
    if value is None:
        return DeadLetter("empty_value", "a tombstone on an event topic")
    try:
        before = running.get(key)
    except (ValueError, TypeError, KeyError) as exc:  # stored bytes this version cannot read
        return DeadLetter("invalid_state", repr(exc))
    result = step(value, key.decode("utf-8", "replace"), before, position)
    if isinstance(result, DeadLetter):
        return result
    after, change = result
    if after is not before:  # a redelivered event changes nothing to store
        running.put(key, after, index)
    return change


def _fold(records: Sequence[Record], cls: type[S], lookup: Lookup, step: Step[S]) -> BatchOutcome:
    out, running = BatchOutcome(), _Running(cls, lookup)
    for i, record in enumerate(records):
        result = _apply_one(running, i, record, step)
        if isinstance(result, DeadLetter):
            out.dead.append((i, result))
            continue
        out.applied += 1
        if result is not None:
            out.add_change(result)
    out.states = running.dumped()
    return out


def conversation_batch(records: Sequence[Record], lookup: Lookup) -> BatchOutcome:
    """Fold a batch of `cc.conversations` records into their conversations."""
    return _fold(records, ConversationState, lookup, conversation_step)


def _agent_event(raw: bytes, key: str, before: AgentState | None, position: Position | None,
                 ) -> tuple[AgentState, None] | DeadLetter:
    after = agent_event_step(raw, key, before, position)
    return after if isinstance(after, DeadLetter) else (after, None)


def agent_event_batch(records: Sequence[Record], lookup: Lookup) -> BatchOutcome:
    """Fold a batch of `cc.agents` records into their agents."""
    return _fold(records, AgentState, lookup, _agent_event)


def _change_record(fold: ChangeFold[S]) -> Step[S]:
    def step(raw: bytes, key: str, before: S | None, _: Position | None,
             ) -> tuple[S, None] | DeadLetter:
        # Re-keyed changes need no position: folding one twice is harmless.
        changes = parse_changes(raw)
        if isinstance(changes, DeadLetter):
            return changes
        after = change_step(fold, changes, key, before)
        return after if isinstance(after, DeadLetter) else (after, None)
    return step


_queue_change = _change_record(queues.apply_change)
_agent_change = _change_record(agents.apply_change)


def queue_batch(records: Sequence[Record], lookup: Lookup) -> BatchOutcome:
    """Fold a batch of re-keyed change records into their queues."""
    return _fold(records, QueueState, lookup, _queue_change)


def agent_change_batch(records: Sequence[Record], lookup: Lookup) -> BatchOutcome:
    """Fold a batch of re-keyed change records into their agents' load and offers."""
    return _fold(records, AgentState, lookup, _agent_change)
