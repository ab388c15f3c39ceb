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


class IdsOnLog:
    """Reads the ids on the log, each record once: the first `recall` reads the window,
    each later one only what was appended since the one before (bounded by the window
    too), so a refill after a failed write costs the seconds since the last one, not
    the whole window again (at 700 events/s, 300 s of log took 4 s to read)."""

    def __init__(self, settings: Settings, window_s: float, timeout_s: float = 30.0) -> None:
        self.settings, self.window_s, self.timeout_s = settings, window_s, timeout_s
        self._read_to: dict[TopicPartition, int] = {}
        """Per partition, the offset up to which a completed recall read."""

    def recall(self) -> set[str]:
        """Ids of the events written to the domain topics in the window (by broker
        timestamp) not returned by an earlier call. KafkaError (or TimeoutError) if
        the log cannot be read in `timeout_s`: the caller must then not claim to know."""
        if self.window_s <= 0:
            return set()
        consumer = KafkaConsumer(bootstrap_servers=self.settings.kafka_bootstrap_servers,
                                 group_id=None, enable_auto_commit=False,
                                 client_id="switchboard-ingest-recall", max_poll_records=10_000,
                                 fetch_max_bytes=64 * 1024 * 1024,
                                 request_timeout_ms=int(self.timeout_s * 1000))
        try:
            ends = _ends(consumer, self.settings)
            ids = set(_ids(consumer, self._starts(consumer, ends), ends,
                           time.monotonic() + self.timeout_s))
        finally:
            consumer.close()
        self._read_to.update(ends)
        return ids

    def _starts(self, consumer: KafkaConsumer,
                ends: dict[TopicPartition, int]) -> dict[TopicPartition, int]:
        since_ms = int((time.time() - self.window_s) * 1000)
        in_window = consumer.offsets_for_times({tp: since_ms for tp in ends})
        starts = {}
        for tp, found in in_window.items():
            if found is None:
                continue
            read_to = self._read_to.get(tp, 0)
            # A log that now ends before where we read to was recreated: read its window.
            starts[tp] = max(found.offset, read_to if read_to <= ends[tp] else 0)
        return starts


def ids_on_log(settings: Settings, window_s: float, timeout_s: float = 30.0) -> set[str]:
    """Ids of the events written to the domain topics in the last `window_s` seconds."""
    return IdsOnLog(settings, window_s, timeout_s).recall()


def _ends(consumer: KafkaConsumer, settings: Settings) -> dict[TopicPartition, int]:
    partitions = [TopicPartition(topic, p) for topic in map(settings.topic, sorted(DOMAIN_TOPICS))
                  for p in sorted(consumer.partitions_for_topic(topic) or ())]
    if not partitions:
        raise KafkaError("no partitions known for the domain topics")
    return consumer.end_offsets(partitions)


def _ids(consumer: KafkaConsumer, starts: dict[TopicPartition, int],
         ends: dict[TopicPartition, int], deadline: float) -> Iterator[str]:
    todo = {tp: ends[tp] for tp, start in starts.items() if start < ends[tp]}
    consumer.assign(list(todo))
    for tp in todo:
        consumer.seek(tp, starts[tp])
    while any(consumer.position(tp) < end for tp, end in todo.items()):
        if time.monotonic() > deadline:
            raise TimeoutError("the log's recent records not read in time")
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
