"""What may be committed, and the watch on commits held behind applied records."""

from __future__ import annotations

import asyncio

from streams.commit_watch import Hold, committable, stuck, watch
from streams.eager_delivery import EagerConsumer
from tests.unit.scripted_consumer import PARTITION, ScriptedPartition, scripted_consumer, until


def test_the_commit_is_the_end_of_the_run_from_the_committed_offset() -> None:
    assert committable(10, [10, 11, 12, 14], []) == 13


def test_one_unprocessed_record_at_the_committed_offset_holds_the_commit() -> None:
    # Faust 0.15's own rule lets the first acked offset be one past the commit.
    assert committable(10, [11, 12, 13], []) is None


def test_offsets_the_log_does_not_hold_are_passed_over() -> None:
    assert committable(10, [10, 13, 14], [(11, 13)]) == 15
    assert committable(10, [12], [(10, 12)]) == 13
    assert committable(10, [], [(10, 20)]) == 20


def test_nothing_new_to_commit_is_none() -> None:
    assert committable(10, [], []) is None


def test_a_hold_keeps_its_start_while_the_commit_stays() -> None:
    first = watch(None, 10, 12, now=100.0)
    assert first == Hold(10, 12, 100.0)
    assert watch(first, 10, 15, now=130.0) == Hold(10, 15, 100.0)
    assert watch(first, 11, 15, now=130.0) == Hold(11, 15, 130.0)
    assert watch(first, 13, None, now=130.0) is None


def test_only_holds_older_than_the_patience_are_stuck() -> None:
    holds = {"a": Hold(10, 12, 0.0), "b": Hold(5, 9, 50.0)}
    assert stuck(holds, now=60.0, patience_s=60.0) == {"a": holds["a"]}


async def test_a_held_partition_is_sought_back_then_the_worker_gives_up() -> None:
    log = ScriptedPartition(20)
    consumer, _, _ = scripted_consumer(EagerConsumer, log)
    await consumer.perform_seek()
    gave_up: list[bool] = []
    consumer.give_up = lambda: gave_up.append(True)  # type: ignore[method-assign]
    consumer._acked[PARTITION] = [3, 4]  # 0-2 never acknowledged
    await consumer.check_commits(now=0.0)
    await consumer.check_commits(now=consumer.stuck_after_s)
    assert consumer.seeks_back == 1 and log.position == 0 and not gave_up
    assert not consumer._acked.get(PARTITION)  # fetched and acknowledged again
    consumer._acked[PARTITION] = [3, 4]
    await consumer.check_commits(now=100.0)
    await consumer.check_commits(now=100.0 + consumer.stuck_after_s)
    assert gave_up == [True]


async def test_a_fetch_that_a_seek_overtook_is_fetched_again_from_the_new_position() -> None:
    log = ScriptedPartition(20)
    consumer, _, _ = scripted_consumer(EagerConsumer, log)
    await consumer.perform_seek()
    log.available, log.fetch_gate = 8, asyncio.Event()
    fetch = asyncio.ensure_future(consumer._getmany({PARTITION}, 1.0))
    await until(lambda: log.fetches_waiting == 1)
    await consumer.perform_seek()  # while the fetch is in flight
    log.fetch_gate.set()
    assert await fetch == {}
    assert log.position == 0  # put back where the seek placed it
