"""`python -m services.ingest` serves real HTTP on the configured port and produces to Kafka."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import orjson
import pytest
from tests_support import ROOT, child_env

from schemas.codec import to_obj
from schemas.events.conversation import MessageReceived
from services.ingest.stamp import Stamp
from services.runtime.settings import Settings

pytestmark = pytest.mark.integration


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def ingest_url(settings: Settings, tmp_path: Path) -> Iterator[str]:
    port = free_port()
    env = child_env(settings, SWITCHBOARD_INGEST_PORT=str(port),
                    SWITCHBOARD_API_KEYS="proc-key=events:write")
    with open(tmp_path / "ingest.log", "wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "services.ingest"], cwd=ROOT, env=env,
                                stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, (tmp_path / "ingest.log").read_text()
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the ingest did not answer /healthz in 60 s"
            time.sleep(0.2)  # polling the condition above, with a deadline
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_the_ingest_process_accepts_events_over_http(ingest_url: str) -> None:
    stamp = Stamp(now=datetime.now(UTC), source="test/ingest")
    event = stamp.event(MessageReceived(message_id="m1", text="hi"), f"conv-{uuid.uuid4()}")
    response = httpx.post(f"{ingest_url}/v1/events", content=orjson.dumps(to_obj(event)),
                          headers={"Content-Type": "application/cloudevents+json",
                                   "Authorization": "Bearer proc-key"}, timeout=30)
    assert response.status_code == 202, response.text
    assert response.json() == {"accepted": [event.id], "duplicates": []}
    assert httpx.get(f"{ingest_url}/readyz", timeout=10).status_code == 200
    assert "/v1/events" in httpx.get(f"{ingest_url}/openapi.json", timeout=10).json()["paths"]
