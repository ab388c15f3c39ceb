"""Faust's RocksDB table store, fitted to `BatchTable`: a partition's local database
only ever holds what its changelog holds, up to the offset it records.

Faust's store (faust/stores/rocksdb.py) keeps one RocksDB database per changelog
partition and in each the last changelog offset applied; recovery reads from there. As
shipped it does not fit a table written after a batch, for records of several partitions
and with no current event: `_set` asserts a current event and takes its partition, and
`_get` reads the current event's partition when there is one. Here:

- a write goes to the partition the table names (the partition of the key's record,
  where its changelog record goes), and a read finds a key in its own partition;
- a write waits in memory (and is read from there) until its changelog record is
  acknowledged, then goes into RocksDB with that record's offset in one write batch.
  Faust writes the value at once and the offset on acknowledgement: a worker killed in
  between restarts trusting values the changelog may never have received, its folds
  take those events for redeliveries and publish nothing, and the changelog (the
  published projection) never gets them;
- an acknowledgement for a partition revoked since, or for a write made before this
  worker last took the partition, is not applied: another worker may have written later
  offsets meanwhile, which a stored offset past them would make recovery skip;
- a partition's data with no offset, or last held more than `STALE_AFTER_S` ago, is
  emptied before recovery: Kafka drops a compacted topic's tombstones
  `delete.retention.ms` (24 h by default) after cleaning, so a key another worker
  deleted meanwhile would come back.

After each recovery the store writes `<table>-recovery.json` beside its databases
(`streams/README.md`, "State stores").
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass
from typing import Any

import orjson
import rocksdict
from faust.stores import rocksdb
from faust.types import TP, CollectionT, EventT
from mode import Service

STALE_AFTER_S = 12 * 3600.0
"""Local data of a partition not held for this long is discarded: half Kafka's default
`delete.retention.ms`, the least time a tombstone stays on a compacted topic."""
HELD_AT_KEY = b"__switchboard\0held_at__"
"""Wall-clock time (seconds) this worker last knew the partition's data current."""
REFRESH_HELD_S = 600.0
DEFAULT_OPTIONS: Mapping[str, Any] = {
    # Faust's defaults (64 MiB x 3 memtables and a 2 GiB block cache per database) are
    # sized for one big table; a worker opens one database per table and partition.
    "write_buffer_size": 4 << 20,
    "max_write_buffer_number": 2,
    "block_cache_size": 8 << 20,
}


@dataclass(slots=True)
class _Recovery:
    """The latest recovery of a partition: where it started, what it read."""

    started_from: int | None
    records_read: int = 0


@dataclass(slots=True)
class _Staged:
    """A write whose changelog records are not all acknowledged yet."""

    partition: int
    value: bytes | None
    in_flight: int


class BatchRocksDBStore(rocksdb.Store):
    """RocksDB storage for a table that names the partition of each write."""

    def __init__(self, url: Any, app: Any, table: CollectionT, *,
                 options: Mapping[str, Any] | None = None, **kwargs: Any) -> None:
        super().__init__(url, app, table, options={**DEFAULT_OPTIONS, **(options or {})}, **kwargs)
        self._staged: dict[bytes, _Staged] = {}
        self._owned: dict[int, int] = {}
        """Active partition -> consumer generation from which this worker holds it."""
        self._recovery: dict[int, _Recovery] = {}
        self._records_read = 0

    # Writes: staged until the changelog acknowledges them, then stored with the offset.

    def _set(self, key: bytes, value: bytes | None) -> None:
        partition = self.table.partition_for_key(key)
        if partition is None:
            raise TypeError(f"{self.table_name}: no partition for a write")
        staged = self._staged.get(key)
        if staged is None:
            self._staged[key] = _Staged(partition, value, 1)
        else:
            staged.partition, staged.value = partition, value
            staged.in_flight += 1
        self._key_index[key] = partition

    def _del(self, key: bytes) -> None:
        self._set(key, None)

    def acknowledged(self, partition: int, key: bytes, value: bytes | None, offset: int,
                     generation: int) -> None:
        """Store a write whose changelog record the broker acknowledged at `offset`;
        `generation`: the consumer generation it was written in."""
        staged = self._staged.get(key)
        if staged is not None:
            staged.in_flight -= 1
            if staged.in_flight <= 0:
                del self._staged[key]
        since = self._owned.get(partition)
        if since is None or generation < since:
            return  # written before this worker (last) took the partition
        batch = rocksdict.WriteBatch(raw_mode=True)
        if value is None:
            batch.delete(key)
        else:
            batch.put(key, value)
        self._put_offset(batch, offset)
        self._db_for_partition(partition).write(batch)

    def set_persisted_offset(self, tp: TP, offset: int) -> None:
        """Record that the partition's data is the changelog up to `offset` (recovery)."""
        batch = rocksdict.WriteBatch(raw_mode=True)
        self._put_offset(batch, offset)
        self._db_for_partition(tp.partition).write(batch)

    def _put_offset(self, batch: rocksdict.WriteBatch, offset: int) -> None:
        batch.put(self.offset_key, str(offset).encode())
        batch.put(HELD_AT_KEY, repr(time.time()).encode())

    # Reads: a staged write first, then the key's own partition.

    def _get(self, key: bytes) -> bytes | None:
        staged = self._staged.get(key)
        if staged is not None:
            return staged.value
        found = self._get_bucket_for_key(key)
        return None if found is None else found.value

    def _contains(self, key: bytes) -> bool:
        return self._get(key) is not None

    def _iteritems(self) -> Iterator[tuple[bytes, bytes]]:
        staged = self._staged_of_owned()
        for partition in sorted(self._owned.keys() & self._dbs.keys()):
            for key, value in self._dbs[partition].items():
                if key not in staged and key not in (self.offset_key, HELD_AT_KEY):
                    yield key, value
        yield from ((k, v) for k, v in staged.items() if v is not None)

    def _iterkeys(self) -> Iterator[bytes]:
        staged = self._staged_of_owned()
        for partition in sorted(self._owned.keys() & self._dbs.keys()):
            for key in self._dbs[partition].keys():
                if key not in staged and key not in (self.offset_key, HELD_AT_KEY):
                    yield key
        yield from (k for k, v in staged.items() if v is not None)

    def _staged_of_owned(self) -> dict[bytes, bytes | None]:
        return {k: s.value for k, s in self._staged.items() if s.partition in self._owned}

    def _itervalues(self) -> Iterator[bytes]:
        return (value for _, value in self._iteritems())

    def _size(self) -> int:
        return sum(1 for _ in self._iteritems())

    # Partitions coming and going.

    async def on_rebalance(self, assigned: set[TP], revoked: set[TP], newly_assigned: set[TP],
                           generation_id: int = 0) -> None:
        await super().on_rebalance(assigned, revoked, newly_assigned, generation_id)
        standbys = self.app.assignor.assigned_standbys()
        actives = {tp.partition for tp in assigned
                   if tp.topic in self.table.changelog_topic.topics and tp not in standbys}
        self._owned = {p: self._owned.get(p, generation_id) for p in actives}

    def revoke_partitions(self, table: CollectionT, tps: set[TP]) -> None:
        released = {tp.partition for tp in tps if tp.topic in table.changelog_topic.topics}
        for partition in released & self._dbs.keys():
            self._mark_held(partition)  # current up to here: nobody else wrote it before now
        self._owned = {p: g for p, g in self._owned.items() if p not in released}
        self._staged = {k: s for k, s in self._staged.items() if s.partition not in released}
        super().revoke_partitions(table, tps)

    async def assign_partitions(self, table: CollectionT, tps: set[TP],
                                generation_id: int = 0) -> None:
        await super().assign_partitions(table, tps, generation_id)
        for tp in tps:
            if tp.topic in table.changelog_topic.topics and tp.partition in self._dbs:
                self._discard_if_stale(tp)
                self._recovery[tp.partition] = _Recovery(self.persisted_offset(tp))

    def _discard_if_stale(self, tp: TP) -> None:
        db = self._dbs[tp.partition]
        held_at = db.get(HELD_AT_KEY)
        if self.persisted_offset(tp) is not None and held_at is not None \
                and time.time() - float(held_at) < STALE_AFTER_S:
            return
        if all(key in (self.offset_key, HELD_AT_KEY) for key in db.keys()):
            return  # nothing but bookkeeping
        self.log.warning("table %s partition %d: local data without an offset or older than "
                         "%.0f h is discarded; recovery reads the whole changelog partition",
                         self.table_name, tp.partition, STALE_AFTER_S / 3600)
        db.close()
        del self._dbs[tp.partition]
        shutil.rmtree(self.partition_path(tp.partition), ignore_errors=True)
        self._db_for_partition(tp.partition)

    def _mark_held(self, partition: int) -> None:
        self._dbs[partition].put(HELD_AT_KEY, repr(time.time()).encode())

    @Service.timer(REFRESH_HELD_S)
    async def _refresh_held(self) -> None:
        # A quiet partition's data stays current while held: say so, or a restart after a
        # crash would take it for stale.
        for partition in self._owned.keys() & self._dbs.keys():
            self._mark_held(partition)

    async def stop(self) -> None:
        for partition in self._owned.keys() & self._dbs.keys():
            self._mark_held(partition)
        self._owned.clear()
        await super().stop()

    # Recovery: count what it read, and say so after each.

    def apply_changelog_batch(self, batch: Iterable[EventT], to_key: Any, to_value: Any) -> None:
        events = list(batch)
        for event in events:
            self._recovery.setdefault(event.message.partition, _Recovery(None)).records_read += 1
        self._records_read += len(events)
        super().apply_changelog_batch(events, to_key, to_value)

    async def on_recovery_completed(self, active_tps: set[TP], standby_tps: set[TP]) -> None:
        await super().on_recovery_completed(active_tps, standby_tps)
        for partition in self._owned.keys() & self._dbs.keys():
            self._mark_held(partition)
        self._write_report()

    def _write_report(self) -> None:
        report = {"table": self.table_name, "pid": os.getpid(),
                  "generation": self.app.consumer_generation_id,
                  "records_read": self._records_read,
                  "partitions": {str(p): asdict(r) for p, r in sorted(self._recovery.items())
                                 if p in self._owned}}
        path = self.path / f"{self.basename}-recovery.json"
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_bytes(orjson.dumps(report, option=orjson.OPT_INDENT_2))
        os.replace(tmp, path)
