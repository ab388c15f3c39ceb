"""The read API over PostgreSQL, mounted in the ingest app: conversations, queues, agents."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from log_support import produce

from projections.conversations.state import WAITING_PHASES
from projections.postgres.projector import run_projector
from projections.postgres.sample_log import sample_log
from projections.queues.staffing import Need, staffing
from projections.replay import ReadModels, fold
from schemas.envelope import Envelope, new_event
from schemas.events import EventData
from schemas.events.agent import AgentStatusChanged, LoggedIn, LoggedOut
from schemas.events.conversation import Assigned, ConversationStarted, Queued
from schemas.events.vocabulary import AgentStatus, Channel, mode_of
from services.ingest.app import create_app
from services.runtime.settings import ALL_SCOPES, ApiKey, Settings

pytestmark = pytest.mark.integration
AUTH = {"Authorization": "Bearer reader"}


def test_read_endpoints_answer_from_the_projected_rows(settings: Settings, fresh_db: str) -> None:
    cfg = dataclasses.replace(settings, database_url=fresh_db,
                              api_keys=(ApiKey("reader", frozenset({"read"})),
                                        ApiKey("writer", ALL_SCOPES - {"read"})))
    prefix = f"r{uuid.uuid4().hex[:6]}-"
    events = sample_log(60, 6, seed=31, start=datetime(2025, 6, 1, tzinfo=UTC), prefix=prefix)
    produce(cfg, list(events), "test-read-api")
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



def test_queues_count_the_agents_eligible_and_available_for_their_work(
        settings: Settings, fresh_db: str) -> None:
    cfg = dataclasses.replace(settings, database_url=fresh_db,
                              api_keys=(ApiKey("reader", frozenset({"read"})),))
    p = f"s{uuid.uuid4().hex[:6]}-"
    # Skills and queues carry the prefix, so no other test's agents qualify.
    billing, tech = f"{p}billing", f"{p}tech"
    clock = iter(datetime(2025, 6, 2, tzinfo=UTC) + timedelta(seconds=i) for i in range(1000))

    def event(data: Any, subject: str) -> Envelope[EventData]:  # WIRE_TYPE comes from a decorator
        return new_event(data, subject=f"{p}{subject}", source="test", time=next(clock))

    def agent(name: str, skills: dict[str, int], languages: list[str], status: AgentStatus = "available",
              capacity: dict[str, int] | None = None) -> list[Envelope[EventData]]:
        return [event(LoggedIn(skills=skills, languages=languages,
                               capacity=capacity or {"chat": 1, "messaging": 2}), name),
                event(AgentStatusChanged(status=status), name)]

    def held(conv: str, channel: Channel, agent_id: str) -> list[Envelope[EventData]]:
        return [event(ConversationStarted(channel=channel, mode=mode_of(channel),
                                          customer_id="cust", queue=tech), conv),
                event(Queued(queue=tech), conv),
                event(Assigned(agent_id=f"{p}{agent_id}"), conv)]

    def waiting(conv: str, channel: Channel, queue: str, language: str,
                skills: dict[str, int]) -> list[Envelope[EventData]]:
        return [event(ConversationStarted(channel=channel, mode=mode_of(channel),
                                          customer_id="cust", queue=queue, language=language),
                      conv),
                event(Queued(queue=queue, required_skills=skills), conv)]

    events = [
        *agent("a-ok", {billing: 4}, ["fr"]),
        *agent("a-low", {billing: 2}, ["fr"]),
        *agent("a-english", {billing: 5}, ["en"]),
        *agent("a-busy", {billing: 3}, ["fr"], status="busy"),
        *agent("a-on-call", {billing: 5, tech: 2}, ["fr", "en"],
               capacity={"voice": 1, "chat": 1, "messaging": 8}),
        *agent("a-full", {tech: 3}, ["en"], capacity={"messaging": 1}),
        *agent("a-gone", {billing: 5, tech: 5}, ["fr", "en"]),
        event(LoggedOut(), "a-gone"),
        *held("c-call", "voice", "a-on-call"),
        *held("c-msg", "messaging", "a-full"),
        *waiting("c-fr", "chat", billing, "fr", {billing: 3}),
        *waiting("c-tech", "messaging", tech, "en", {tech: 2}),
    ]
    produce(cfg, list(events), "test-read-api-staffing")
    run_projector(cfg, until_caught_up=True)

    with TestClient(create_app(cfg)) as client:
        queues = {q["queue"]: q for q in client.get("/v1/queues", headers=AUTH).json()["queues"]}
    assert list(queues[billing]) == [
        "queue", "waiting", "offered", "oldest_since", "oldest_wait_s", "by_priority",
        "by_channel", "agents_eligible", "agents_available"]
    counted = {q: (r["agents_eligible"], r["agents_available"]) for q, r in queues.items()
               if q.startswith(p)}
    # billing: a-ok, a-busy (not available) and a-on-call (on a voice call: no chat now);
    # a-low lacks the level, a-english the language, a-gone logged out.
    # tech: a-on-call (messaging is not blocked by a call) and a-full (no free slot).
    assert counted == {billing: (3, 1), tech: (2, 1)}
    assert counted == queue_staffing(fold(events))


def queue_staffing(models: ReadModels) -> dict[str, tuple[int, int]]:
    """The staffing counted from the offline fold's states (what the endpoint, reading the
    stored rows, must say)."""
    needs = [Need(c.queue, c.channel, c.language, c.required_skills)
             for c in models.conversations.values() if c.phase in WAITING_PHASES]
    return {q: (s.eligible, s.available)
            for q, s in staffing(models.agents.values(), needs).items()}


def test_a_stored_value_no_reader_can_serve_is_flagged_not_a_failure(
        settings: Settings, fresh_db: str) -> None:
    """Issue 12: one agent stored with a capacity beyond `integer` took GET /v1/agents down
    for good. Rows written before the bounds (or by another writer) are served, flagged."""
    cfg = dataclasses.replace(settings, database_url=fresh_db,
                              api_keys=(ApiKey("reader", frozenset({"read"})),))
    p = f"u{uuid.uuid4().hex[:6]}-"
    t0 = datetime(2025, 6, 1, tzinfo=UTC)
    events: list[Envelope[EventData]] = [
        new_event(LoggedIn(name=n, capacity={"chat": 2}), subject=f"{p}{n}", source="t", time=t0)
        for n in ("big", "huge", "fine")]
    produce(cfg, events, "test-read-damaged")
    run_projector(cfg, until_caught_up=True)
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        conn.execute("UPDATE readmodel.agents SET capacity = '{\"chat\": 1000000000000}'"
                     " WHERE agent_id = %s", (f"{p}big",))
        conn.execute("UPDATE readmodel.agents SET skills = '{\"x\": 1180591620717411303424}',"
                     " state = '{\"damaged\": true}' WHERE agent_id = %s", (f"{p}huge",))

    with TestClient(create_app(cfg)) as client:
        got = client.get("/v1/agents", headers=AUTH)
        assert got.status_code == 200, got.text
        mine = {a["agent_id"]: a for a in got.json()["agents"] if a["agent_id"].startswith(p)}
        assert set(mine) == {f"{p}big", f"{p}huge", f"{p}fine"}
        assert mine[f"{p}big"]["channels"]["chat"]["capacity"] is None
        assert mine[f"{p}huge"]["unreadable"] == ["/skills/x"]
        assert got.json()["unreadable_rows"] == 1
        assert "unreadable" not in mine[f"{p}fine"]
        assert client.get("/v1/queues", headers=AUTH).status_code == 200
