"""A Faust table written after a batch, outside any one event."""

from __future__ import annotations

import faust
from faust.types import StoreT
from faust.types.tuples import FutureMessage
from yarl import URL

from streams.rocksdb_store import BatchRocksDBStore


class BatchTable(faust.Table):
    """A table written after a batch rather than inside one event, so the changelog
    partition of a write is given (the partition of the key's last record in the
    batch, or of the key's stored state for a delete) instead of read from Faust's
    current event. With `rocksdb://` its store is `BatchRocksDBStore`, which takes the
    same partition for the local write."""

    _write_partition: int | None = None

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

    def _new_store_by_url(self, url: str | URL) -> StoreT:
        if URL(url).scheme != "rocksdb":
            return super()._new_store_by_url(url)
        # Bytes in, bytes out, as put() takes them: Faust's store would otherwise decode
        # what it reads with the table's default serializer (json).
        return BatchRocksDBStore(url, self.app, self, table_name=self.name, key_serializer="raw",
                                 value_serializer="raw", loop=self.loop, options=self.options)

    def _on_changelog_sent(self, fut: FutureMessage) -> None:
        # Faust's callback records the offset only; the RocksDB store also stores the
        # write itself now that the changelog has it.
        if isinstance(self._data, BatchRocksDBStore):
            self._data.on_changelog_sent(fut)
        else:
            super()._on_changelog_sent(fut)
