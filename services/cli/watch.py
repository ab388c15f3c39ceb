"""Reads what `switchboard dev` reports: log end offsets and each consumer's position."""

from __future__ import annotations

import time

import psycopg
from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from kafka.errors import KafkaError
from psycopg import sql

from schemas.topics import AGENTS, CONVERSATIONS
from services.cli.progress import Partition, Snapshot, total_lag
from services.runtime.kafka_clients import READ_COMMITTED
from services.runtime.settings import Settings

DOMAIN = (CONVERSATIONS, AGENTS)


class LagWatcher:
    """Snapshots of produced events and the worker's and projector's lag."""

    def __init__(self, settings: Settings, schema: str = "readmodel") -> None:
        self._settings = settings
        self._schema = schema
        self._consumer = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap_servers,
                                       group_id=None, enable_auto_commit=False,
                                       isolation_level=READ_COMMITTED)
        self._admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers)
        self._topics = tuple(settings.topic(t) for t in DOMAIN)
        self._partitions = [TopicPartition(t, p) for t in self._topics
                            for p in sorted(self._consumer.partitions_for_topic(t) or ())]

    def snapshot(self) -> Snapshot:
        """Where the log and its consumers stand now."""
        end = {(tp.topic, tp.partition): off
               for tp, off in self._consumer.end_offsets(self._partitions).items()}
        return Snapshot(time.monotonic(), sum(end.values()), self._worker_lag(end),
                        self._projector_lag(end))

    def _worker_lag(self, end: dict[Partition, int]) -> int | None:
        try:
            group = self._settings.worker_group
            offsets = self._admin.list_group_offsets(group).get(group, {})
        except KafkaError:
            return None
        committed = {(tp.topic, tp.partition): meta.offset for tp, meta in offsets.items()
                     if tp.topic in self._topics}
        return total_lag(end, committed) if committed else None

    def _projector_lag(self, end: dict[Partition, int]) -> int | None:
        query = sql.SQL("SELECT topic, partition, next_offset FROM {}.projector_offsets"
                                ).format(sql.Identifier(self._schema))
        try:
            with psycopg.connect(self._settings.database_url, connect_timeout=3) as conn:
                rows = conn.execute(query).fetchall()
        except psycopg.Error:
            return None
        committed: dict[Partition, int] = {}
        for topic, partition, offset in rows:
            if topic not in self._topics:
                continue  # a projector of another topic prefix
            key = (topic, partition)
            committed[key] = max(committed.get(key, 0), offset)
        return total_lag(end, committed) if committed else None

    def close(self) -> None:
        self._consumer.close()
        self._admin.close()
