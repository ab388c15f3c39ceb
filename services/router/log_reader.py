"""Read one run's events back from the log, per partition in log order (for audits)."""

from __future__ import annotations

from collections import defaultdict

from kafka import KafkaConsumer, TopicPartition

from schemas.codec import decode
from schemas.envelope import Envelope
from schemas.events import EventData
from schemas.topics import AGENTS, CONVERSATIONS
from services.runtime.kafka_clients import READ_COMMITTED
from services.runtime.settings import Settings

Event = Envelope[EventData]


def read_prefixed(settings: Settings, prefix: str) -> list[list[Event]]:
    """Every event whose key starts with `prefix`, per partition in log order."""
    consumer = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap_servers, group_id=None,
                             enable_auto_commit=False, isolation_level=READ_COMMITTED)
    try:
        partitions = [TopicPartition(t, p)
                      for t in (settings.topic(CONVERSATIONS), settings.topic(AGENTS))
                      for p in sorted(consumer.partitions_for_topic(t) or ())]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        ends = consumer.end_offsets(partitions)
        found: dict[TopicPartition, list[Event]] = defaultdict(list)
        key = prefix.encode()
        while any(consumer.position(tp) < end for tp, end in ends.items()):
            for tp, records in consumer.poll(timeout_ms=1000, max_records=5000).items():
                found[tp].extend(decode(r.value) for r in records
                                 if r.key and r.key.startswith(key) and r.offset < ends[tp])
        return list(found.values())
    finally:
        consumer.close()
