"""The live simulator's shell: runs `LiveDesks` against the wall clock and the real router.

It reads `cc.conversations` from its end (only this run's conversations matter),
feeds the desks the wall clock and those events, and publishes what they return,
in order, either through the ingest API (`via="http"`, what `make run` does) or
straight to Kafka with an idempotent producer (`via="kafka"`, what the router's
load tests do).
"""

from __future__ import annotations

import asyncio
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, replace
from datetime import UTC, datetime
from typing import Any, Protocol, TextIO

import httpx
from aiokafka import AIOKafkaConsumer

from schemas.codec import decode, encode
from schemas.envelope import CONTENT_TYPE_BATCH, Envelope
from schemas.errors import DecodeError
from schemas.events import EventData
from schemas.topics import CONVERSATIONS
from services.runtime.kafka_clients import READ_COMMITTED, async_producer
from services.runtime.settings import Settings
from services.simulator.desks import DeskConfig, LiveDesks

Event = Envelope[EventData]
STEP_S = 0.02
RETRYABLE = frozenset({502, 503, 504})
GIVE_UP_S = 120.0


class Publisher(Protocol):
    async def start(self) -> None: ...
    async def publish(self, events: Sequence[Event]) -> None: ...
    async def close(self) -> None: ...


class KafkaPublisher:
    """Straight to the topics, keyed by subject, acks=all, idempotent."""

    def __init__(self, settings: Settings) -> None:
        self.producer = async_producer(settings, "switchboard-simulator-live")
        self.topic_of = settings.topic_for_type

    async def start(self) -> None:
        await self.producer.start()

    async def publish(self, events: Sequence[Event]) -> None:
        futures = [await self.producer.send(self.topic_of(e.type), encode(e), key=e.subject.encode())
                   for e in events]
        for future in futures:
            await future

    async def close(self) -> None:
        await self.producer.stop()


class HttpPublisher:
    """Through `POST /v1/events`, retrying 503 (Kafka briefly unavailable) with backoff."""

    def __init__(self, base_url: str, api_key: str, *, record: bool = False) -> None:
        self.client = httpx.AsyncClient(base_url=base_url, timeout=30.0, headers={
            "Authorization": f"Bearer {api_key}", "Content-Type": CONTENT_TYPE_BATCH})
        self.answers: Counter[str] = Counter()
        """Requests by answer: the status code, or the transport error's name."""
        self.record = record
        self.offered: list[str] = []
        """With `record`: every event id offered, once, in order."""
        self.duplicates = 0
        """With `record`: ids the ingest answered were already on the log."""

    async def start(self) -> None:
        """Nothing to connect: the client connects on the first request."""

    async def publish(self, events: Sequence[Event]) -> None:
        if self.record:
            self.offered.extend(e.id for e in events)
        for start in range(0, len(events), 500):
            await self._post(b"[" + b",".join(encode(e) for e in events[start:start + 500]) + b"]")

    async def _post(self, body: bytes) -> None:
        delay, waited = 0.1, 0.0
        while True:
            try:
                response = await self.client.post("/v1/events", content=body)
                self.answers[str(response.status_code)] += 1
                if response.status_code == 202:
                    if self.record:
                        self.duplicates += len(response.json()["duplicates"])
                    return
                if response.status_code not in RETRYABLE:
                    raise RuntimeError(f"ingest refused live events ({response.status_code}): "
                                       f"{response.text[:300]}")
                why = f"HTTP {response.status_code}"
            except httpx.TransportError as exc:
                why = f"{type(exc).__name__}"  # the ingest is starting or restarting
                self.answers[why] += 1
            if waited > GIVE_UP_S:
                raise RuntimeError(f"ingest unavailable for {waited:.0f}s ({why}); is it running?")
            await asyncio.sleep(delay)
            waited += delay
            delay = min(delay * 2, 2.0)

    async def close(self) -> None:
        await self.client.aclose()


async def run_live(config: DeskConfig, settings: Settings, publisher: Publisher, *,
                   stop: asyncio.Event | None = None, settle_s: float = 30.0,
                   progress: TextIO = sys.stderr, progress_interval: float = 5.0) -> dict[str, Any]:
    """Run until the configured conversations have all ended (or `stop` is set); the stats.

    After arrivals end, waits at most `settle_s` for the open conversations to finish."""
    stop = stop or asyncio.Event()
    consumer = AIOKafkaConsumer(settings.topic(CONVERSATIONS),
                                bootstrap_servers=settings.kafka_bootstrap_servers,
                                group_id=None, auto_offset_reset="latest", fetch_max_wait_ms=20,
                                isolation_level=READ_COMMITTED)
    await consumer.start()
    await publisher.start()
    try:
        await _wait_assigned(consumer)
        desks = LiveDesks(config, datetime.now(UTC))
        await publisher.publish(desks.begin(datetime.now(UTC)))
        reader = asyncio.create_task(_observe(consumer, desks, config.run))
        loop = asyncio.get_running_loop()
        last_report = loop.time()
        settle_deadline: float | None = None
        while not stop.is_set() and not desks.finished():
            if not reader.done():
                await asyncio.sleep(STEP_S)
            else:
                reader.result()  # re-raise what stopped the reader
            events = desks.tick(datetime.now(UTC))
            if events:
                # Stamped as they go out, as a channel adapter stamps what it sends (the
                # desks schedule to the millisecond but run in 20 ms steps).
                sent_at = datetime.now(UTC)
                await publisher.publish([replace(e, time=max(e.time, sent_at)) for e in events])
            if not desks.arriving():
                settle_deadline = settle_deadline or loop.time() + settle_s
                if loop.time() > settle_deadline:
                    print(f"simulator-live: {desks.open_conversations()} conversations still open "
                          f"after {settle_s:.0f}s; stopping", file=progress)
                    break
            if loop.time() - last_report >= progress_interval:
                last_report = loop.time()
                print(f"simulator-live: {asdict(desks.stats)}, open {desks.open_conversations()}",
                      file=progress, flush=True)
        reader.cancel()
        await publisher.publish(desks.end(datetime.now(UTC)))
        return {**asdict(desks.stats), "open": desks.open_conversations()}
    finally:
        await consumer.stop()
        await publisher.close()


async def _wait_assigned(consumer: AIOKafkaConsumer) -> None:
    # Resolve the end offsets before the first event goes out, so nothing the router
    # answers is missed.
    while not consumer.assignment():
        await asyncio.sleep(0.05)
    for tp in consumer.assignment():
        await consumer.position(tp)


async def _observe(consumer: AIOKafkaConsumer, desks: LiveDesks, run: str) -> None:
    prefix = f"{run}-".encode()
    async for record in consumer:
        if record.key is None or not record.key.startswith(prefix):
            continue
        try:
            event = decode(record.value)
        except DecodeError:
            continue
        desks.observe(event, datetime.now(UTC))
