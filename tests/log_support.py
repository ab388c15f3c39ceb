"""Putting test events on the log: each on its topic, keyed by subject."""

from __future__ import annotations

from projections.dedupe import Position
from projections.replay import Sourced
from schemas.codec import encode
from schemas.envelope import Envelope
from schemas.events import EventData
from services.runtime.kafka_clients import sync_producer
from services.runtime.settings import Settings


def produce(settings: Settings, items: list[Envelope[EventData] | tuple[str, bytes, bytes]],
            client: str = "test-producer", timeout_s: float = 120.0) -> list[Sourced]:
    """Events keyed by subject on their topic; raw (topic, key, bytes) items as they are
    (`topic` a logical name). Topics are named on the cluster as `settings` say.
    Returns once the broker acknowledged all of them: the events, in the order given, each
    with the position it was written at (what an offline fold needs to equal a live one)."""
    producer = sync_producer(settings, client)
    try:
        sent = []
        for item in items:
            if isinstance(item, tuple):
                producer.send(settings.topic(item[0]), key=item[1], value=item[2])
            else:
                sent.append((item, producer.send(settings.topic_for_type(item.type),
                                                 key=item.subject.encode(), value=encode(item))))
        producer.flush(timeout=timeout_s)
        written = [(event, future.get(timeout=0)) for event, future in sent]
        return [(event, Position(meta.partition, meta.offset)) for event, meta in written]
    finally:
        producer.close()
