"""Probes: messages on one probe conversation, accepted by the ingest API, then watched
for in two places - the worker's live table, as published on its changelog topic, and
PostgreSQL's row (in both, the conversation's `messages_in` counts the probes visible)."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import cast

import httpx
import psycopg
from aiokafka import AIOKafkaConsumer, TopicPartition

from projections.conversations.state import ConversationState
from projections.state_codec import load
from schemas.codec import encode
from schemas.envelope import new_event
from schemas.events import EventData
from schemas.events.conversation import ConversationStarted, MessageReceived
from schemas.topics import PROJECTION_CONVERSATIONS
from services.runtime.settings import Settings

SOURCE = "switchboard/bench"


def started_event(conversation_id: str) -> bytes:
    """The probe conversation's start, as a one-event batch body."""
    data = ConversationStarted(channel="chat", mode="sync", customer_id="bench-probe",
                               queue="billing")
    # The catalog's WIRE_TYPE is set by a decorator, which mypy cannot see (as in the simulator).
    return b"[" + encode(new_event(cast(EventData, data),
                            subject=conversation_id, source=SOURCE, time=datetime.now(UTC))) + b"]"


def probe_event(conversation_id: str, n: int) -> bytes:
    """Probe message number `n` (1-based), as a one-event batch body."""
    data = MessageReceived(message_id=f"probe-{n}", text="probe")
    return b"[" + encode(new_event(cast(EventData, data),
                                   subject=conversation_id, source=SOURCE,
                                   time=datetime.now(UTC))) + b"]"


@dataclass(slots=True)
class Sightings:
    """When each probe was first seen in one place (monotonic s)."""

    visible_at: dict[int, float] = field(default_factory=dict)
    seen: int = 0
    exists: bool = False
    """The probe conversation itself showed up."""

    def saw(self, count: int, now: float) -> None:
        """The conversation showed `count` probes at `now`: stamp the ones new since."""
        self.exists = True
        for n in range(self.seen + 1, count + 1):
            self.visible_at[n] = now
        self.seen = max(self.seen, count)


@dataclass(slots=True)
class ProbeLog:
    """When each probe's 202 arrived, and when the worker's table and PostgreSQL first
    showed it (monotonic s)."""

    conversation_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    accepted_at: dict[int, float] = field(default_factory=dict)
    in_postgres: Sightings = field(default_factory=Sightings)
    in_tables: Sightings = field(default_factory=Sightings)
    errors: int = 0

    def lags(self, where: Sightings) -> list[float]:
        """Seconds from accepted to visible in `where`, per probe seen (0 when it showed up
        before its 202 reached us: the lag was then shorter than the HTTP answer's trip)."""
        return [max(0.0, where.visible_at[n] - t) for n, t in sorted(self.accepted_at.items())
                if n in where.visible_at]

    def unseen(self, where: Sightings) -> int:
        """Accepted probes `where` never showed."""
        return sum(1 for n in self.accepted_at if n not in where.visible_at)

    def all_seen(self) -> bool:
        """Both places show the last accepted probe."""
        last = max(self.accepted_at, default=0)
        return self.in_postgres.seen >= last and self.in_tables.seen >= last


async def post_probe(client: httpx.AsyncClient, probes: ProbeLog, n: int) -> None:
    """Post probe `n` and record when its 202 arrived."""
    loop = asyncio.get_running_loop()
    try:
        response = await client.post("/v1/events", content=probe_event(probes.conversation_id, n))
    except httpx.HTTPError:
        probes.errors += 1
        return
    if response.status_code == 202:
        probes.accepted_at[n] = loop.time()
    else:
        probes.errors += 1


async def watch_probes(database_url: str, probes: ProbeLog, stop: asyncio.Event,
                       interval_s: float = 0.005) -> None:
    """Poll the probe row every `interval_s` and stamp each newly visible probe."""
    loop = asyncio.get_running_loop()
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        while not stop.is_set():
            try:
                cur = await conn.execute(
                    "SELECT messages_in FROM readmodel.conversations WHERE conversation_id = %s",
                    (probes.conversation_id,))
                row = await cur.fetchone()
            except psycopg.errors.UndefinedTable:
                row = None
            if row is not None:
                probes.in_postgres.saw(row[0], loop.time())
            await asyncio.sleep(interval_s)


async def watch_tables(settings: Settings, probes: ProbeLog, stop: asyncio.Event,
                       positioned: asyncio.Event) -> None:
    """Read the worker's conversations changelog from its end (`positioned` is set once
    there, before the probe conversation may start) and stamp each probe as the
    conversation's published state first counts it. Once the probe's partition is known,
    the others are paused, so the bench reads a sixth of the changelog's traffic."""
    # With no group, a subscription is every partition of the topic, read from its end.
    consumer = AIOKafkaConsumer(settings.topic(PROJECTION_CONVERSATIONS),
                                bootstrap_servers=settings.kafka_bootstrap_servers,
                                group_id=None, enable_auto_commit=False, fetch_max_wait_ms=10,
                                auto_offset_reset="latest", client_id="switchboard-bench-probe")
    await consumer.start()
    try:
        deadline = asyncio.get_running_loop().time() + 30
        while not consumer.assignment():
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError("no partition of the worker's changelog was assigned")
            await asyncio.sleep(0.05)
        tps = sorted(consumer.assignment())
        for tp in tps:
            await consumer.position(tp)
        positioned.set()
        await _stamp_tables(consumer, tps, probes, stop)
    finally:
        await consumer.stop()


async def _stamp_tables(consumer: AIOKafkaConsumer, tps: list[TopicPartition], probes: ProbeLog,
                        stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    key = probes.conversation_id.encode()
    found: TopicPartition | None = None
    while not stop.is_set():
        batches = await consumer.getmany(timeout_ms=50)
        now = loop.time()
        for tp, records in batches.items():
            for record in records:
                if record.key != key or record.value is None:
                    continue
                probes.in_tables.saw(load(ConversationState, record.value).messages_in, now)
                if found is None:
                    found = tp
                    consumer.pause(*(other for other in tps if other != tp))
