"""A Faust table written after a batch, outside any one event."""

from __future__ import annotations

import faust


class BatchTable(faust.Table):
    """A table written after a batch rather than inside one event, so the changelog
    partition of a write is given (the partition of the key's last record in the
    batch, or of the key's stored state for a delete) instead of read from Faust's
    current event."""

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
