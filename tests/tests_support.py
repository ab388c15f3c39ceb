"""Waiting on conditions with a deadline: a topic's records, or any check."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from kafka import KafkaConsumer

T = TypeVar("T")


def wait_for(check: Callable[[], T], what: str, timeout_s: float = 60.0) -> T:
    """Poll `check` until it returns something truthy, and return that; fail naming `what`."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.1)  # polling interval of a deadline wait, not synchronization
    raise AssertionError(f"timed out after {timeout_s}s waiting for {what}")


REPLAY_DEADLINE_S = 300.0
"""A worker started mid-session replays the shared test log from offset 0 (every earlier
test's events, at about 1,000 events/s on a slow 2-core machine) before it reaches the
test's own events; only a failing test waits this long."""


def latest_by_key(bootstrap: str, topic: str, done: Callable[[dict[bytes, Any]], bool],
                  timeout_s: float = REPLAY_DEADLINE_S) -> dict[bytes, Any]:
    """Read `topic` from the start, keeping the latest record per key, until `done(records)`."""
    consumer = KafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                             enable_auto_commit=False, group_id=None)
    latest: dict[bytes, Any] = {}
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            for records in consumer.poll(timeout_ms=500).values():
                for record in records:
                    latest[record.key] = record
            if done(latest):
                return latest
        raise AssertionError(f"{topic}: condition not met within {timeout_s}s; "
                             f"{len(latest)} keys seen")
    finally:
        consumer.close()


def stop_process(proc: subprocess.Popen[bytes], timeout_s: float = 30.0) -> None:
    """SIGTERM a test's child process if it still runs; SIGKILL it after `timeout_s`."""
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def print_tail(log: Path, lines: int = 40) -> None:
    """Print the end of a child process's log: pytest shows it when the test failed."""
    text = log.read_text(errors="replace").splitlines() if log.exists() else ["(no log)"]
    print(f"--- last {lines} lines of {log}", *text[-lines:], sep="\n")
