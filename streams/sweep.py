"""Closed conversations out of the worker's live table: the shell around
`projections.conversations.retention`.

A Faust timer runs the sweep on every worker, each over its own partitions. It walks
the table's keys, skips by a look at the bytes every state that is certainly open,
decodes the others and deletes each closed one whose last event lies the horizon
behind the clock, with a tombstone on its changelog partition: compaction then drops
the key, and a restarted worker does not load it again. The walk yields to the event
loop every `YIELD_EVERY` keys, so the folds never wait long behind it; a delete happens
between two awaits of the folds, never inside a batch's read and write.

Only a state whose records are all before its partition's committed offset is deleted:
a redelivery starts at the committed offset, so none of its records can come back and
start it again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import faust

from projections.conversations.retention import behind, expired, may_have_expired
from projections.conversations.state import ConversationState
from projections.state_codec import forget, load_remembered
from schemas.topics import CONVERSATIONS
from services.runtime.settings import Settings
from streams.batch_send import key_partition
from streams.batch_table import BatchTable

YIELD_EVERY = 2000
"""Work between two yields to the event loop, in keys looked at (about a microsecond
each): a few milliseconds."""
DECODED_COST = 40
"""A key decoded and deleted costs about as much as this many keys only looked at."""
log = logging.getLogger("switchboard.worker.sweep")
Clock = Callable[[], datetime]


def _utc_now() -> datetime:
    return datetime.now(UTC)


class ClosedSweep:
    """Deletes the closed conversations of this worker's partitions past the horizon."""

    def __init__(self, app: faust.App, table: BatchTable, horizon: timedelta, topic: str,
                 clock: Clock = _utc_now) -> None:
        self.app, self.table, self.horizon, self.clock = app, table, horizon, clock
        self.topic = topic
        """The conversations topic as named on the cluster: the table is keyed like it."""
        self.deleted = 0
        """Conversations deleted since the worker started (a metric)."""

    def _busy(self) -> bool:
        """A rebalance or a table recovery is under way: which keys are ours may change."""
        recovery = getattr(self.app.tables, "recovery", None)  # TableManager's, not declared
        return bool(self.app.rebalancing or getattr(recovery, "in_recovery", False))

    def _partitions(self) -> dict[int, int | None]:
        """This worker's active partitions of the conversations topic, with their committed
        offsets (None while a partition has none)."""
        # Faust keeps what it committed (and read at assignment) per partition; it has
        # no public accessor for it.
        committed: Mapping[Any, int | None] = getattr(self.app.consumer, "_committed_offset", {})
        return {tp.partition: committed.get(tp) for tp in self.app.assignor.assigned_actives()
                if tp.topic == self.topic}

    def _partition_of(self, key: bytes, state: ConversationState) -> int:
        if state.position is not None:
            return state.position.partition
        # A state stored before positions were recorded: where the producers' default
        # partitioner put the key.
        return key_partition(key, self.app.conf.topic_partitions)

    async def run(self) -> int:
        """One walk over the table; how many conversations it deleted."""
        if self._busy():
            return 0
        now, partitions, deleted, budget = self.clock(), self._partitions(), 0, YIELD_EVERY
        for key in list(self.table.keys()):
            if budget <= 0:
                await self.table.publish()  # the tombstones so far, before yielding
                await asyncio.sleep(0)
                if self._busy():
                    break
                partitions, budget = self._partitions(), YIELD_EVERY
            budget -= 1
            raw = self.table.get(key)
            if raw is None or not may_have_expired(raw, now, self.horizon):
                continue
            budget -= DECODED_COST
            deleted += self._delete_if_expired(key, raw, now, partitions)
        await self.table.publish()
        self.deleted += deleted
        if deleted:
            log.info("swept %d closed conversations older than %s out of the live table",
                     deleted, self.horizon)
        return deleted

    def _delete_if_expired(self, key: bytes, raw: bytes, now: datetime,
                           partitions: dict[int, int | None]) -> int:
        try:
            state = load_remembered(ConversationState, raw, key)
        except (ValueError, TypeError, KeyError):
            return 0  # unreadable here: the fold dead-letters its next event
        partition = self._partition_of(key, state)
        if partition not in partitions or not expired(state, now, self.horizon) \
                or not behind(state, partitions[partition]):
            return 0
        self.table.delete(key, partition)
        forget(ConversationState, key)
        return 1


def register_sweep(app: faust.App, table: BatchTable, settings: Settings) -> ClosedSweep:
    """Run the sweep of `table` every `settings.sweep_every_s` on this worker."""
    sweep = ClosedSweep(app, table, timedelta(seconds=settings.closed_horizon_s),
                        settings.topic(CONVERSATIONS))

    @app.timer(interval=settings.sweep_every_s, name="sweep-closed-conversations")
    async def sweep_closed_conversations() -> None:
        await sweep.run()

    return sweep
