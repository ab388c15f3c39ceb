"""The Faust worker against the real broker: live projections and dead letters."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest
from tests_support import ROOT, child_env, latest_by_key, print_tail, stop_process

from schemas import deadletter
from schemas.codec import encode
from schemas.envelope import new_event
from schemas.events import EventData
from schemas.events.agent import AgentStatusChanged, LoggedIn
from schemas.events.conversation import Assigned, ConversationStarted, Queued, Resolved
from schemas.topics import CONVERSATIONS, DEADLETTER, PROJECTION_AGENTS, PROJECTION_QUEUES
from services.bench.offsets import GroupOffsets
from services.runtime.kafka_clients import sync_producer
from services.runtime.settings import Settings

T0 = datetime(2026, 3, 1, tzinfo=UTC)


@pytest.fixture
def worker(settings: Settings, tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    env = child_env(settings, SWITCHBOARD_WORKER_ID=f"worker-test-{uuid.uuid4().hex[:8]}")
    # A file, not a pipe nobody reads: a full pipe would block the worker's logging.
    log = tmp_path / "worker.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "services.cli.main", "worker"], env=env,
                                cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    yield proc
    stop_process(proc)
    print_tail(log)


def test_worker_keeps_live_queue_and_agent_projections(
        settings: Settings, worker: subprocess.Popen[bytes]) -> None:
    run = uuid.uuid4().hex[:8]
    queue, agent = f"q-{run}", f"agent-{run}"
    producer = sync_producer(settings, "worker-test")

    def send(data: EventData, subject: str, second: int) -> None:
        event = new_event(data, subject=subject, source="test", time=T0 + timedelta(seconds=second))
        producer.send(settings.topic_for_type(event.type), key=subject.encode(), value=encode(event))

    send(LoggedIn(skills={"billing": 5}, capacity={"messaging": 8}), agent, 0)
    send(AgentStatusChanged(status="available"), agent, 1)
    for n in range(20):
        cid = f"{run}-c{n}"
        send(ConversationStarted(channel="messaging", mode="async", customer_id="x", queue=queue), cid, 2)
        send(Queued(queue=queue, priority=n % 3), cid, 3 + n)
        if n % 4 == 0:
            send(Assigned(agent_id=agent), cid, 30)
    producer.flush()

    def queue_has_15(records: dict[bytes, object]) -> bool:
        record = records.get(queue.encode())
        return record is not None and len(orjson.loads(record.value)["waiting"]) == 15  # type: ignore[attr-defined]

    queues = latest_by_key(settings, PROJECTION_QUEUES, queue_has_15)
    waiting = orjson.loads(queues[queue.encode()].value)["waiting"]
    priorities = [w["priority"] for w in waiting]
    assert priorities == sorted(priorities, reverse=True)  # routing order: priority first

    def agent_holds_5(records: dict[bytes, object]) -> bool:
        record = records.get(agent.encode())
        if record is None:
            return False
        state = orjson.loads(record.value)  # type: ignore[attr-defined]
        return len(state["holding"].get("messaging", [])) == 5 and state["status"] == "available"

    latest_by_key(settings, PROJECTION_AGENTS, agent_holds_5)


def test_bad_events_go_to_the_dead_letter_topic_and_the_worker_goes_on(
        settings: Settings, worker: subprocess.Popen[bytes]) -> None:
    run = uuid.uuid4().hex[:8]
    producer = sync_producer(settings, "worker-test")
    garbage_key, twice_key, after_key = f"{run}-garbage", f"{run}-twice", f"{run}-after"
    conversations = settings.topic(CONVERSATIONS)
    producer.send(conversations, key=garbage_key.encode(), value=b"\x00 not an event")
    start = new_event(ConversationStarted(channel="chat", mode="sync", customer_id="x", queue="q"),
                      subject=twice_key, source="test", time=T0)
    producer.send(conversations, key=twice_key.encode(), value=encode(start))
    for second in (1, 2):
        resolved = new_event(Resolved(resolved_by="customer"), subject=twice_key, source="test",
                             time=T0 + timedelta(seconds=second))
        producer.send(conversations, key=twice_key.encode(), value=encode(resolved))
    after = new_event(ConversationStarted(channel="chat", mode="sync", customer_id="x",
                                          queue=f"q-{run}"), subject=after_key, source="test", time=T0)
    producer.send(conversations, key=after_key.encode(), value=encode(after))
    producer.send(conversations, key=after_key.encode(), value=encode(new_event(
        Queued(queue=f"q-{run}"), subject=after_key, source="test", time=T0)))
    producer.flush()

    dead = latest_by_key(settings, DEADLETTER,
                         lambda r: {garbage_key.encode(), twice_key.encode()} <= r.keys())
    garbage = dead[garbage_key.encode()]
    assert garbage.value == b"\x00 not an event"  # the original bytes, untouched
    headers = {k: v.decode() for k, v in garbage.headers}
    assert headers[deadletter.REASON] == "malformed_json"
    assert headers[deadletter.TOPIC] == f"t-worker-{CONVERSATIONS}"  # as read: with the prefix
    assert {k: v.decode() for k, v in dead[twice_key.encode()].headers}[
        deadletter.REASON] == "already_resolved"
    # The worker survived both and went on with the next events.
    latest_by_key(settings, PROJECTION_QUEUES,
                  lambda r: f"q-{run}".encode() in r)
    assert worker.poll() is None


def test_a_worker_stopped_with_sigterm_commits_what_it_applied(
        settings: Settings, tmp_path: Path) -> None:
    """Issue 12 §2: SIGTERM ends the worker within a few seconds, exit 0, with its
    consumer group's offsets past every record it folded (a restart re-folds nothing)."""
    run = uuid.uuid4().hex[:8]
    worker_id, queue = f"worker-stop-{run}", f"q-{run}"
    env = child_env(settings, SWITCHBOARD_WORKER_ID=worker_id)
    log = tmp_path / "worker.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "services.cli.main", "worker"], env=env,
                                cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    try:
        producer = sync_producer(settings, "worker-stop-test")
        sent = []
        for n in range(60):
            cid = f"{run}-c{n}"
            for data in (ConversationStarted(channel="chat", mode="sync", customer_id="x",
                                             queue=queue), Queued(queue=queue)):
                event = new_event(data, subject=cid, source="t", time=T0 + timedelta(seconds=n))
                sent.append(producer.send(settings.topic(CONVERSATIONS), key=cid.encode(),
                                          value=encode(event)))
        producer.flush()
        applied: dict[tuple[str, int], int] = {}
        for future in sent:
            meta = future.get(timeout=30)
            applied[(meta.topic, meta.partition)] = max(
                applied.get((meta.topic, meta.partition), 0), meta.offset + 1)

        def all_waiting(records: dict[bytes, object]) -> bool:
            record = records.get(queue.encode())
            return record is not None and len(
                orjson.loads(record.value)["waiting"]) == 60  # type: ignore[attr-defined]

        latest_by_key(settings, PROJECTION_QUEUES, all_waiting)
        proc.send_signal(signal.SIGTERM)
        began = time.monotonic()
        assert proc.wait(timeout=30) == 0
        assert time.monotonic() - began < 10.0
        offsets = GroupOffsets(settings, worker_id, (CONVERSATIONS,))
        try:
            committed = offsets.read()
        finally:
            offsets.close()
        assert {tp: committed.get(tp, 0) >= end for tp, end in applied.items()} == {
            tp: True for tp in applied}, (committed, applied)
    finally:
        stop_process(proc)
        print_tail(log)
