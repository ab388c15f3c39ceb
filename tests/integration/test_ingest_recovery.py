"""Kafka stopped: the ingest answers 503 (never 202), then recovers by itself once it is back."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson
import pytest
from aiokafka import AIOKafkaConsumer

from schemas.codec import decode, to_obj
from schemas.events.conversation import MessageReceived
from schemas.topics import CONVERSATIONS
from services.infra.kafka_local import LocalKafka
from services.ingest.app import create_app, default_publisher
from services.ingest.stamp import Stamp
from services.runtime.settings import Settings

pytestmark = pytest.mark.integration

CE = {"Content-Type": "application/cloudevents+json", "Authorization": "Bearer dev-key"}


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    # A short send timeout keeps the outage test quick; settings carry the dev key.
    app = create_app(settings, default_publisher(settings, send_timeout_s=3))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://ingest") as http:
            yield http


def message_event(conversation_id: str) -> dict[str, Any]:
    stamp = Stamp(now=datetime.now(UTC), source="test/ingest")
    event = stamp.event(MessageReceived(message_id=str(uuid.uuid4()), text="are you there?"),
                        conversation_id)
    return orjson.loads(orjson.dumps(to_obj(event)))


async def ids_on_log(settings: Settings, key: str) -> list[str]:
    """Ids of every event of `key` on cc.conversations, read up to the end offsets of now."""
    consumer = AIOKafkaConsumer(settings.topic(CONVERSATIONS),
                                bootstrap_servers=settings.kafka_bootstrap_servers,
                                enable_auto_commit=False, auto_offset_reset="earliest")
    await consumer.start()
    try:
        deadline = time.monotonic() + 30
        while not consumer.assignment():
            assert time.monotonic() < deadline, "no partitions assigned in 30 s"
            await consumer.getmany(timeout_ms=100)
        parts = sorted(consumer.assignment())
        await consumer.seek_to_beginning(*parts)
        end = await consumer.end_offsets(parts)
        ids: list[str] = []
        while any([await consumer.position(tp) < end[tp] for tp in parts]):
            assert time.monotonic() < deadline, "topic not read to its end in 30 s"
            for batch in (await consumer.getmany(timeout_ms=500)).values():
                ids.extend(decode(r.value).id for r in batch if r.key == key.encode())
        return ids
    finally:
        await consumer.stop()


async def test_kafka_down_is_503_then_the_ingest_recovers(
        client: httpx.AsyncClient, kafka_broker: LocalKafka, settings: Settings) -> None:
    conversation = f"conv-{uuid.uuid4()}"
    before, during = message_event(conversation), message_event(conversation)
    assert (await client.post("/v1/events", json=before, headers=CE)).status_code == 202

    await asyncio.to_thread(kafka_broker.stop)
    refused = await client.post("/v1/events", json=during, headers=CE)
    assert refused.status_code == 503, refused.text
    assert refused.json()["error"]["code"] == "kafka_unavailable"
    assert int(refused.headers["Retry-After"]) > 0
    assert (await client.get("/readyz")).status_code == 503

    await asyncio.to_thread(kafka_broker.start)
    deadline = time.monotonic() + 60
    while (retry := await client.post("/v1/events", json=during, headers=CE)).status_code != 202:
        assert retry.status_code == 503, retry.text
        assert time.monotonic() < deadline, "the ingest did not recover within 60 s"
        await asyncio.sleep(0.5)  # a client's back-off between retries, not synchronization
    assert retry.json() == {"accepted": [during["id"]], "duplicates": []}
    assert (await client.get("/readyz")).status_code == 200
    assert await ids_on_log(settings, conversation) == [before["id"], during["id"]]
