"""The event ids already on the log, for the last few minutes: what the ingest's memory
of produced ids is refilled from whenever it may have missed some.

Two things make the memory incomplete. A restart (or a kill -9) empties it. And a
`503` is ambiguous: a write that timed out may still have reached the broker (a
request already on the wire is appended whatever the ingest does next). A
well-behaved client retries either with the same event ids; without this, both
would put a second copy of the event on the log. Reading what the log holds for the
window before answering the retry makes it a duplicate instead.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import orjson
from kafka import KafkaConsumer, TopicPartition
from kafka.errors import KafkaError

from schemas.topics import DOMAIN_TOPICS
from services.runtime.settings import Settings

POLL_MS = 500


def ids_on_log(settings: Settings, window_s: float, timeout_s: float = 30.0) -> set[str]:
    """Ids of the events written to the domain topics in the last `window_s` seconds
    (by broker timestamp). KafkaError (or TimeoutError) if the log cannot be read in
    `timeout_s`: the caller must then not claim to know."""
    if window_s <= 0:
        return set()
    consumer = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap_servers, group_id=None,
                             enable_auto_commit=False, client_id="switchboard-ingest-recall",
                             max_poll_records=10_000, fetch_max_bytes=64 * 1024 * 1024,
                             request_timeout_ms=int(timeout_s * 1000))
    try:
        return set(_ids(consumer, settings, window_s, time.monotonic() + timeout_s))
    finally:
        consumer.close()


def _ids(consumer: KafkaConsumer, settings: Settings, window_s: float,
         deadline: float) -> Iterator[str]:
    partitions = [TopicPartition(topic, p) for topic in map(settings.topic, sorted(DOMAIN_TOPICS))
                  for p in sorted(consumer.partitions_for_topic(topic) or ())]
    if not partitions:
        raise KafkaError("no partitions known for the domain topics")
    since_ms = int((time.time() - window_s) * 1000)
    starts = consumer.offsets_for_times({tp: since_ms for tp in partitions})
    ends = consumer.end_offsets(partitions)
    todo = {tp: ends[tp] for tp in partitions
            if starts.get(tp) is not None and starts[tp].offset < ends[tp]}
    consumer.assign(list(todo))
    for tp in todo:
        consumer.seek(tp, starts[tp].offset)
    while any(consumer.position(tp) < end for tp, end in todo.items()):
        if time.monotonic() > deadline:
            raise TimeoutError(f"the log's last {window_s:.0f} s not read in time")
        for tp, records in consumer.poll(timeout_ms=POLL_MS).items():
            for record in records:
                if record.offset < todo[tp]:
                    yield from _id_of(record.value)


def _id_of(value: bytes | None) -> Iterator[str]:
    try:
        obj = orjson.loads(value or b"")
    except orjson.JSONDecodeError:
        return  # not an event: no id to remember (consumers dead-letter it)
    if isinstance(obj, dict) and isinstance(event_id := obj.get("id"), str):
        yield event_id
