"""A delivery suspended across the recovery seek, driven with Faust's own consumer code:
Faust 0.15's consumer stops committing for good; `SeekSafeConsumer` commits to the end.

The sequence is `Recovery.on_recovery_completed`'s after a rebalance: the stream
partition is resumed and the flow runs (it was resumed for the changelog recovery)
while `perform_seek` is still to come, so the fetch loop delivers records fetched from
the position the fetcher had before the rebalance, past what the streams processed.
"""

from __future__ import annotations

import asyncio

from faust.transport.drivers import aiokafka as faust_aiokafka

from streams.eager_delivery import EagerConsumer
from tests.unit.scripted_consumer import (
    PARTITION,
    ScriptedPartition,
    commit,
    process,
    scripted_consumer,
    start_fetching,
    until,
)

SIZE = 20


async def _rebalance_with_a_delivery_across_the_seek(base: type) -> tuple[int | None, list[int]]:
    """Run the sequence; the committed offset at the end and every offset processed."""
    log = ScriptedPartition(SIZE)
    consumer, queue, gates = scripted_consumer(base, log)
    await consumer.perform_seek()  # the first assignment: no committed offset yet
    task, stop = start_fetching(consumer)
    processed: list[int] = []
    # Records 0-3 are folded and committed; 4-11 are delivered to the stream.
    log.available = 4
    await until(lambda: queue.qsize() == 4)
    processed += process(consumer, queue)
    assert commit(consumer, log) == 4
    log.available = 12
    await until(lambda: queue.qsize() == 8)
    # The rebalance (`App._on_partitions_revoked`): the flow stops, the partition is
    # paused, the stream buffers are cleared (4-11 never folded); the fetcher stands at 12.
    consumer.stop_flow()
    consumer.app.flow_control.suspend()
    consumer.pause_partitions({PARTITION})
    consumer.app.flow_control.clear()
    await until(lambda: consumer.not_waiting_next_records.is_set())
    # The changelogs are read (`Recovery._restart_recovery`): the flow resumes.
    consumer.app.flow_control.resume()
    consumer.resume_flow()
    # `Recovery.on_recovery_completed`: the stream partition resumes before the seek, and
    # a delivery fetched from the old position (offset 12) is held, as by a full buffer.
    gates[12] = asyncio.Event()
    log.available = SIZE
    consumer.resume_partitions({PARTITION})
    await until(lambda: log.position > 12)
    await consumer.perform_seek()
    consumer.app.flow_control.resume()
    consumer.resume_flow()
    gates[12].set()
    # Everything the log holds is fetched, delivered and folded.
    for _ in range(200):
        processed += process(consumer, queue)
        commit(consumer, log)
        await asyncio.sleep(0.001)
        if log.committed == SIZE:
            break
    stop.set()
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    return log.committed, processed


async def test_faust_0_15_stops_committing_after_a_delivery_across_the_recovery_seek() -> None:
    committed, processed = await _rebalance_with_a_delivery_across_the_seek(
        faust_aiokafka.Consumer)
    # If this fails, the installed Faust fixed the race: SeekSafeConsumer may be retired.
    assert committed == 4
    assert not set(range(4, 12)) & set(processed), "records 4-11 were dropped as already read"


async def test_the_seek_safe_consumer_commits_every_record_after_the_same_sequence() -> None:
    committed, processed = await _rebalance_with_a_delivery_across_the_seek(EagerConsumer)
    assert committed == SIZE
    assert set(processed) == set(range(SIZE))


async def _rebalance_before_the_first_commit(base: type) -> tuple[int | None, list[int]]:
    """Records delivered but not folded when a rebalance comes before any commit."""
    log = ScriptedPartition(SIZE)
    consumer, queue, _ = scripted_consumer(base, log)
    await consumer.perform_seek()
    task, stop = start_fetching(consumer)
    log.available = 8
    await until(lambda: queue.qsize() == 8)
    consumer.stop_flow()
    consumer.app.flow_control.suspend()
    consumer.pause_partitions({PARTITION})
    consumer.app.flow_control.clear()
    await until(lambda: consumer.not_waiting_next_records.is_set())
    log.available = SIZE
    consumer.resume_partitions({PARTITION})
    await consumer.perform_seek()
    consumer.app.flow_control.resume()
    consumer.resume_flow()
    processed: list[int] = []
    for _ in range(200):
        processed += process(consumer, queue)
        commit(consumer, log)
        await asyncio.sleep(0.001)
        if log.committed == SIZE:
            break
    stop.set()
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    return log.committed, processed


async def test_faust_0_15_skips_what_a_partition_without_a_commit_had_buffered() -> None:
    committed, processed = await _rebalance_before_the_first_commit(faust_aiokafka.Consumer)
    assert committed == SIZE and not set(range(8)) & set(processed)


async def test_the_seek_safe_consumer_refetches_a_partition_without_a_commit_from_its_start() -> None:
    committed, processed = await _rebalance_before_the_first_commit(EagerConsumer)
    assert committed == SIZE and set(processed) == set(range(SIZE))


def test_a_drained_buffer_does_not_reactivate_a_partition_paused_for_recovery() -> None:
    consumer, _, _ = scripted_consumer(EagerConsumer, ScriptedPartition(SIZE))
    consumer.app.in_recovery = False
    consumer.on_buffer_full(PARTITION)
    consumer.pause_partitions({PARTITION})
    consumer.on_buffer_drop(PARTITION)
    assert PARTITION not in consumer._get_active_partitions()
    consumer.resume_partitions({PARTITION})
    assert PARTITION in consumer._get_active_partitions()


def test_faust_0_15_reactivates_a_paused_partition_when_its_buffer_drains() -> None:
    consumer, _, _ = scripted_consumer(faust_aiokafka.Consumer, ScriptedPartition(SIZE))
    consumer.app.in_recovery = False
    consumer.on_buffer_full(PARTITION)
    consumer.pause_partitions({PARTITION})
    consumer.on_buffer_drop(PARTITION)
    assert PARTITION in consumer._get_active_partitions()
