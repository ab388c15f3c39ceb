"""Where the log ends and how far each consumer got (I/O: Kafka admin, PostgreSQL)."""

from __future__ import annotations

import psycopg
from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from kafka.errors import KafkaError

from schemas.topics import AGENTS, CONVERSATIONS
from services.runtime.kafka_clients import READ_COMMITTED
from services.runtime.settings import Settings

DOMAIN = (CONVERSATIONS, AGENTS)
Offsets = dict[tuple[str, int], int]
"""By (topic as named on the cluster, partition)."""


def log_ends(settings: Settings, topics: tuple[str, ...] = DOMAIN) -> Offsets:
    """The end offset of every partition of `topics` (logical names; the domain topics by
    default)."""
    consumer = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap_servers, group_id=None,
                             isolation_level=READ_COMMITTED)
    try:
        tps = [TopicPartition(t, p) for t in map(settings.topic, topics)
               for p in sorted(consumer.partitions_for_topic(t) or ())]
        return {(tp.topic, tp.partition): n for tp, n in consumer.end_offsets(tps).items()}
    finally:
        consumer.close()


def done_between(start: Offsets, end: Offsets, position: Offsets) -> int:
    """Records of the `start`..`end` range a consumer at `position` has consumed (pure)."""
    return sum(max(0, min(position.get(tp, 0), e) - start.get(tp, 0)) for tp, e in end.items())


def visible_ends(settings: Settings, topics: tuple[str, ...] = DOMAIN) -> Offsets:
    """Per partition of `topics`, the offset after its last record a read-committed
    consumer receives (0 when none). A consumer that read everything commits at least
    that, but not always the log's end: the marker of a router's transaction, or its
    aborted records, may follow, and no record moves the commit past them."""
    consumer = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap_servers, group_id=None,
                             enable_auto_commit=False, isolation_level=READ_COMMITTED)
    try:
        tps = [TopicPartition(t, p) for t in map(settings.topic, topics)
               for p in sorted(consumer.partitions_for_topic(t) or ())]
        ends, starts = consumer.end_offsets(tps), consumer.beginning_offsets(tps)
        return {(tp.topic, tp.partition): _after_last(consumer, tp, starts[tp], ends[tp])
                for tp in tps}
    finally:
        consumer.close()


def _after_last(consumer: KafkaConsumer, tp: TopicPartition, start: int, end: int) -> int:
    back = 64
    consumer.assign([tp])
    while end > start:
        begin = max(start, end - back)
        consumer.seek(tp, begin)
        last = None
        while consumer.position(tp) < end:
            for record in consumer.poll(timeout_ms=500).get(tp, ()):
                if record.offset < end:
                    last = record.offset
        if last is not None:
            return last + 1
        if begin == start:
            break
        back *= 8  # nothing but markers and aborted records there: look further back
    return start


class GroupOffsets:
    """Committed offsets of a Kafka consumer group (the Faust worker's) on `topics`
    (logical names of both; the settings name them on the cluster)."""

    def __init__(self, settings: Settings, group: str, topics: tuple[str, ...] = DOMAIN) -> None:
        self._admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers,
                                       client_id="switchboard-bench")
        self._group = settings.group(group)
        self._topics = {settings.topic(t) for t in topics}

    def read(self) -> Offsets:
        """Committed offsets of its topics ({} while nothing is committed)."""
        try:
            found = self._admin.list_group_offsets(self._group).get(self._group, {})
        except KafkaError:
            return {}
        return {(tp.topic, tp.partition): meta.offset for tp, meta in found.items()
                if tp.topic in self._topics and meta.offset >= 0}

    def members(self) -> int:
        """How many consumers the group has now."""
        found = self._admin.describe_groups([self._group]).get(self._group, {})
        return len(found.get("members", ()))

    def close(self) -> None:
        self._admin.close()


class ProjectorOffsets:
    """The projector's offsets as stored in PostgreSQL with its rows."""

    def __init__(self, settings: Settings, schema: str = "readmodel") -> None:
        self._conn = psycopg.connect(settings.database_url, autocommit=True)
        self._schema = schema
        self._topics = {settings.topic(t) for t in DOMAIN}

    def read(self) -> Offsets:
        """Stored next offsets ({} before the projector created its tables)."""
        try:
            rows = self._conn.execute(
                f"SELECT topic, partition, max(next_offset) FROM {self._schema}.projector_offsets"  # noqa: S608 - fixed identifier
                " GROUP BY topic, partition").fetchall()
        except psycopg.errors.UndefinedTable:
            return {}
        return {(topic, partition): offset for topic, partition, offset in rows
                if topic in self._topics}

    def close(self) -> None:
        self._conn.close()
