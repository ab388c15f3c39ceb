"""Every record of some topics, from their start to where they end as the read begins,
as a read-committed consumer sees them (offline folds: the chaos checks, `switchboard kpi`)."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from typing import Any

from kafka import KafkaConsumer, TopicPartition

from services.runtime.kafka_clients import READ_COMMITTED
from services.runtime.settings import Settings

READ_DEADLINE_S = 600.0
Record = Any
"""A kafka-python ConsumerRecord."""


def records(settings: Settings, topics: Sequence[str], *, committed_only: bool = True,
            deadline_s: float = READ_DEADLINE_S) -> Iterator[Record]:
    """Every record of `topics` (logical names) from the start to their end as of now;
    TimeoutError when they are not read in `deadline_s`."""
    consumer = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap_servers, group_id=None,
                             enable_auto_commit=False, max_poll_records=10_000,
                             isolation_level=READ_COMMITTED if committed_only
                             else "read_uncommitted")
    try:
        tps = [TopicPartition(t, p) for t in map(settings.topic, topics)
               for p in sorted(consumer.partitions_for_topic(t) or ())]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        ends = consumer.end_offsets(tps)
        deadline = time.monotonic() + deadline_s
        while any(consumer.position(tp) < end for tp, end in ends.items()):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{topics} not read to their end in {deadline_s:.0f} s")
            for tp, batch in consumer.poll(timeout_ms=500).items():
                yield from (r for r in batch if r.offset < ends[tp])
    finally:
        consumer.close()
