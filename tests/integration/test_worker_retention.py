"""A closed conversation leaves the worker's live table after the horizon, with a tombstone
on the compacted changelog, and a restarted worker does not load it again."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
from log_support import produce
from tests_support import ROOT, child_env, latest_by_key, print_tail, stop_process

from schemas import deadletter
from schemas.envelope import new_event
from schemas.events import EventData
from schemas.events.conversation import (
    ConversationStarted,
    MessageReceived,
    Queued,
    Reopened,
    Resolved,
)
from schemas.topics import DEADLETTER, PROJECTION_CONVERSATIONS
from services.runtime.settings import Settings


@contextmanager
def running_worker(settings: Settings, app_id: str, log: Path,
                   **env: str) -> Iterator[subprocess.Popen[bytes]]:
    """`switchboard worker` as a child process, stopped on the way out."""
    environ = child_env(settings, SWITCHBOARD_WORKER_ID=app_id, **env)
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "services.cli.main", "worker"],
                                env=environ, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    try:
        yield proc
    finally:
        stop_process(proc)
        print_tail(log)


def _state(record: Any) -> dict[str, Any] | None:
    return None if record.value is None else orjson.loads(record.value)


def test_a_closed_conversation_leaves_the_table_and_a_restarted_worker_does_not_load_it(
        settings: Settings, tmp_path: Path) -> None:
    run, app_id = uuid.uuid4().hex[:8], f"worker-retention-{uuid.uuid4().hex[:8]}"
    closed, still_open = f"{run}-closed", f"{run}-open"
    now = datetime.now(UTC)

    def event(data: EventData, subject: str, second: int = 0) -> Any:
        return new_event(data, subject=subject, source="test", time=now + timedelta(seconds=second))

    start = ConversationStarted(channel="chat", mode="sync", customer_id="x", queue=f"q-{run}")
    produce(settings, [event(start, closed), event(Queued(queue=f"q-{run}"), closed, 1),
                       event(Resolved(resolved_by="customer"), closed, 2),
                       event(start, still_open), event(Queued(queue=f"q-{run}"), still_open, 1)])

    def swept(records: dict[bytes, Any]) -> bool:
        return (closed.encode() in records and records[closed.encode()].value is None
                and still_open.encode() in records)

    # A horizon of 2 s, looked at twice a second: the worker sweeps the closed conversation
    # once its records are committed, and leaves the open one.
    with running_worker(settings, app_id, tmp_path / "first.log", SWITCHBOARD_CLOSED_HORIZON_S="2",
                        SWITCHBOARD_SWEEP_EVERY_S="0.5") as first:
        changelog = latest_by_key(settings, PROJECTION_CONVERSATIONS, swept)
        assert first.poll() is None
    kept = _state(changelog[still_open.encode()])
    assert kept is not None and kept["phase"] == "queued"

    # Restarted with the default horizon (8 days, so its own sweep removes nothing of this
    # test's): it recovers the table from the changelog, where the closed conversation is
    # a tombstone. A reopen finds no conversation and is dead-lettered; the open one is
    # there and takes its next message.
    with running_worker(settings, app_id, tmp_path / "second.log") as second:
        produce(settings, [event(Reopened(), closed, 3),
                           event(MessageReceived(message_id="m1"), still_open, 3)])

        def open_took_the_message(records: dict[bytes, Any]) -> bool:
            state = _state(records[still_open.encode()]) if still_open.encode() in records else None
            return state is not None and state["messages_in"] == 1

        dead = latest_by_key(settings, DEADLETTER,
                             lambda r: closed.encode() in r)
        changelog = latest_by_key(settings, PROJECTION_CONVERSATIONS,
                                  open_took_the_message)
        assert second.poll() is None
    headers = {k: v.decode() for k, v in dead[closed.encode()].headers}
    assert headers[deadletter.REASON] == "unknown_conversation"
    assert changelog[closed.encode()].value is None  # never loaded again, never re-created
