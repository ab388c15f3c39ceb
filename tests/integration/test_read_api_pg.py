"""The read API over PostgreSQL, mounted in the ingest app: conversations, queues, agents."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from projections.postgres.projector import run_projector
from projections.postgres.sample_log import sample_log
from projections.replay import fold
from schemas.codec import encode
from schemas.topics import AGENTS, CONVERSATIONS
from services.ingest.app import create_app
from services.runtime.kafka_clients import ensure_topics, sync_producer
from services.runtime.settings import ALL_SCOPES, ApiKey, Settings

pytestmark = pytest.mark.integration
AUTH = {"Authorization": "Bearer reader"}


def test_read_endpoints_answer_from_the_projected_rows(settings: Settings, fresh_db: str) -> None:
    ensure_topics(settings)
    cfg = dataclasses.replace(settings, database_url=fresh_db,
                              api_keys=(ApiKey("reader", frozenset({"read"})),
                                        ApiKey("writer", ALL_SCOPES - {"read"})))
    prefix = f"r{uuid.uuid4().hex[:6]}-"
    events = sample_log(60, 6, seed=31, start=datetime(2025, 6, 1, tzinfo=UTC), prefix=prefix)
    producer = sync_producer(cfg, "test-read-api")
    for e in events:
        topic = AGENTS if e.type.startswith("cc.agent.") else CONVERSATIONS
        producer.send(topic, key=e.subject.encode(), value=encode(e))
    producer.flush(timeout=30)
    producer.close()
    run_projector(cfg, until_caught_up=True)
    expected = fold(events)
    resolved = next(s for s in expected.conversations.values() if s.phase == "resolved")

    with TestClient(create_app(cfg)) as client:
        got = client.get(f"/v1/conversations/{resolved.conversation_id}", headers=AUTH)
        assert got.status_code == 200
        body = got.json()
        assert (body["phase"], body["agent_id"], body["messages_in"]) == (
            resolved.phase, resolved.agent_id, resolved.messages_in)
        assert body["resolved_at"] == resolved.resolved_at.isoformat().replace("+00:00", "Z")

        missing = client.get(f"/v1/conversations/{prefix}nope", headers=AUTH)
        assert missing.status_code == 404
        assert missing.json()["error"]["code"] == "not_found"
        assert missing.json()["error"]["details"] == []

        assert client.get("/v1/queues").status_code == 401
        writer = {"Authorization": "Bearer writer"}
        assert client.get("/v1/queues", headers=writer).status_code == 403
        queues = {q["queue"]: q for q in client.get("/v1/queues", headers=AUTH).json()["queues"]}
        for name, state in expected.queues.items():
            if state.waiting:
                assert queues[name]["waiting"] >= len(state.waiting)
                assert queues[name]["oldest_wait_s"] > 0

        agents = client.get("/v1/agents", headers=AUTH).json()["agents"]
        mine = {a["agent_id"]: a for a in agents if a["agent_id"].startswith(prefix)}
        assert set(mine) == set(expected.agents)
        for aid, state in expected.agents.items():
            assert mine[aid]["status"] == state.status
            assert mine[aid]["total_load"] == sum(len(c) for c in state.holding.values())
        available = client.get("/v1/agents", params={"status": "available"}, headers=AUTH).json()
        assert available["agents"] and {a["status"] for a in available["agents"]} == {"available"}
