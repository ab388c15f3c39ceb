"""Folding a batch ahead from remembered states (`plan`) writes what the ordinary batch
path writes, and says exactly which row stamps it assumed."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest

from projections.postgres.batch import BatchRows, decode_batch
from projections.postgres.known_states import Known, KnownStates
from projections.postgres.plan import Planned, plan
from projections.postgres.sample_log import sample_log
from schemas.codec import encode
from schemas.envelope import new_event
from schemas.events.agent import LoggedIn
from schemas.events.conversation import MessageReceived
from schemas.topics import AGENTS, CONVERSATIONS
from tests.unit.test_projector_batch import (
    T0,
    DictStore,
    SourceRecord,
    by_partition_batches,
    started,
    to_records,
)


def _written(rows: BatchRows) -> tuple[object, ...]:
    return (rows.conversations, rows.agents, rows.waiting, rows.not_waiting,
            [(r.topic, r.partition, r.offset, r.reason) for r in rows.rejects],
            rows.next_offsets, rows.events)


@pytest.mark.parametrize("batch_size", [7, 120, 1_000])
def test_a_planned_batch_writes_what_the_batch_path_writes(batch_size: int) -> None:
    records = to_records(sample_log(120, 10, seed=11, start=T0))
    store, known, stamps = DictStore(), Known(), itertools.count(1)
    planned_batches = 0
    for batch in by_partition_batches(records, batch_size):
        decoded = decode_batch(batch)
        planned = plan(decoded, known, next(stamps))
        rows = store.run(batch)
        if planned is None:  # the ordinary path loads what it lacks: now it is known
            stamp = next(stamps)
            known.conversations.remember((c, stamp, s) for c, s in store.conversations.items())
            known.agents.remember((a, stamp, s) for a, s in store.agents.items())
            continue
        planned_batches += 1
        assert _written(planned.rows) == _written(rows)
        known.wrote(planned.rows, planned.stamp)
    assert planned_batches > 0


def _known_after(records: list[SourceRecord]) -> tuple[Known, DictStore]:
    store, known = DictStore(), Known()
    rows = store.run(records)
    known.wrote(rows, 41)
    return known, store


def test_the_plan_names_every_stamp_it_assumed_and_the_first_offsets() -> None:
    known, _ = _known_after(to_records([started("c-1", T0)]))
    message = new_event(MessageReceived(message_id="m"), subject="c-1", source="test",
                        time=T0 + timedelta(seconds=1))
    batch = [SourceRecord(CONVERSATIONS, 0, 7, encode(message)),
             SourceRecord(CONVERSATIONS, 0, 8, encode(started("c-2", T0)))]
    planned = plan(decode_batch(batch), known, 42)
    assert isinstance(planned, Planned)
    assert planned.conversations == {"c-1": 41, "c-2": None}  # c-2 starts: no row assumed
    assert planned.first_offsets == {(CONVERSATIONS, 0): 7}
    assert planned.stamp == 42


def test_no_plan_when_a_conversation_that_does_not_start_here_is_not_remembered() -> None:
    message = new_event(MessageReceived(message_id="m"), subject="c-9", source="test", time=T0)
    assert plan(decode_batch([SourceRecord(CONVERSATIONS, 0, 0, encode(message))]),
                Known(), 1) is None


def test_no_plan_when_an_agent_is_not_remembered() -> None:
    login = new_event(LoggedIn(name="Bo"), subject="a-1", source="test", time=T0)
    assert plan(decode_batch([SourceRecord(AGENTS, 0, 0, encode(login))]), Known(), 1) is None


def test_a_remembered_state_is_used_only_while_its_row_holds_its_stamp() -> None:
    known: KnownStates[str] = KnownStates(2)
    known.remember([("a", 1, "A"), ("b", 2, "B")])
    assert known.get("a", 1) == "A"
    assert known.get("a", 2) is None and known.get("a", None) is None
    known.remember([("c", 3, "C")])  # over the bound: the least recently used goes ("b")
    assert known.get("b", 2) is None and known.get("a", 1) == "A" and len(known) == 2
    known.remember([("a", None, "A2")])  # a row that cannot be recognised: forgotten
    assert known.peek("a") is None
