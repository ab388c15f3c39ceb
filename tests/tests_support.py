"""Waiting on conditions with a deadline (a topic's records, or any check), and the child
processes tests start."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import httpx
from kafka import KafkaConsumer, TopicPartition

from services.runtime.settings import Settings

T = TypeVar("T")
ROOT = Path(__file__).resolve().parents[1]


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
"""A worker started by a test replays its module's topics from offset 0 (the module's
earlier tests' events) before it reaches the test's own events; only a failing test
waits this long."""


def child_env(settings: Settings, **extra: str) -> dict[str, str]:
    """The environment of a process a test starts: this module's servers and topic prefix
    (and `extra`), on top of the test run's own environment."""
    return {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap_servers,
            "DATABASE_URL": settings.database_url,
            "SWITCHBOARD_TOPIC_PREFIX": settings.topic_prefix, "PYTHONPATH": str(ROOT), **extra}


def latest_by_key(settings: Settings, topic: str, done: Callable[[dict[bytes, Any]], bool],
                  timeout_s: float = REPLAY_DEADLINE_S) -> dict[bytes, Any]:
    """Read `topic` (its logical name) from the start, keeping the latest record per key,
    until `done(records)`."""
    # Partitions assigned by hand: a subscription without a group is assigned when a
    # metadata update names the topic, and once (in CI, 2026-12-03) none did for the whole
    # wait: the consumer read nothing of a topic that held records.
    name = settings.topic(topic)
    consumer = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap_servers,
                             auto_offset_reset="earliest", enable_auto_commit=False, group_id=None)
    latest: dict[bytes, Any] = {}
    deadline = time.monotonic() + timeout_s
    try:
        while not (partitions := consumer.partitions_for_topic(name)):
            if time.monotonic() > deadline:
                raise AssertionError(f"{topic}: no partitions known within {timeout_s}s")
            time.sleep(0.1)  # polling interval of a deadline wait
        consumer.assign([TopicPartition(name, p) for p in sorted(partitions)])
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


@contextmanager
def start_ingest(env: dict[str, str], log_path: Path) -> Iterator[str]:
    """A real `python -m services.ingest` on a free port, with `env`; yields its base URL
    once it answers /healthz, and stops it (SIGTERM) at the end."""
    port = free_port()
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "services.ingest"], cwd=ROOT,
                                env={**env, "SWITCHBOARD_INGEST_PORT": str(port)},
                                stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        def answers() -> bool:
            assert proc.poll() is None, log_path.read_text()
            try:
                return httpx.get(f"{url}/healthz", timeout=1).status_code == 200
            except httpx.TransportError:
                return False
        wait_for(answers, "the ingest to answer /healthz")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def free_port() -> int:
    """A TCP port free on the loopback now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
