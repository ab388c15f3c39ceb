"""Faust's aiokafka consumer with positions and commits that hold across rebalances.

faust-streaming 0.15.3 can stop committing a partition for good, commit past a record
it never processed, or lose records after a rebalance (faust-streaming #596; the
history in #216, #312, #606). The causes, read in its `Consumer` and `Recovery`:

1. `Recovery.on_recovery_completed` resumes the stream partitions and the flow, then
   awaits `perform_seek` to reset them to their committed offsets while the fetch
   loop is still delivering records fetched before the seek. A delivery suspended
   across the seek sets the partition's read offset to its pre-seek offset when it
   completes, so the records fetched again from the committed offset are dropped as
   already read (logged at `log.dev` only): a hole at the head of the acknowledged
   offsets, and `_new_offset` returns nothing forever (the stall).
2. `_new_offset` lets the first acknowledged offset be one past the committed one
   (its read offset after a seek is the next offset, elsewhere the last one), so a
   single unprocessed record at the committed offset is committed past (a skip);
   `_add_gap` clamps to `committed + 1` for the same reason.
3. aiokafka's `seek_to_committed` does not move a partition that has no committed
   offset, so records fetched before the seek and then cleared from the stream
   buffers are never fetched again (a loss).
4. `on_buffer_drop` re-activates a partition whose stream buffer drained even when
   the partition is paused for recovery, and `_buffered_partitions` survives a
   revocation, so a stream can fold records against half-restored tables.

This consumer fixes them where they start:
- A seek first parks the fetch loop: the flow stops, the seek waits until no
  delivery is in progress, and every stream buffer is cleared (what it held is
  fetched again from the committed offset). Each seek opens a new epoch: records
  fetched in an earlier epoch are not delivered, and a delivery that straddled a
  seek does not move the read position.
- Positions are exact: `_expected[tp]` is the next offset the fetch loop accepts,
  offsets the fetcher skipped are recorded as absent, and the commit is the end of
  the contiguous run from the committed offset (`streams.commit_watch.committable`).
- A partition with no committed offset is sought to its first offset.
- A paused partition is never re-activated by its buffer draining, and a revoked
  one is forgotten.
- A watch: when a partition's commit has been held behind applied records for
  `stuck_after_s`, every partition is sought back to its committed offset (their
  records are folded again; every fold is idempotent) and it is logged; if it is still held after a second
  period the worker exits with status 70 so it is restarted. No variant stays
  silent.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import AsyncIterator, Awaitable, Iterable, Mapping
from typing import Any, cast

from faust.transport.consumer import CONSUMER_FETCHING
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types import TP
from mode import Service, ServiceT

from streams.commit_watch import Hold, committable, stuck, watch

log = logging.getLogger("switchboard.worker.consumer")
EXIT_COMMITS_STUCK = 70
"""Exit status when a partition's commits stay stuck after a seek back."""
STUCK_AFTER_S = 60.0
"""How long a commit may be held behind applied records before the watch acts:
far longer than any batch takes, far shorter than an operator's patience."""
YIELD_EVERY = 100


class SeekSafeConsumer(faust_aiokafka.Consumer):
    """Faust's aiokafka consumer with parked seeks, epochs and exact commit positions."""

    stuck_after_s: float = STUCK_AFTER_S

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._epoch = 0
        self._fetched_epoch = 0
        """The epoch the batch being delivered was fetched in."""
        self._parked = asyncio.Event()
        self._parked.set()
        self._expected: dict[TP, int] = {}
        self._holds: dict[TP, Hold] = {}
        self._sought_back: dict[TP, int] = {}
        self.seeks_back = 0
        """How many times the watch had to seek a held partition back (a metric)."""

    # -- seeks ---------------------------------------------------------------------------

    async def perform_seek(self) -> None:
        """Seek every assigned partition to its committed offset (its first offset when
        it has none), with the fetch loop parked and the stream buffers cleared."""
        self._epoch += 1
        was_flowing = self.flow_active
        if was_flowing:
            self.stop_flow()
        try:
            await self._parked.wait()
            self.app.flow_control.clear()
            committed = await self.seek_to_committed()
            await self._seek_unpositioned(committed)
        finally:
            if was_flowing:
                self.resume_flow()

    async def _seek_unpositioned(self, committed: Mapping[Any, int | None]) -> None:
        # Only stream partitions: the group commits nothing for changelogs, whose
        # positions the table recovery sets itself.
        streams = {ensure_tp(tp): offset for tp, offset in committed.items()
                   if not self._is_changelog_tp(ensure_tp(tp))}
        fresh = [tp for tp, offset in streams.items() if offset is None or offset <= 0]
        starts = dict(await self.earliest_offsets(*fresh)) if fresh else {}
        if starts:
            await self.seek_wait(starts)
        for tp, offset in streams.items():
            start = offset if offset is not None and offset > 0 else starts.get(tp, 0)
            self._restart_at(tp, start)

    def _restart_at(self, tp: TP, offset: int) -> None:
        # Everything acknowledged past `offset` is fetched and acknowledged again.
        self._expected[tp] = offset
        self._read_offset[tp] = offset or None
        self._committed_offset[tp] = offset
        self._acked.pop(tp, None)
        self._acked_index.pop(tp, None)
        self._gap.pop(tp, None)
        self._holds.pop(tp, None)

    # -- what may be committed -------------------------------------------------------

    def _new_offset(self, tp: TP) -> int | None:
        acked = self._acked[tp]
        committed = self._committed_offset[tp]
        if not acked or committed is None:
            return None
        acked.sort()
        absent = [(iv.begin, iv.end) for iv in self._gap[tp]]
        offset = committable(committed, acked, absent)
        if offset is None:
            return None
        done = [o for o in acked if o < offset]
        del acked[:len(done)]
        self._acked_index[tp].difference_update(done)
        self._gap[tp].chop(0, offset)
        return offset

    # -- buffers and pauses ------------------------------------------------------------

    def on_buffer_drop(self, tp: TP) -> None:
        if tp in self._buffered_partitions:
            self._buffered_partitions.discard(tp)
            if tp not in self._paused_partitions:
                self._get_active_partitions().add(tp)

    def pause_partitions(self, tps: Iterable[TP]) -> None:
        tpset = {ensure_tp(tp) for tp in tps}
        super().pause_partitions(tpset)
        self._buffered_partitions.difference_update(tpset)

    async def on_partitions_revoked(self, revoked: set[TP]) -> None:
        self._buffered_partitions.difference_update(revoked)
        for tp in revoked:
            self._expected.pop(tp, None)
            self._holds.pop(tp, None)
        await super().on_partitions_revoked(revoked)

    # -- the fetch loop ----------------------------------------------------------------

    async def _getmany(self, active_partitions: set[TP] | None, timeout: float) -> Any:
        epoch = self._epoch
        records = await super()._getmany(active_partitions, timeout)
        if epoch == self._epoch or not records:
            self._fetched_epoch = epoch
            return records
        # A seek came while this fetch was pending, so its stream records may come from
        # either side of it: put the fetcher back where the new epoch expects each stream
        # partition (where the batch began, for one the seek did not place) and fetch
        # again. Changelog records are kept: no stream seek moves a changelog partition.
        changelogs = self.app.tables.changelog_topics
        positions = {ensure_tp(tp): self._expected.get(ensure_tp(tp), batch[0].offset)
                     for tp, batch in records.items() if batch and tp.topic not in changelogs}
        if positions:
            await self.seek_wait(positions)
        self._fetched_epoch = self._epoch
        return {tp: batch for tp, batch in records.items() if tp.topic in changelogs}

    async def _drain_messages(self, fetcher: ServiceT) -> None:
        """Faust's fetch loop, with epochs, exact positions and a parked flag."""
        consumer_should_stop = cast(Service, self)._stopped.is_set
        fetcher_should_stop = cast(Service, fetcher)._stopped.is_set
        since_yield = 0
        try:
            while not (consumer_should_stop() or fetcher_should_stop()):
                self.diag.set_flag(CONSUMER_FETCHING)
                ait = cast(AsyncIterator[tuple[TP, Any]], self.getmany(timeout=1.0))
                await self.sleep(0)
                if self.should_stop:
                    continue
                changelogs = self.app.tables.changelog_topics
                async for tp, message in ait:
                    since_yield += 1
                    if since_yield > YIELD_EVERY:
                        await asyncio.sleep(0)
                        since_yield = 0
                    if tp.topic in changelogs:
                        # A table recovery places its changelog partitions itself and
                        # counts what its table applied; a stream seek moves none of them,
                        # so their records are delivered whatever the epoch.
                        await self._deliver_changelog(tp, message)
                    elif self._fetched_epoch == self._epoch:
                        await self._deliver(tp, message, self._epoch)
                    # else: fetched before the latest seek, which placed the fetcher; the
                    # rest of the partition's records are fetched again after it.
                self.diag.unset_flag(CONSUMER_FETCHING)
        except self.consumer_stopped_errors:
            if self.transport.app.should_stop:
                log.info("broker stopped the consumer while stopping")
                return
            raise
        except asyncio.CancelledError:
            if self.transport.app.should_stop:
                return
            raise
        finally:
            self.diag.unset_flag(CONSUMER_FETCHING)

    async def _deliver_changelog(self, tp: TP, message: Any) -> None:
        """A changelog record, delivered every time it is fetched: a recovery that seeks
        back (after a rebalance cleared records delivered but not yet applied) must get
        them again, and applying one twice sets the same value."""
        self._parked.clear()
        try:
            await self._delivered(self.callback(message))
        finally:
            self._parked.set()
        self._read_offset[tp] = message.offset

    async def _deliver(self, tp: TP, message: Any, epoch: int) -> None:
        offset = message.offset
        expected = self._expected.get(tp)
        if expected is not None and offset < expected:
            return  # already delivered in this epoch
        if expected is not None and offset > expected and self.app.topics.acks_enabled_for(
                message.topic):
            self._gap[tp].addi(expected, offset)  # offsets the log does not hold
        if self._commit_every is not None and self._n_acked >= self._commit_every:
            self._n_acked = 0
            await self.commit()
            if epoch != self._epoch:
                return
        self._parked.clear()
        try:
            await self._delivered(self.callback(message))
        finally:
            self._parked.set()
        if epoch == self._epoch:  # a seek during the delivery decides the position
            self._expected[tp] = offset + 1
            self._read_offset[tp] = offset

    async def _delivered(self, delivery: Awaitable[Any]) -> None:
        """Run one record's delivery to the streams; abandoned if the flow is suspended
        meanwhile (a rebalance), as in Faust's own loop."""
        await self.wait_first(delivery, self.suspend_flow.wait())

    # -- the watch ---------------------------------------------------------------------

    @Service.task
    async def _watch_commits(self) -> None:
        interval = max(1.0, min(self.stuck_after_s / 4, 15.0))
        async for _ in self.itertimer(interval, name="commit-watch"):
            if self.app.rebalancing or self.app.in_recovery:
                continue
            await self.check_commits(time.monotonic())

    async def check_commits(self, now: float) -> None:
        """Update the holds and act on the partitions held past `stuck_after_s`."""
        holds = {}
        for tp, acked in list(self._acked.items()):
            committed = self._committed_offset.get(tp)
            absent = [(iv.begin, iv.end) for iv in self._gap[tp]]
            held = (committed is not None and bool(acked)
                    and committable(committed, sorted(acked), absent) is None)
            hold = watch(self._holds.get(tp), committed, min(acked) if held else None, now)
            if hold is not None:
                holds[tp] = hold
        self._holds = holds
        if held_long := stuck(holds, now, self.stuck_after_s):
            await self._unstick(held_long)

    async def _unstick(self, held: dict[TP, Hold]) -> None:
        again = {tp: h for tp, h in held.items() if self._sought_back.get(tp) == h.committed}
        for tp, hold in (again or held).items():
            log.log(logging.CRITICAL if again else logging.ERROR,
                    "commits of %s held at %d for %.0f s although records from %d on were "
                    "applied%s", tp, hold.committed, time.monotonic() - hold.since,
                    hold.first_acked, " again after a seek back" if again else "")
        if again:
            self.give_up()
            return
        log.error("seeking every partition back to its committed offset (records after "
                  "it are folded again; every fold is idempotent)")
        self._sought_back.update({tp: h.committed for tp, h in held.items()})
        self.seeks_back += 1
        await self.perform_seek()

    def give_up(self) -> None:
        """Exit at once, before any offset moves, so a supervisor restarts the worker
        and it folds again from its committed offsets."""
        log.critical("exiting with %d so the worker is restarted and folds from its "
                     "committed offsets", EXIT_COMMITS_STUCK)
        logging.shutdown()
        os._exit(EXIT_COMMITS_STUCK)


def ensure_tp(tp: Any) -> TP:
    """Faust's own TP for any (topic, partition) pair (aiokafka's included)."""
    return tp if isinstance(tp, TP) else TP(tp.topic, tp.partition)
