"""Every error class of the ingest API answers the one error shape (issue 2 §3)."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
import pytest

from schemas.codec import to_obj
from schemas.events.conversation import MessageReceived
from services.ingest.app import create_app, default_publisher
from services.ingest.stamp import Stamp
from services.runtime.settings import ALL_SCOPES, ApiKey, Settings

pytestmark = pytest.mark.integration

WRITER = {"Authorization": "Bearer test-writer"}
CE = {"Content-Type": "application/cloudevents+json", **WRITER}
BATCH = {"Content-Type": "application/cloudevents-batch+json", **WRITER}
LIMIT = 64 * 1024


@pytest.fixture(scope="module")
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    keys = (ApiKey("test-writer", ALL_SCOPES), ApiKey("test-reader", frozenset({"read"})))
    limited = dataclasses.replace(settings, api_keys=keys, max_body_bytes=LIMIT, max_batch=100)
    app = create_app(limited, default_publisher(limited, send_timeout_s=10))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://ingest") as http:
            yield http


def event() -> dict[str, Any]:
    data = MessageReceived(message_id=str(uuid.uuid4()), text="hi")
    envelope = Stamp(now=datetime.now(UTC), source="test").event(data, f"conv-{uuid.uuid4()}")
    return orjson.loads(orjson.dumps(to_obj(envelope)))


def error_of(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code
    for detail in body["error"]["details"]:
        assert set(detail) == {"index", "path", "problem"}
    return body["error"]


async def test_malformed_json_is_400(client: httpx.AsyncClient) -> None:
    response = await client.post("/v1/events", content=b'{"id": ', headers=CE)
    assert error_of(response, 400, "malformed_json")["details"][0]["index"] is None


async def test_an_unknown_type_is_400_with_its_batch_index(client: httpx.AsyncClient) -> None:
    batch = [event(), {**event(), "type": "cc.conversation.teleported.v1"}]
    error = error_of(await client.post("/v1/events", json=batch, headers=BATCH), 400,
                     "unknown_type")
    assert [(d["index"], d["path"]) for d in error["details"]] == [(1, "/type")]


async def test_a_schema_violation_is_400_with_its_path(client: httpx.AsyncClient) -> None:
    bad = event()
    del bad["data"]["message_id"]
    error = error_of(await client.post("/v1/events", json=bad, headers=CE), 400,
                     "schema_violation")
    assert error["details"][0]["index"] is None
    assert error["details"][0]["path"] == "/data"
    assert "message_id" in error["details"][0]["problem"]


async def test_batch_size_limits_are_400(client: httpx.AsyncClient) -> None:
    error_of(await client.post("/v1/events", json=[], headers=BATCH), 400, "empty_batch")
    too_many = [event() for _ in range(101)]
    error_of(await client.post("/v1/events", json=too_many, headers=BATCH), 400,
             "batch_too_large")


async def test_a_typed_body_violation_is_400_schema_violation(client: httpx.AsyncClient) -> None:
    body = {"channel": "pigeon", "customer_id": "c", "queue": "q", "priority": 11}
    response = await client.post("/v1/conversations", json=body, headers=WRITER)
    error = error_of(response, 400, "schema_violation")
    assert {d["path"] for d in error["details"]} == {"/channel", "/priority"}
    malformed = await client.post("/v1/conversations", content=b"{", headers={
        **WRITER, "Content-Type": "application/json"})
    error_of(malformed, 400, "malformed_json")


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer nope"},
                                     {"Authorization": "test-writer"}])
async def test_no_or_a_wrong_key_is_401(client: httpx.AsyncClient,
                                       headers: dict[str, str]) -> None:
    response = await client.post("/v1/events", json=event(), headers={
        "Content-Type": "application/cloudevents+json", **headers})
    error_of(response, 401, "unauthorized")
    error_of(await client.post("/v1/agents/a1/logout", headers=headers), 401, "unauthorized")


@pytest.mark.parametrize("path", ["/v1/events", "/v1/conversations"])
async def test_no_key_is_401_before_the_body_is_read(client: httpx.AsyncClient, path: str) -> None:
    response = await client.post(path, content=b"{not json", headers={
        "Content-Type": "application/json"})
    error_of(response, 401, "unauthorized")
    big = b"x" * (LIMIT + 1)
    error_of(await client.post(path, content=big, headers={"Content-Type": "application/json"}),
             401, "unauthorized")


async def test_health_and_the_api_document_need_no_key(client: httpx.AsyncClient) -> None:
    assert (await client.get("/openapi.json")).status_code == 200
    assert (await client.get("/healthz")).status_code == 200


async def test_a_key_without_the_scope_is_403(client: httpx.AsyncClient) -> None:
    reader = {"Authorization": "Bearer test-reader"}
    response = await client.post("/v1/events", json=event(), headers={
        "Content-Type": "application/cloudevents+json", **reader})
    error_of(response, 403, "forbidden")
    error_of(await client.post("/v1/agents/a1/logout", headers=reader), 403, "forbidden")


async def test_a_body_over_the_limit_is_413(client: httpx.AsyncClient) -> None:
    big = event()
    big["data"]["text"] = "x" * LIMIT
    error_of(await client.post("/v1/events", json=big, headers=CE), 413, "payload_too_large")


async def test_a_body_over_the_limit_without_content_length_is_413(
        client: httpx.AsyncClient) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"text": "'
        for _ in range(LIMIT // 1024 + 1):
            yield b"x" * 1024
        yield b'"}'

    for path in ("/v1/events", "/v1/conversations/c1/messages"):
        response = await client.post(path, content=chunks(), headers=CE)
        assert "content-length" not in response.request.headers
        error_of(response, 413, "payload_too_large")


async def test_a_wrong_content_type_is_415(client: httpx.AsyncClient) -> None:
    response = await client.post("/v1/events", content=orjson.dumps(event()),
                                 headers={"Content-Type": "text/plain", **WRITER})
    error_of(response, 415, "unsupported_media_type")


async def test_unknown_routes_answer_the_error_shape(client: httpx.AsyncClient) -> None:
    error_of(await client.get("/v1/nothing-here", headers=WRITER), 404, "not_found")
    # Without a key nothing under /v1/ is told apart, not even which routes exist.
    error_of(await client.get("/v1/nothing-here"), 401, "unauthorized")


async def test_health_and_readiness(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200 and ready.json() == {"status": "ready"}


async def test_the_openapi_document_describes_the_error_shape(client: httpx.AsyncClient) -> None:
    doc = (await client.get("/openapi.json")).json()
    assert "ErrorBody" in doc["components"]["schemas"]
    responses = doc["paths"]["/v1/events"]["post"]["responses"]
    assert {"202", "400", "401", "403", "413", "415", "503"} <= set(responses)
    assert responses["503"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ErrorBody"}


# Hostile values (issue 12 §1): each is refused 400 with its path, none is a 500.

@pytest.mark.parametrize(("route", "body", "path"), [
    ("/v1/agents/a1/login", {"capacity": {"chat": -1}}, "/capacity/chat"),
    ("/v1/agents/a1/login", {"capacity": {"chat": 1_000_000_000_000}}, "/capacity/chat"),
    ("/v1/agents/a1/login", {"skills": {"billing": 2**70}}, "/skills/billing"),
    ("/v1/agents/a1/login", {"languages": ["en\u0000"]}, "/languages/0"),
    ("/v1/agents/a1/login", {"priority": 1}, "/priority"),
    ("/v1/agents/a1/skills", {"skills": {"billing": "5"}}, "/skills/billing"),
    ("/v1/conversations", {"channel": "chat", "customer_id": "c", "queue": "q",
                           "required_skills": {"billing": 10**30}}, "/required_skills/billing"),
    ("/v1/conversations", {"channel": "chat", "customer_id": "c\u0000", "queue": "q"},
     "/customer_id"),
    ("/v1/conversations", {"channel": "chat", "customer_id": "c", "queue": "q",
                           "priority": True}, "/priority"),
    ("/v1/conversations/c1/messages", {"from": "customer", "text": "hi\u0000"}, "/text"),
])
async def test_a_hostile_value_is_refused_at_its_path(
        client: httpx.AsyncClient, route: str, body: dict[str, Any], path: str) -> None:
    response = await client.post(route, json=body, headers=WRITER) if "skills" not in route \
        else await client.put(route, json=body, headers=WRITER)
    paths = [d["path"] for d in error_of(response, 400, "schema_violation")["details"]]
    assert path in paths


@pytest.mark.parametrize("subject", ["c\u0000", "c\n", "\u0085"])
async def test_an_identifier_with_a_control_character_is_refused(
        client: httpx.AsyncClient, subject: str) -> None:
    response = await client.post("/v1/events", json={**event(), "subject": subject}, headers=CE)
    assert [d["path"] for d in error_of(response, 400, "schema_violation")["details"]] \
        == ["/subject"]


async def test_a_time_far_in_the_future_is_refused(client: httpx.AsyncClient) -> None:
    response = await client.post("/v1/events", json={**event(), "time": "9999-12-31T23:59:59Z"},
                                 headers=CE)
    assert [d["path"] for d in error_of(response, 400, "schema_violation")["details"]] \
        == ["/time"]
    ahead = (datetime.now(UTC) + timedelta(minutes=10)).isoformat()
    response = await client.post("/v1/events", json=[event(), {**event(), "time": ahead}],
                                 headers=BATCH)
    details = error_of(response, 400, "clock_skew")["details"]
    assert [(d["index"], d["path"]) for d in details] == [(1, "/time")]
    response = await client.post("/v1/agents/a1/logout", json={"time": ahead}, headers=WRITER)
    assert [d["path"] for d in error_of(response, 400, "clock_skew")["details"]] == ["/time"]


async def test_a_backfilled_and_a_slightly_early_time_are_accepted(
        client: httpx.AsyncClient) -> None:
    soon = (datetime.now(UTC) + timedelta(minutes=2)).isoformat()
    for time in ("2001-02-03T04:05:06+01:00", soon):
        response = await client.post("/v1/events", json={**event(), "time": time}, headers=CE)
        assert response.status_code == 202, response.text
