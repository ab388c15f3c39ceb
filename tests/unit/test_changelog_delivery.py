"""Changelog records through the seek-safe fetch loop: a table recovery that reads a
changelog partition again (after a rebalance cleared what it had delivered but not yet
applied) gets every record again; nothing the stream seeks do may drop one.

Found by the chaos run: a worker killed early and the rebalances after it left some
keys of one partition missing from the restored table, then folded from empty states.
"""

from __future__ import annotations

import itertools
from types import SimpleNamespace
from typing import Any

from faust.types import TP

from streams.eager_delivery import EagerConsumer
from tests.unit.scripted_consumer import Record, ScriptedPartition, scripted_consumer

CHANGELOG = TP("scripted-changelog", 0)


def _consumer() -> tuple[Any, Any]:
    consumer, queue, _ = scripted_consumer(EagerConsumer, ScriptedPartition(0))
    consumer.app.tables._changelogs[CHANGELOG.topic] = object()  # a table's changelog
    return consumer, queue


def _record(offset: int) -> Record:
    return Record(CHANGELOG.topic, CHANGELOG.partition, offset, b"k", b"v")


def _drain(queue: Any) -> list[int]:
    got = []
    while not queue.empty():
        got.append(queue.get_nowait().offset)
    return got


async def test_a_changelog_partition_read_again_is_delivered_again() -> None:
    consumer, queue = _consumer()
    # Records 0-9 are delivered; then the recovery restarts and seeks the changelog back
    # to what its table applied (5): 5-9 were cleared from its queue before applied.
    batches = [list(range(10)), list(range(5, 10))]

    async def fetched(offsets: list[int]) -> Any:
        for offset in offsets:
            yield CHANGELOG, _record(offset)

    consumer.getmany = lambda timeout: fetched(batches.pop(0))
    await consumer._drain_messages(_StopAfter(consumer, batches=2))
    assert _drain(queue) == [*range(10), *range(5, 10)]


async def test_a_stream_seek_does_not_drop_changelog_records_fetched_before_it() -> None:
    consumer, queue = _consumer()

    async def fetched() -> Any:
        for offset in range(4):
            if offset == 1:
                consumer._epoch += 1  # a stream seek lands while the batch is delivered
            yield CHANGELOG, _record(offset)

    consumer.getmany = lambda timeout: fetched()
    await consumer._drain_messages(_StopAfter(consumer, batches=1))
    assert _drain(queue) == [0, 1, 2, 3]


class _StopAfter:
    """A fetcher that reports itself stopped once the loop has fetched `batches`."""

    def __init__(self, consumer: Any, batches: int) -> None:
        checks = itertools.count(1)
        self._stopped = SimpleNamespace(is_set=lambda: next(checks) > batches)
