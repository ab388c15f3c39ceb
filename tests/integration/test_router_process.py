"""The router process against the real broker: offers answered through the ingest API, the
configuration reloaded without a restart, a bad configuration refused with every problem."""

from __future__ import annotations

import dataclasses
import os
import re
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import orjson
import pytest
from router_support import Event, Tail, router_process, write_config
from tests_support import ROOT, wait_for

from schemas.events.agent import AgentStatusChanged
from services.ingest.app import create_app, default_publisher
from services.runtime.settings import ALL_SCOPES, ApiKey, Settings

KEY = {"Authorization": "Bearer router-test"}


@pytest.fixture
async def ingest(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    keyed = dataclasses.replace(settings, api_keys=(ApiKey("router-test", ALL_SCOPES),))
    app = create_app(keyed, default_publisher(keyed, send_timeout_s=10))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://ingest",
                                     headers=KEY) as http:
            yield http


@pytest.fixture
def run() -> str:
    return f"rp{uuid.uuid4().hex[:6]}"


@pytest.fixture
def tail(settings: Settings, run: str) -> Iterator[Tail]:
    t = Tail(settings, f"{run}-")
    yield t
    t.close()


async def _agent(http: httpx.AsyncClient, agent_id: str, skill: str) -> None:
    r = await http.post(f"/v1/agents/{agent_id}/login", json={
        "skills": {skill: 5}, "capacity": {"chat": 1}, "languages": ["en"]})
    assert r.status_code == 202, r.text
    r = await http.post(f"/v1/agents/{agent_id}/status", json={"status": "available"})
    assert r.status_code == 202, r.text


async def _conversation(http: httpx.AsyncClient, cid: str, queue: str, skill: str) -> None:
    r = await http.post("/v1/conversations", json={
        "conversation_id": cid, "channel": "chat", "customer_id": f"{cid}-customer",
        "queue": queue, "required_skills": {skill: 3}})
    assert r.status_code == 201, r.text


def _offered_to(tail: Tail, cid: str, n: int) -> str | None:
    offers = [e for e in tail.read() if e.subject == cid and e.type.endswith(".offered.v1")]
    return offers[n - 1].data.agent_id if len(offers) >= n else None  # type: ignore[attr-defined]


async def test_offers_are_answered_through_the_ingest_api(
        settings: Settings, ingest: httpx.AsyncClient, tail: Tail, run: str,
        tmp_path: Path) -> None:
    config = write_config(tmp_path / "routing.toml", run, offer_timeout_s=60)
    queue, skill, cid = f"{run}-billing", f"{run}-billing", f"{run}-conv-1"
    with router_process(settings, config, run, "solo", tmp_path / "router.log"):
        await _agent(ingest, f"{run}-first", skill)
        await _agent(ingest, f"{run}-second", skill)
        await _conversation(ingest, cid, queue, skill)
        first = wait_for(lambda: _offered_to(tail, cid, 1), "the first offer", timeout_s=60)
        r = await ingest.post(f"/v1/conversations/{cid}/offer/decline",
                              json={"agent_id": first, "reason": "on a break"})
        assert r.status_code == 202, r.text
        second = wait_for(lambda: _offered_to(tail, cid, 2), "the offer after the decline")
        assert second != first, "the agent who declined was offered the same conversation again"
        r = await ingest.post(f"/v1/conversations/{cid}/offer/accept", json={"agent_id": second})
        assert r.status_code == 202, r.text
        wait_for(lambda: "assigned" in tail.types_of(cid), "the assignment after the accept")
    assert tail.types_of(cid) == ["started", "queued", "offered", "offer_declined", "offered",
                                  "offer_accepted", "assigned"]
    assigned = [e for e in tail.read() if e.subject == cid][-1]
    assert assigned.data.agent_id == second  # type: ignore[attr-defined]
    assert assigned.source.startswith("switchboard/router/")


async def test_an_agent_who_lets_an_offer_expire_is_set_away_until_back(
        settings: Settings, ingest: httpx.AsyncClient, tail: Tail, run: str,
        tmp_path: Path) -> None:
    config = write_config(tmp_path / "routing.toml", run, offer_timeout_s=1.5)
    queue, skill, cid, agent = f"{run}-billing", f"{run}-billing", f"{run}-conv-1", f"{run}-a1"

    def statuses() -> list[Event]:
        return [e for e in tail.read()
                if e.subject == agent and isinstance(e.data, AgentStatusChanged)]

    with router_process(settings, config, run, "solo", tmp_path / "router.log"):
        await _agent(ingest, agent, skill)
        await _conversation(ingest, cid, queue, skill)
        wait_for(lambda: "offer_expired" in tail.types_of(cid), "the offer to expire")
        away = wait_for(lambda: statuses()[1:], "the router to set the agent away")
        r = await ingest.post(f"/v1/agents/{agent}/status", json={"status": "available"})
        assert r.status_code == 202, r.text
        wait_for(lambda: tail.types_of(cid).count("offered") == 2,
                 "the offer again once the agent is back and the exclusion is over")
    assert (away[0].data.status, away[0].data.aux_code) == ("away", "missed_offer")
    assert away[0].source.startswith("switchboard/router/")
    assert [e.data.status for e in statuses()][:3] == ["available", "away", "available"]


async def test_a_restarted_router_reads_on_from_its_snapshot(
        settings: Settings, ingest: httpx.AsyncClient, tail: Tail, run: str,
        tmp_path: Path) -> None:
    config = write_config(tmp_path / "routing.toml", run, offer_timeout_s=60)
    queue, skill, snapshot = f"{run}-billing", f"{run}-billing", tmp_path / "router.snapshot"
    first, second = tmp_path / "router-1.log", tmp_path / "router-2.log"
    c1, c2 = f"{run}-conv-1", f"{run}-conv-2"
    with router_process(settings, config, run, "solo", first, "--snapshot", str(snapshot)):
        await _agent(ingest, f"{run}-a1", skill)
        await _conversation(ingest, c1, queue, skill)
        offered = wait_for(lambda: _offered_to(tail, c1, 1), "the offer of the first router")
    assert "no snapshot at" in first.read_text()
    assert snapshot.stat().st_size > 0, "no snapshot written on the way out"

    with router_process(settings, config, run, "solo", second, "--snapshot", str(snapshot)):
        wait_for(lambda: "caught up with the log" in second.read_text(), "the second router")
        r = await ingest.post(f"/v1/conversations/{c1}/offer/accept", json={"agent_id": offered})
        assert r.status_code == 202, r.text
        wait_for(lambda: "assigned" in tail.types_of(c1), "the restored router to assign")
        await _agent(ingest, f"{run}-a2", skill)
        await _conversation(ingest, c2, queue, skill)
        wait_for(lambda: _offered_to(tail, c2, 1), "an offer of a new conversation")
    assert "restored snapshot" in second.read_text()
    # The open offer came through the restart: not offered again, and a1 (holding c1 on
    # chat, one at a time) was not offered the next one.
    assert tail.types_of(c1) == ["started", "queued", "offered", "offer_accepted", "assigned"]
    assert _offered_to(tail, c2, 1) == f"{run}-a2"

    # The same offsets over other records (a log recreated since) must not be trusted.
    head, _, body = snapshot.read_bytes().partition(b"\n")
    header = orjson.loads(head)
    header["marks"] = [[t, p, o, None if b is None else b + 1] for t, p, o, b in header["marks"]]
    assert any(b is not None for *_, b in header["marks"])
    snapshot.write_bytes(orjson.dumps(header) + b"\n" + body)
    third = tmp_path / "router-3.log"
    with router_process(settings, config, run, "solo", third, "--snapshot", str(snapshot)):
        wait_for(lambda: "caught up with the log" in third.read_text(), "the third router")
    assert "not the one it was taken from" in third.read_text()
    # ...and the log was then read from the start: the third router saw all the second saw.
    assert _events_folded(third) >= _events_folded(second) > 0


def _events_folded(log: Path) -> int:
    """How many events the router had folded at its last snapshot (written on the way out)."""
    return int(re.findall(r"snapshot .*: (\d+) events folded, written", log.read_text())[-1])


async def test_an_unusable_snapshot_is_reported_and_the_log_replayed(
        settings: Settings, ingest: httpx.AsyncClient, tail: Tail, run: str,
        tmp_path: Path) -> None:
    config = write_config(tmp_path / "routing.toml", run, offer_timeout_s=60)
    snapshot, log = tmp_path / "router.snapshot", tmp_path / "router.log"
    snapshot.write_bytes(b"not a snapshot")
    with router_process(settings, config, run, "solo", log, "--snapshot", str(snapshot)):
        await _agent(ingest, f"{run}-a1", f"{run}-billing")
        await _conversation(ingest, f"{run}-conv-1", f"{run}-billing", f"{run}-billing")
        wait_for(lambda: _offered_to(tail, f"{run}-conv-1", 1), "routing after the replay")
    assert "not used: unreadable" in log.read_text()
    assert snapshot.read_bytes().startswith(b'{"format":1'), "the bad file was not replaced"


async def test_config_changes_apply_without_a_restart(
        settings: Settings, ingest: httpx.AsyncClient, tail: Tail, run: str,
        tmp_path: Path) -> None:
    config = write_config(tmp_path / "routing.toml", run, offer_timeout_s=60)
    log = tmp_path / "router.log"
    queue, skill = f"{run}-billing", f"{run}-billing"
    with router_process(settings, config, run, "solo", log):
        await _agent(ingest, f"{run}-a1", skill)
        await _conversation(ingest, f"{run}-conv-1", queue, skill)
        wait_for(lambda: "offered" in tail.types_of(f"{run}-conv-1"), "an offer (no auto-accept)")

        config.write_text(config.read_text() + "\n[broken\n")
        wait_for(lambda: "not reloaded" in log.read_text(), "the broken edit to be refused")

        write_config(config, run, offer_timeout_s=60, auto_accept=True)
        wait_for(lambda: "reloaded" in log.read_text().split("not reloaded")[-1],
                 "the fixed file to be reloaded")
        await _agent(ingest, f"{run}-a2", skill)
        await _conversation(ingest, f"{run}-conv-2", queue, skill)
        wait_for(lambda: "assigned" in tail.types_of(f"{run}-conv-2"), "a direct assignment")
    assert tail.types_of(f"{run}-conv-2") == ["started", "queued", "assigned"]


def test_a_bad_config_stops_the_router_with_every_problem(settings: Settings,
                                                          tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("""
[routing]
tick_ms = 1
colour = "blue"
[queues.billing]
strategy = "random"
overflow = { after_s = 10, to = "billing" }
""")
    done = subprocess.run(
        [sys.executable, "-m", "services.cli.main", "router", "--config", str(bad)],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
        env={"KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap_servers,
             "SWITCHBOARD_TOPIC_PREFIX": settings.topic_prefix, "PATH": "/usr/bin:/bin"})
    assert done.returncode == 2, done.stdout + done.stderr
    for problem in ("routing.tick_ms", "routing.colour", "queues.billing.strategy"):
        assert problem in done.stderr, done.stderr
    assert "Fix the file" in done.stderr


async def test_bad_records_on_the_log_do_not_stop_routing(
        settings: Settings, ingest: httpx.AsyncClient, tail: Tail, run: str,
        tmp_path: Path) -> None:
    from schemas.codec import encode
    from schemas.envelope import new_event
    from schemas.events.conversation import Assigned
    from schemas.topics import CONVERSATIONS
    from services.runtime.kafka_clients import sync_producer

    config = write_config(tmp_path / "routing.toml", run, offer_timeout_s=60)
    log = tmp_path / "router.log"
    queue, skill = f"{run}-billing", f"{run}-billing"
    with router_process(settings, config, run, "solo", log):
        producer = sync_producer(settings, "router-poison-test")
        producer.send(settings.topic(CONVERSATIONS), key=f"{run}-junk".encode(), value=b"{not json")
        producer.send(settings.topic(CONVERSATIONS), key=f"{run}-junk".encode(), value=b'{"type": "nope"}')
        ghost = new_event(Assigned(agent_id="nobody"), subject=f"{run}-ghost", source="test",
                          time=datetime.now(UTC))  # a decision about a conversation never started
        producer.send(settings.topic(CONVERSATIONS), key=ghost.subject.encode(), value=encode(ghost))
        producer.flush()
        producer.close()
        await _agent(ingest, f"{run}-a1", skill)
        await _conversation(ingest, f"{run}-conv-1", queue, skill)
        wait_for(lambda: "offered" in tail.types_of(f"{run}-conv-1"), "an offer after the junk")
        wait_for(lambda: "unknown_conversation" in log.read_text(), "the rejected event counted")
        wait_for(lambda: "malformed_json" in log.read_text(), "the undecodable record counted")


async def test_a_paused_router_is_fenced_once_a_standby_took_over(
        settings: Settings, ingest: httpx.AsyncClient, tail: Tail, run: str,
        tmp_path: Path) -> None:
    """Issue 12 §3: the active router is stopped (SIGSTOP) past its session timeout, the
    standby takes over and routes, the old one is continued: nothing it writes from then
    on reaches a read-committed consumer, it stands by, and the lease stays where it is."""
    config = write_config(tmp_path / "routing.toml", run, offer_timeout_s=2)
    skill, queue = f"{run}-billing", f"{run}-billing"
    names = {"a": f"{run}-ra", "b": f"{run}-rb"}  # a sorts first: a newcomer's tie goes to it
    logs = {k: tmp_path / f"router-{k}.log" for k in names}

    def said(k: str, text: str) -> bool:
        return text in logs[k].read_text(errors="replace")

    def written_by(k: str) -> list[Event]:
        return [e for e in tail.read() if e.source.endswith(f"/{names[k]}")]

    with router_process(settings, config, run, names["a"], logs["a"]) as a:
        wait_for(lambda: said("a", "caught up with the log; routing"), "router a to route")
        with router_process(settings, config, run, names["b"], logs["b"]):
            wait_for(lambda: said("b", f"{names['b']} standby"), "router b to stand by")
            await _agent(ingest, f"{run}-a1", skill)
            await _conversation(ingest, f"{run}-c1", queue, skill)
            wait_for(lambda: _offered_to(tail, f"{run}-c1", 1), "router a's offer")
            os.kill(a.pid, signal.SIGSTOP)
            try:
                before = len(written_by("a"))
                wait_for(lambda: said("b", "caught up with the log; routing"),
                         "router b to take over", timeout_s=90)
                await _agent(ingest, f"{run}-a2", skill)  # a1 lets router a's offer expire
                wait_for(lambda: any(e.type.endswith(".offered.v1") for e in written_by("b")),
                         "an offer of router b")
            finally:
                os.kill(a.pid, signal.SIGCONT)
            wait_for(lambda: said("a", "was fenced") or said("a", "does not hold the lease"),
                     "router a to step down")
            await _agent(ingest, f"{run}-a3", skill)
            await _conversation(ingest, f"{run}-c2", queue, skill)
            wait_for(lambda: _offered_to(tail, f"{run}-c2", 1), "an offer after the pause")
            assert written_by("b")[-1].subject == f"{run}-c2", "the lease went back to router a"
    assert len(written_by("a")) == before, [e.type for e in written_by("a")[before:]]
