"""HTTP -> Kafka -> Faust tables -> PostgreSQL, with every process real."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import psycopg
import pytest
from stack import Stack, running_stack
from tests_support import latest_by_key, wait_for

from schemas import deadletter
from schemas.codec import to_obj
from schemas.envelope import new_event
from schemas.events.conversation import Assigned, Offered, Resolved
from schemas.topics import DEADLETTER, PROJECTION_AGENTS, PROJECTION_CONVERSATIONS
from services.runtime.settings import Settings

NOW = datetime.now(UTC)


@pytest.fixture
def stack(settings: Settings, fresh_db: str, tmp_path: Path) -> Iterator[Stack]:
    with running_stack(settings, fresh_db, tmp_path / "logs") as running:
        yield running


def event_json(data: Any, subject: str, seconds: int) -> dict[str, Any]:
    event = new_event(data, subject=subject, source="e2e-router", time=NOW + timedelta(seconds=seconds))
    return orjson.loads(orjson.dumps(to_obj(event), option=orjson.OPT_UTC_Z))  # type: ignore[no-any-return]


def test_a_conversation_travels_from_http_to_faust_tables_and_postgres(
        stack: Stack, settings: Settings, fresh_db: str) -> None:
    run = uuid.uuid4().hex[:8]
    agent, queue = f"agent-{run}", f"billing-{run}"
    with stack.client() as http:
        assert http.post(f"/v1/agents/{agent}/login", json={
            "skills": {"billing": 7}, "capacity": {"chat": 1, "messaging": 8}}).status_code == 202
        assert http.post(f"/v1/agents/{agent}/status", json={"status": "available"}).status_code == 202
        started = http.post("/v1/conversations", json={
            "channel": "chat", "customer_id": f"cust-{run}", "queue": queue,
            "required_skills": {"billing": 3}})
        assert started.status_code == 201, started.text
        cid = started.json()["conversation_id"]
        routed = http.post("/v1/events", json=[
            event_json(Offered(agent_id=agent, expires_at=NOW + timedelta(seconds=30)), cid, 1),
            event_json(Assigned(agent_id=agent), cid, 2)])
        assert routed.status_code == 202, routed.text
        for sender, body in (("customer", {}), ("agent", {"author_id": agent})):
            reply = http.post(f"/v1/conversations/{cid}/messages",
                              json={"from": sender, "text": "hello", **body})
            assert reply.status_code == 202, reply.text
        assert http.post(f"/v1/conversations/{cid}/resolve",
                         json={"resolved_by": "agent"}).status_code == 202

        # The durable read model, through the read API.
        def resolved_row() -> dict[str, Any] | None:
            response = http.get(f"/v1/conversations/{cid}")
            row = response.json() if response.status_code == 200 else None
            return row if row and row.get("phase") == "resolved" else None

        row = wait_for(resolved_row, "the resolved conversation in PostgreSQL")
        assert (row["agent_id"], row["messages_in"], row["messages_out_agent"]) == (agent, 1, 1)

    # The live Faust tables, through their published changelogs.
    def resolved_state(records: dict[bytes, Any]) -> bool:
        record = records.get(cid.encode())
        return record is not None and orjson.loads(record.value)["phase"] == "resolved"

    latest_by_key(settings, PROJECTION_CONVERSATIONS, resolved_state)

    def agent_released(records: dict[bytes, Any]) -> bool:
        record = records.get(agent.encode())
        state = orjson.loads(record.value) if record is not None else None
        return bool(state and state["status"] == "available" and not state["holding"]
                    and state["last_released_at"])

    latest_by_key(settings, PROJECTION_AGENTS, agent_released)


def test_a_lifecycle_violation_is_dead_lettered_and_rejected_not_applied(
        stack: Stack, settings: Settings, fresh_db: str) -> None:
    run = uuid.uuid4().hex[:8]
    with stack.client() as http:
        cid = http.post("/v1/conversations", json={
            "channel": "messaging", "customer_id": f"cust-{run}", "queue": f"q-{run}"}
        ).json()["conversation_id"]
        assert http.post(f"/v1/conversations/{cid}/abandon", json={}).status_code == 202
        # Valid on its own, so the edge accepts it; impossible after the abandon.
        late = event_json(Resolved(resolved_by="agent"), cid, 5)
        assert http.post("/v1/events", json=late).status_code == 202

        dead = latest_by_key(settings, DEADLETTER,
                             lambda r: cid.encode() in r)[cid.encode()]
        assert orjson.loads(dead.value)["id"] == late["id"]
        assert dict(dead.headers)[deadletter.REASON] == b"already_abandoned"

        def rejected() -> tuple[Any, ...] | None:
            with psycopg.connect(fresh_db) as conn:
                return conn.execute(
                    "SELECT event_id, reason FROM readmodel.projection_rejects WHERE event_id = %s",
                    (late["id"],)).fetchone()

        assert wait_for(rejected, "the projector's reject row")[1] == "already_abandoned"
        assert http.get(f"/v1/conversations/{cid}").json()["phase"] == "abandoned"
