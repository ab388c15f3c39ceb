"""The simulator's I/O shell: plays the model against the clock into the ingest API.

Events due within one batching window go out together as one
`application/cloudevents-batch+json` POST; batches are sent one at a time so a
conversation's events reach the log in order. 503 (and connection errors) are
retried with exponential backoff; 413 splits the batch; 401/403/415 stop the run.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from typing import Any, TextIO

import httpx
import orjson

from schemas.codec import encode
from schemas.envelope import CONTENT_TYPE_BATCH, Envelope
from schemas.events import EventData
from services.simulator.config import SimulationConfig
from services.simulator.model import offset_of, simulate

Event = Envelope[EventData]
RETRYABLE = frozenset({502, 503, 504})
FATAL = frozenset({401, 403, 415})


class IngestRefused(RuntimeError):
    """The ingest API refuses us outright (bad key, scope or content type)."""


@dataclass(frozen=True, slots=True)
class SimulationStats:
    """What a run did: events generated and how the ingest API answered them."""

    generated: int
    accepted: int
    duplicates: int
    rejected: int
    failed: int
    batches: int
    retries: int
    elapsed: float

    def as_dict(self) -> dict[str, Any]:
        """The stats as a JSON-ready dict."""
        return asdict(self)


@dataclass(slots=True)
class _Tally:
    generated: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    failed: int = 0
    batches: int = 0
    retries: int = 0


def _body(batch: Sequence[Event]) -> bytes:
    return b"[" + b",".join(encode(event) for event in batch) + b"]"


def _error_text(response: httpx.Response) -> str:
    try:
        error = orjson.loads(response.content)["error"]
        return f"{error['code']}: {error['message']} {error.get('details', [])[:3]}"
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return response.text[:300]


class _Poster:
    def __init__(self, client: httpx.AsyncClient, tally: _Tally, log: TextIO,
                 max_retries: int) -> None:
        self.client, self.tally, self.log, self.max_retries = client, tally, log, max_retries

    async def post(self, batch: Sequence[Event]) -> None:
        """Deliver one batch, retrying what the server says to retry."""
        delay = 0.1
        for attempt in range(self.max_retries + 1):
            try:
                response = await self.client.post("/v1/events", content=_body(batch))
            except httpx.TransportError as exc:
                status, why = 0, f"{type(exc).__name__}: {exc}"
            else:
                status, why = response.status_code, ""
                if status == 202:
                    self._count(response, len(batch))
                    return
                if status == 413 and len(batch) > 1:
                    half = len(batch) // 2
                    await self.post(batch[:half])
                    await self.post(batch[half:])
                    return
                why = _error_text(response)
                if status in FATAL:
                    raise IngestRefused(f"ingest answered {status}: {why}")
                if status not in RETRYABLE:
                    self.tally.rejected += len(batch)
                    print(f"simulator: batch of {len(batch)} rejected ({status}): {why}",
                          file=self.log)
                    return
            if attempt < self.max_retries:
                self.tally.retries += 1
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
        self.tally.failed += len(batch)
        print(f"simulator: gave up on a batch of {len(batch)} after {self.max_retries} retries "
              f"(last: {status} {why})", file=self.log)

    def _count(self, response: httpx.Response, size: int) -> None:
        self.tally.batches += 1
        try:
            body = orjson.loads(response.content)
            self.tally.accepted += len(body.get("accepted", []))
            self.tally.duplicates += len(body.get("duplicates", []))
        except (orjson.JSONDecodeError, AttributeError):
            self.tally.accepted += size


def _take_due(events: Iterator[Event], head: Event | None, config: SimulationConfig,
              until: float | None, limit: int) -> tuple[list[Event], Event | None]:
    """Events up to simulated offset `until` (all, when None), at most `limit`, plus the next."""
    batch: list[Event] = []
    while head is not None and len(batch) < limit and (
            until is None or offset_of(config, head) <= until):
        batch.append(head)
        head = next(events, None)
    return batch, head


async def run_simulation(
    config: SimulationConfig, base_url: str, api_key: str, *, speed: float = 1.0,
    as_fast_as_possible: bool = False, batch_window: float = 0.05, max_batch: int = 500,
    max_retries: int = 10, progress: TextIO = sys.stderr, progress_interval: float = 5.0,
    transport: httpx.AsyncBaseTransport | None = None,
) -> SimulationStats:
    """Post the model's events to `POST {base_url}/v1/events` in (compressed) real time.

    Simulated time runs `speed` times faster than the wall clock; with
    `as_fast_as_possible` the clock is ignored and full batches go out back to back.
    """
    if speed <= 0 or max_batch < 1:
        raise ValueError("speed must be positive and max_batch at least 1")
    loop = asyncio.get_running_loop()
    tally = _Tally()
    headers = {"Authorization": f"Bearer {api_key}", "Content-Type": CONTENT_TYPE_BATCH}
    counted = _counting(simulate(config), tally)
    began = last_report = loop.time()
    head = next(counted, None)
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=30.0,
                                 transport=transport) as client:
        poster = _Poster(client, tally, progress, max_retries)
        while head is not None:
            until: float | None = None
            if not as_fast_as_possible:
                wait = began + offset_of(config, head) / speed - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                until = (loop.time() - began + batch_window) * speed
            batch, head = _take_due(counted, head, config, until, max_batch)
            await poster.post(batch)
            if loop.time() - last_report >= progress_interval:
                _report(progress, tally, config, batch[-1], loop.time() - began)
                last_report = loop.time()
    stats = SimulationStats(**asdict(tally), elapsed=loop.time() - began)
    print(f"simulator: done {stats.as_dict()}", file=progress)
    return stats


def _counting(events: Iterator[Event], tally: _Tally) -> Iterator[Event]:
    for event in events:
        tally.generated += 1
        yield event


def _report(out: TextIO, tally: _Tally, config: SimulationConfig, last: Event,
            elapsed: float) -> None:
    sent = tally.accepted + tally.duplicates
    print(f"simulator: t={offset_of(config, last):.0f}/{config.duration:.0f}s sim, "
          f"{sent} sent ({sent / max(elapsed, 1e-9):.0f}/s), {tally.duplicates} duplicates, "
          f"{tally.rejected} rejected, {tally.failed} failed, {tally.retries} retries",
          file=out, flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    """`switchboard simulate [flags]`: the command line lives in `services.simulator.cli`."""
    from services.simulator.cli import main as cli_main  # lazy: cli imports this module

    return cli_main(argv)
