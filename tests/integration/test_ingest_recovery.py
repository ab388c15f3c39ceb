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
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.errors import KafkaTimeoutError

from schemas.codec import decode, to_obj
from schemas.events.conversation import MessageReceived
from schemas.topics import CONVERSATIONS
from services.infra.kafka_local import LocalKafka
from services.ingest.app import create_app, default_publisher
from services.ingest.ids_on_log import IdsOnLog
from services.ingest.ids_on_log import ids_on_log as log_ids
from services.ingest.publisher import Publisher
from services.ingest.stamp import Stamp
from services.runtime.settings import Settings

pytestmark = pytest.mark.integration

CE = {"Content-Type": "application/cloudevents+json", "Authorization": "Bearer dev-key"}
BATCH = {**CE, "Content-Type": "application/cloudevents-batch+json"}


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


async def _post_with(settings: Settings, publisher: Publisher, body: list[dict[str, Any]]
                     ) -> httpx.Response:
    """One request to an ingest that lives only for it (a restart between two calls)."""
    app = create_app(settings, publisher)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://ingest") as http:
            return await http.post("/v1/events", json=body, headers=BATCH)


async def test_a_retry_to_a_restarted_ingest_is_a_duplicate_not_a_second_copy(
        settings: Settings) -> None:
    """Issue 12 §4: the memory of produced ids starts empty; it is refilled from the log."""
    conversation = f"conv-{uuid.uuid4()}"
    batch = [message_event(conversation), message_event(conversation)]
    first = await _post_with(settings, default_publisher(settings), batch)
    assert first.status_code == 202, first.text
    again = await _post_with(settings, default_publisher(settings), batch)
    assert again.json() == {"accepted": [], "duplicates": [e["id"] for e in batch]}
    assert await ids_on_log(settings, conversation) == [e["id"] for e in batch]


class _AckLost(AIOKafkaProducer):
    """Writes, then reports the write as timed out: a 503 whose events did reach the log."""

    async def send(self, *args: Any, **kwargs: Any) -> asyncio.Future[Any]:
        written = await super().send(*args, **kwargs)
        lost: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

        def fail(_: asyncio.Future[Any]) -> None:
            lost.set_exception(KafkaTimeoutError("the ack was lost"))

        written.add_done_callback(fail)
        return lost


async def test_a_retried_503_whose_events_landed_is_a_duplicate_not_a_second_copy(
        settings: Settings) -> None:
    conversation = f"conv-{uuid.uuid4()}"
    batch = [message_event(conversation)]
    producers = iter([_AckLost, AIOKafkaProducer])

    def factory() -> AIOKafkaProducer:
        return next(producers)(bootstrap_servers=settings.kafka_bootstrap_servers, acks="all",
                               enable_idempotence=True)

    async def recall() -> set[str]:
        return await asyncio.to_thread(log_ids, settings, 60)

    publisher = Publisher(factory, settings.topic_for_type, send_timeout_s=5, recall=recall)
    app = create_app(settings, publisher)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://ingest") as http:
            refused = await http.post("/v1/events", json=batch, headers=BATCH)
            assert refused.status_code == 503, refused.text
            retried = await http.post("/v1/events", json=batch, headers=BATCH)
    assert retried.json() == {"accepted": [], "duplicates": [batch[0]["id"]]}
    assert await ids_on_log(settings, conversation) == [batch[0]["id"]]


async def test_each_recall_reads_only_what_was_appended_since_the_one_before(
        settings: Settings, client: httpx.AsyncClient) -> None:
    on_log = IdsOnLog(settings, 60)
    first = message_event(f"conv-{uuid.uuid4()}")
    assert (await client.post("/v1/events", json=first, headers=CE)).status_code == 202
    assert first["id"] in await asyncio.to_thread(on_log.recall)

    second = message_event(f"conv-{uuid.uuid4()}")
    assert (await client.post("/v1/events", json=second, headers=CE)).status_code == 202
    again = await asyncio.to_thread(on_log.recall)
    assert second["id"] in again
    assert first["id"] not in again, "the second recall read the window again"
