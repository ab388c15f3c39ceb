"""`python -m services.ingest` serves real HTTP on the configured port and produces to Kafka."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import orjson
import pytest
from tests_support import child_env, start_ingest

from schemas.codec import to_obj
from schemas.events.conversation import MessageReceived
from services.ingest.stamp import Stamp
from services.runtime.settings import Settings

pytestmark = pytest.mark.integration


@pytest.fixture
def ingest_url(settings: Settings, tmp_path: Path) -> Iterator[str]:
    env = child_env(settings, SWITCHBOARD_API_KEYS="proc-key=events:write")
    with start_ingest(env, tmp_path / "ingest.log") as url:
        yield url


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
