"""A Faust table written after a batch, outside any one event."""

from __future__ import annotations

import asyncio
from functools import partial
from typing import Any

import faust
from faust.types import StoreT
from yarl import URL

from streams.batch_send import Outgoing, SentBatch, producer_of, send_batches
from streams.rocksdb_store import BatchRocksDBStore


class BatchTable(faust.Table):
    """A table written after a batch rather than inside one event, so the changelog
    partition of a write is given (the partition of the key's last record in the
    batch, or of the key's stored state for a delete) instead of read from Faust's
    current event. With `rocksdb://` its store is `BatchRocksDBStore`, which takes the
    same partition for the local write.

    Its changelog records are not sent one by one through Faust's producer buffer:
    `publish()` sends those of the writes made since the last call as one batch per
    partition (`streams.batch_send`), and every writer calls it after its writes."""

    _write_partition: int | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._unsent: list[Outgoing] = []
        # Two agents write the agents table: their records must reach the changelog in
        # the order of their writes. An asyncio lock is first come, first served, and
        # publish() takes its records and queues for the lock without a pause between.
        self._publishing = asyncio.Lock()

    def partition_for_key(self, key: object) -> int | None:
        if self._write_partition is None:
            raise TypeError("BatchTable is written with put(key, value, partition) "
                            "and delete(key, partition)")
        return self._write_partition

    def put(self, key: bytes, value: bytes, partition: int) -> None:
        """Store `value` under `key`, its changelog record on `partition`."""
        self._write_partition = partition
        try:
            self[key] = value
        finally:
            self._write_partition = None

    def delete(self, key: bytes, partition: int) -> None:
        """Remove `key`, with a tombstone on its changelog `partition` (compaction then
        drops the key, and a restarted worker does not load it again)."""
        self._write_partition = partition
        try:
            del self[key]
        finally:
            self._write_partition = None

    def on_key_set(self, key: Any, value: Any) -> None:
        self._unsent.append(Outgoing(self._write_partition_of(key), key, value))

    def on_key_del(self, key: Any) -> None:
        self._unsent.append(Outgoing(self._write_partition_of(key), key, None))

    def _write_partition_of(self, key: object) -> int:
        partition = self.partition_for_key(key)
        assert partition is not None  # partition_for_key raises when it has none
        return partition

    async def publish(self) -> None:
        """Hand the changelog records of the writes since the last call to the producer,
        in their order (returns before the broker has them: the next commit waits)."""
        records, self._unsent = self._unsent, []
        if not records:
            return
        generation = self.app.consumer_generation_id
        async with self._publishing:
            sent = await self._send(records)
        if isinstance(self._data, BatchRocksDBStore):
            for batch in sent:
                batch.delivered.add_done_callback(partial(self._batch_delivered, batch, generation))

    async def _send(self, records: list[Outgoing]) -> list[SentBatch]:
        return await send_batches(producer_of(self.app), self.changelog_topic.get_topic_name(),
                                  records)

    def _batch_delivered(self, batch: SentBatch, generation: int,
                         delivered: asyncio.Future[Any]) -> None:
        if delivered.cancelled() or delivered.exception() is not None:
            return  # the producer fails the worker; the store keeps its older offset
        store = self._data
        assert isinstance(store, BatchRocksDBStore)
        first = delivered.result().offset
        for n, record in enumerate(batch.records):
            store.acknowledged(batch.partition, record.key, record.value, first + n, generation)

    def _new_store_by_url(self, url: str | URL) -> StoreT:
        if URL(url).scheme != "rocksdb":
            return super()._new_store_by_url(url)
        # Bytes in, bytes out, as put() takes them: Faust's store would otherwise decode
        # what it reads with the table's default serializer (json).
        return BatchRocksDBStore(url, self.app, self, table_name=self.name, key_serializer="raw",
                                 value_serializer="raw", loop=self.loop, options=self.options)
