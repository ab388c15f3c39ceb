"""The simulator driver against a stand-in ingest server over real HTTP.

The stand-in (Starlette under uvicorn on an ephemeral loopback port) records
every batch and can answer 503 or 401 first, so retries and refusals are real.
"""

from __future__ import annotations

import asyncio
import io
import socket
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from schemas.codec import from_obj
from services.simulator.config import SimulationConfig
from services.simulator.driver import IngestRefused, run_simulation
from services.simulator.model import simulate


@dataclass
class StandIn:
    url: str = ""
    batches: list[list[dict[str, Any]]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    answers: list[int] = field(default_factory=list)
    """Statuses to answer before accepting, consumed one per request."""
    seen: set[str] = field(default_factory=set)


def stand_in_app(state: StandIn) -> Starlette:
    async def post_events(request: Request) -> JSONResponse:
        body = orjson.loads(await request.body())
        state.headers.append(dict(request.headers))
        if state.answers:
            status = state.answers.pop(0)
            return JSONResponse({"error": {"code": "x", "message": "no", "details": []}},
                                status_code=status)
        state.batches.append(body)
        ids = [event["id"] for event in body]
        fresh = [i for i in ids if i not in state.seen]
        state.seen.update(ids)
        return JSONResponse({"accepted": fresh, "duplicates": [i for i in ids if i not in fresh]},
                            status_code=202)

    return Starlette(routes=[Route("/v1/events", post_events, methods=["POST"])])


@pytest.fixture
async def ingest() -> AsyncIterator[StandIn]:
    state = StandIn()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    state.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    server = uvicorn.Server(uvicorn.Config(stand_in_app(state), log_level="warning"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    deadline = asyncio.get_running_loop().time() + 10
    while not server.started:
        assert asyncio.get_running_loop().time() < deadline, "stand-in server did not start"
        await asyncio.sleep(0.01)
    yield state
    server.should_exit = True
    await task
    sock.close()


PROJECT_ROOT = Path(__file__).resolve().parents[2]
CONFIG = SimulationConfig(seed=21, rate=0.5, duration=600, agents=20)


async def test_posts_every_event_once_in_order_and_retries_503(ingest: StandIn) -> None:
    ingest.answers = [503, 503]
    log = io.StringIO()
    stats = await run_simulation(CONFIG, ingest.url, "k1", as_fast_as_possible=True,
                                 max_batch=200, progress=log)
    expected = [e.id for e in simulate(CONFIG)]
    posted = [event for batch in ingest.batches for event in batch]
    assert [e["id"] for e in posted] == expected
    assert all(len(batch) <= 200 for batch in ingest.batches)
    assert from_obj(posted[0]).id == expected[0]
    assert stats.generated == stats.accepted == len(expected)
    assert (stats.retries, stats.rejected, stats.failed, stats.duplicates) == (2, 0, 0, 0)
    assert ingest.headers[0]["authorization"] == "Bearer k1"
    assert ingest.headers[0]["content-type"] == "application/cloudevents-batch+json"
    assert "done" in log.getvalue()


async def test_a_replayed_run_is_all_duplicates(ingest: StandIn) -> None:
    await run_simulation(CONFIG, ingest.url, "k", as_fast_as_possible=True, progress=io.StringIO())
    again = await run_simulation(CONFIG, ingest.url, "k", as_fast_as_possible=True,
                                 progress=io.StringIO())
    assert again.accepted == 0 and again.duplicates == again.generated > 0


async def test_real_time_mode_follows_the_compressed_clock(ingest: StandIn) -> None:
    config = SimulationConfig(seed=5, rate=1.0, duration=60, agents=10)
    events = list(simulate(config))
    last_offset = (events[-1].time - config.start).total_seconds()
    stats = await run_simulation(config, ingest.url, "k", speed=30, progress=io.StringIO(),
                                 progress_interval=0.5)
    assert stats.accepted == len(events)
    assert stats.elapsed >= last_offset / 30 - 0.1
    # Events spread over ~2 s of wall time in 50 ms windows: many small batches.
    assert len(ingest.batches) > 10


async def test_a_refused_api_key_stops_the_run(ingest: StandIn) -> None:
    ingest.answers = [401]
    with pytest.raises(IngestRefused, match="401"):
        await run_simulation(CONFIG, ingest.url, "bad", as_fast_as_possible=True,
                             progress=io.StringIO())


async def test_a_too_large_batch_is_split(ingest: StandIn) -> None:
    ingest.answers = [413]
    stats = await run_simulation(CONFIG, ingest.url, "k", as_fast_as_possible=True,
                                 max_batch=100, progress=io.StringIO())
    assert stats.accepted == stats.generated
    assert [len(b) for b in ingest.batches[:2]] == [50, 50]


async def test_the_command_line_drives_the_server(ingest: StandIn) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "services.simulator", "--seed", "4", "--rate", "1",
        "--duration", "120", "--agents", "8", "--as-fast-as-possible", "--url", ingest.url,
        "--api-key", "k", "--start", "2025-01-06T08:00:00+00:00",
        cwd=PROJECT_ROOT, stderr=asyncio.subprocess.PIPE)
    _, stderr = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 0, stderr.decode()
    config = SimulationConfig(seed=4, rate=1, duration=120, agents=8,
                              start=datetime.fromisoformat("2025-01-06T08:00:00+00:00"))
    assert [e["id"] for b in ingest.batches for e in b] == [e.id for e in simulate(config)]
