"""`BatchTable` on `rocksdb://`: a partition's local database holds only what the
changelog acknowledged, with the offset it reached, and stale data is not trusted.

A real RocksDB (rocksdict) in a temporary directory and Faust's own table and store
code; only the producer is replaced: each changelog record it is handed becomes a batch
of its own, acknowledged by hand (its delivery future resolved, as aiokafka does)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import faust
import pytest
from aiokafka.structs import RecordMetadata
from faust.types import TP

from streams import rocksdb_store
from streams.batch_send import Outgoing, SentBatch
from streams.batch_table import BatchTable
from streams.rocksdb_store import HELD_AT_KEY, BatchRocksDBStore


@dataclass
class Worker:
    """One worker's table on a data directory, and the changelog records it sent."""

    app: faust.App
    table: BatchTable
    sent: list[SentBatch] = field(default_factory=list)

    @property
    def store(self) -> BatchRocksDBStore:
        store = self.table.data
        assert isinstance(store, BatchRocksDBStore)
        return store

    def tp(self, partition: int) -> TP:
        return TP(self.table.changelog_topic.get_topic_name(), partition)

    async def take(self, *partitions: int, generation: int, drop: tuple[int, ...] = ()) -> None:
        """A rebalance of `generation`: this worker holds `partitions`, gives up `drop`."""
        self.app.consumer_generation_id = generation
        held = set(self.store._owned)
        await self.store.on_rebalance({self.tp(p) for p in partitions}, {self.tp(p) for p in drop},
                                      {self.tp(p) for p in set(partitions) - held}, generation)

    async def put(self, key: bytes, value: bytes, partition: int) -> None:
        self.table.put(key, value, partition)
        await self.table.publish()

    async def delete(self, key: bytes, partition: int) -> None:
        self.table.delete(key, partition)
        await self.table.publish()

    async def ack(self, sent: SentBatch, offset: int) -> None:
        tp = self.tp(sent.partition)
        sent.delivered.set_result(RecordMetadata(
            topic=tp.topic, partition=tp.partition, topic_partition=tp, offset=offset,
            timestamp=None, timestamp_type=0, log_start_offset=None))
        await asyncio.sleep(0)  # the delivery's callbacks run

    def stored(self, partition: int, key: bytes) -> bytes | None:
        """What the partition's RocksDB database itself holds for `key`."""
        value: bytes | None = self.store._db_for_partition(partition).get(key)
        return value


def open_worker(data_dir: Path) -> Worker:
    app = faust.App("store-test", store="rocksdb://", datadir=str(data_dir))
    schema: faust.Schema = faust.Schema(key_type=bytes, value_type=bytes, key_serializer="raw",
                          value_serializer="raw")
    worker = Worker(app, BatchTable(app, name="t", default=None, schema=schema))

    async def send(records: list[Outgoing]) -> list[SentBatch]:
        batches = [SentBatch(r.partition, [r], asyncio.get_running_loop().create_future())
                   for r in records]
        worker.sent.extend(batches)
        return batches

    worker.table._send = send  # type: ignore[method-assign]
    return worker


@pytest.fixture
def worker(tmp_path: Path) -> Iterator[Worker]:
    yield open_worker(tmp_path)


async def test_a_write_is_read_at_once_and_stored_with_its_offset_when_acknowledged(
        worker: Worker) -> None:
    await worker.take(0, 1, generation=1)
    await worker.put(b"c1", b"state-1", 1)
    assert worker.table.get(b"c1") == b"state-1"
    assert worker.stored(1, b"c1") is None  # the changelog does not have it yet
    await worker.ack(worker.sent[-1], offset=41)
    assert worker.stored(1, b"c1") == b"state-1"
    assert worker.store.persisted_offset(worker.tp(1)) == 41
    assert worker.store.persisted_offset(worker.tp(0)) is None


async def test_the_latest_write_is_read_while_earlier_ones_are_acknowledged(worker: Worker) -> None:
    await worker.take(0, generation=1)
    await worker.put(b"c1", b"v1", 0)
    await worker.put(b"c1", b"v2", 0)
    await worker.ack(worker.sent[0], offset=5)
    assert worker.table.get(b"c1") == b"v2" and worker.stored(0, b"c1") == b"v1"
    await worker.delete(b"c1", 0)
    await worker.ack(worker.sent[1], offset=6)
    assert worker.table.get(b"c1") is None
    await worker.ack(worker.sent[2], offset=7)
    assert worker.stored(0, b"c1") is None and worker.store.persisted_offset(worker.tp(0)) == 7
    assert dict(worker.table.items()) == {}


async def test_keys_are_read_in_their_own_partition_and_listed_without_bookkeeping(
        worker: Worker) -> None:
    await worker.take(0, 1, generation=1)
    await worker.put(b"a", b"1", 0)
    await worker.put(b"b", b"2", 1)
    await worker.ack(worker.sent[0], offset=0)
    assert b"a" in worker.table and b"b" in worker.table and b"c" not in worker.table
    assert dict(worker.table.items()) == {b"a": b"1", b"b": b"2"}


async def test_an_acknowledgement_after_the_partition_was_revoked_is_not_stored(
        worker: Worker) -> None:
    await worker.take(0, 1, generation=1)
    await worker.put(b"c1", b"v1", 1)
    await worker.ack(worker.sent[-1], offset=10)
    await worker.put(b"c1", b"v2", 1)
    await worker.take(0, generation=2, drop=(1,))
    # Another worker may already have written past offset 11: storing it would skip them.
    await worker.ack(worker.sent[-1], offset=11)
    assert worker.stored(1, b"c1") == b"v1"
    assert worker.store.persisted_offset(worker.tp(1)) == 10


async def test_a_write_from_before_the_partition_was_taken_again_is_not_stored(
        worker: Worker) -> None:
    await worker.take(0, generation=1)
    await worker.put(b"c1", b"old", 0)
    await worker.take(generation=2, drop=(0,))
    await worker.take(0, generation=3)
    await worker.ack(worker.sent[-1], offset=3)
    assert worker.stored(0, b"c1") is None
    assert worker.store.persisted_offset(worker.tp(0)) is None


async def test_a_worker_killed_before_the_changelog_acknowledged_finds_none_of_it(
        tmp_path: Path) -> None:
    first = open_worker(tmp_path)
    await first.take(0, generation=1)
    await first.put(b"c1", b"acked", 0)
    await first.ack(first.sent[-1], offset=0)
    await first.put(b"c1", b"never-acked", 0)
    await first.put(b"c2", b"never-acked", 0)
    await first.store.stop()

    restarted = open_worker(tmp_path)
    await restarted.take(0, generation=1)
    assert restarted.table.get(b"c1") == b"acked" and restarted.table.get(b"c2") is None
    assert restarted.store.persisted_offset(restarted.tp(0)) == 0


async def test_data_not_held_for_longer_than_tombstones_last_is_discarded(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = open_worker(tmp_path)
    await first.take(0, 1, generation=1)
    for partition, offset in ((0, 0), (1, 0)):
        await first.put(b"k%d" % partition, b"v", partition)
        await first.ack(first.sent[-1], offset=offset)
    await first.store.stop()

    later = time.time() + rocksdb_store.STALE_AFTER_S + 60
    stale = open_worker(tmp_path)
    stale.store._db_for_partition(1).put(HELD_AT_KEY, repr(later - 3600).encode())  # held recently
    monkeypatch.setattr(rocksdb_store.time, "time", lambda: later)
    await stale.take(0, 1, generation=1)
    assert stale.table.get(b"k0") is None and stale.store.persisted_offset(stale.tp(0)) is None
    assert stale.table.get(b"k1") == b"v" and stale.store.persisted_offset(stale.tp(1)) == 0
