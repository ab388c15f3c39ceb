"""The ingest API against the real broker: round trips, duplicates, batches, every error class."""

from __future__ import annotations

import asyncio
import dataclasses
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson
import pytest
from aiokafka import AIOKafkaConsumer, ConsumerRecord

from schemas.codec import decode, encode, to_obj
from schemas.events.conversation import MessageReceived
from schemas.topics import AGENTS, CONVERSATIONS
from services.ingest.app import create_app, default_publisher
from services.ingest.stamp import Stamp
from services.runtime.settings import ALL_SCOPES, ApiKey, Settings

pytestmark = pytest.mark.integration

WRITER = {"Authorization": "Bearer test-writer"}
READER = {"Authorization": "Bearer test-reader"}
CE = {"Content-Type": "application/cloudevents+json", **WRITER}
BATCH = {"Content-Type": "application/cloudevents-batch+json", **WRITER}


@pytest.fixture(scope="module")
def ingest_settings(settings: Settings) -> Settings:
    keys = (ApiKey("test-writer", ALL_SCOPES), ApiKey("test-reader", frozenset({"read"})))
    return dataclasses.replace(settings, api_keys=keys)


@pytest.fixture(scope="module")
async def client(ingest_settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(ingest_settings, default_publisher(ingest_settings, send_timeout_s=10))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://ingest") as http:
            yield http


async def records(settings: Settings, topic: str, key: str) -> list[ConsumerRecord[bytes, bytes]]:
    """Every record of `key` on the topic (its logical name), read up to the end offsets of now."""
    consumer = AIOKafkaConsumer(settings.topic(topic),  # no group: every partition
                                bootstrap_servers=settings.kafka_bootstrap_servers,
                                enable_auto_commit=False, auto_offset_reset="earliest")
    await consumer.start()
    try:
        deadline = time.monotonic() + 30
        while not consumer.assignment():
            assert time.monotonic() < deadline, f"no partitions of {topic} assigned in 30 s"
            await consumer.getmany(timeout_ms=100)
        parts = sorted(consumer.assignment())
        await consumer.seek_to_beginning(*parts)
        end = await consumer.end_offsets(parts)
        found: list[ConsumerRecord[bytes, bytes]] = []
        while True:
            positions = [await consumer.position(tp) for tp in parts]
            if all(pos >= end[tp] for pos, tp in zip(positions, parts, strict=True)):
                return found
            assert time.monotonic() < deadline, "topic not read to its end in 30 s"
            for batch in (await consumer.getmany(timeout_ms=500)).values():
                found.extend(r for r in batch if r.key == key.encode())
    finally:
        await consumer.stop()


def message_event(conversation_id: str) -> dict[str, Any]:
    stamp = Stamp(now=datetime.now(UTC), source="test/ingest")
    event = stamp.event(MessageReceived(message_id=str(uuid.uuid4()), text="hello"),
                        conversation_id)
    return orjson.loads(orjson.dumps(to_obj(event)))


def assert_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code
    assert isinstance(error["message"], str) and error["message"]
    assert all(set(d) == {"index", "path", "problem"} for d in error["details"])
    return error


async def test_a_started_conversation_reaches_kafka_as_started_then_queued(
        client: httpx.AsyncClient, settings: Settings) -> None:
    body = {"channel": "chat", "customer_id": "cust-1", "queue": "billing", "priority": 2}
    response = await client.post("/v1/conversations", json=body,
                                 headers={"Authorization": "Bearer test-writer"})
    assert response.status_code == 201, response.text
    answer = response.json()
    found = await records(settings, CONVERSATIONS, answer["conversation_id"])
    events = [decode(r.value) for r in found]
    assert [e.type for e in events] == ["cc.conversation.started.v1", "cc.conversation.queued.v1"]
    assert events[0].id == answer["event_id"]
    assert [e.id for e in events] == answer["accepted"]
    assert events[0].source == "switchboard/ingest"


async def test_agent_commands_go_to_the_agents_topic(
        client: httpx.AsyncClient, settings: Settings) -> None:
    agent = f"agent-{uuid.uuid4()}"
    login = {"name": "Ann", "skills": {"billing": 5}, "capacity": {"chat": 3}}
    logged_in = await client.post(f"/v1/agents/{agent}/login", json=login, headers=WRITER)
    assert logged_in.status_code == 202
    assert (await client.put(f"/v1/agents/{agent}/capacity", json={"capacity": {"chat": 2}},
                             headers=WRITER)).status_code == 202
    assert (await client.post(f"/v1/agents/{agent}/logout", headers=WRITER)).status_code == 202
    types = [decode(r.value).type for r in await records(settings, AGENTS, agent)]
    assert types == ["cc.agent.logged_in.v1", "cc.agent.capacity_changed.v1",
                     "cc.agent.logged_out.v1"]


async def test_an_event_is_stored_in_canonical_bytes_keyed_by_subject(
        client: httpx.AsyncClient, settings: Settings) -> None:
    conversation = f"conv-{uuid.uuid4()}"
    event = message_event(conversation)
    sent = orjson.dumps(event, option=orjson.OPT_INDENT_2)  # not canonical on purpose
    response = await client.post("/v1/events", content=sent, headers=CE)
    assert response.status_code == 202, response.text
    assert response.json() == {"accepted": [event["id"]], "duplicates": []}
    [record] = await records(settings, CONVERSATIONS, conversation)
    assert record.value == encode(decode(sent))


async def test_the_same_id_twice_is_on_the_log_once(
        client: httpx.AsyncClient, settings: Settings) -> None:
    conversation = f"conv-{uuid.uuid4()}"
    event = message_event(conversation)
    first = await client.post("/v1/events", json=event, headers=CE)
    again = await client.post("/v1/events", json=[event, event], headers=BATCH)
    assert first.json() == {"accepted": [event["id"]], "duplicates": []}
    assert again.status_code == 202
    assert again.json() == {"accepted": [], "duplicates": [event["id"], event["id"]]}
    found = await records(settings, CONVERSATIONS, conversation)
    assert [decode(r.value).id for r in found] == [event["id"]]


async def test_concurrent_requests_with_the_same_id_produce_it_once(
        client: httpx.AsyncClient, settings: Settings) -> None:
    conversation = f"conv-{uuid.uuid4()}"
    event = message_event(conversation)
    answers = await asyncio.gather(*(client.post("/v1/events", json=event, headers=CE)
                                     for _ in range(5)))
    assert all(a.status_code == 202 for a in answers)
    assert sum(len(a.json()["accepted"]) for a in answers) == 1
    assert len(await records(settings, CONVERSATIONS, conversation)) == 1


async def test_a_batch_of_1000_is_accepted_whole(
        client: httpx.AsyncClient, settings: Settings) -> None:
    conversation = f"conv-{uuid.uuid4()}"
    batch = [message_event(conversation) for _ in range(1000)]
    response = await client.post("/v1/events", json=batch, headers=BATCH)
    assert response.status_code == 202, response.text
    assert response.json()["accepted"] == [e["id"] for e in batch]
    found = await records(settings, CONVERSATIONS, conversation)
    assert [decode(r.value).id for r in found] == [e["id"] for e in batch]  # order kept per key


async def test_a_batch_with_one_bad_event_is_refused_whole(
        client: httpx.AsyncClient, settings: Settings) -> None:
    conversation = f"conv-{uuid.uuid4()}"
    bad = message_event(conversation)
    bad["data"]["text"] = 42
    response = await client.post("/v1/events", json=[message_event(conversation), bad],
                                 headers=BATCH)
    error = assert_error(response, 400, "schema_violation")
    assert [(d["index"], d["path"]) for d in error["details"]] == [(1, "/data/text")]
    assert await records(settings, CONVERSATIONS, conversation) == []
