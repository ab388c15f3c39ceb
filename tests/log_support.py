"""Putting test events on the log: each on its topic, keyed by subject."""

from __future__ import annotations

from schemas.codec import encode
from schemas.envelope import Envelope
from schemas.events import EventData
from schemas.topics import AGENTS, CONVERSATIONS
from services.runtime.kafka_clients import sync_producer
from services.runtime.settings import Settings


def produce(settings: Settings, items: list[Envelope[EventData] | tuple[str, bytes, bytes]],
            client: str = "test-producer", timeout_s: float = 120.0) -> None:
    """Events keyed by subject on their topic; raw (topic, key, bytes) items as they are.
    Returns once the broker acknowledged all of them."""
    producer = sync_producer(settings, client)
    try:
        for item in items:
            if isinstance(item, tuple):
                producer.send(item[0], key=item[1], value=item[2])
            else:
                topic = AGENTS if item.type.startswith("cc.agent.") else CONVERSATIONS
                producer.send(topic, key=item.subject.encode(), value=encode(item))
        producer.flush(timeout=timeout_s)
    finally:
        producer.close()
