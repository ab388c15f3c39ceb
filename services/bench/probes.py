"""End-to-end probes: messages on one probe conversation, accepted by the ingest API, then
watched for in PostgreSQL (`messages_in` of its row counts the probes that are visible)."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import cast

import httpx
import psycopg

from schemas.codec import encode
from schemas.envelope import new_event
from schemas.events import EventData
from schemas.events.conversation import ConversationStarted, MessageReceived

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
class ProbeLog:
    """When each probe's 202 arrived and when PostgreSQL first showed it (monotonic s)."""

    conversation_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    accepted_at: dict[int, float] = field(default_factory=dict)
    visible_at: dict[int, float] = field(default_factory=dict)
    seen: int = 0
    row_exists: bool = False
    errors: int = 0

    def lags(self) -> list[float]:
        """Seconds from accepted to visible, per probe seen (0 when it showed up before its 202
        reached us: the lag was then shorter than the HTTP answer's trip)."""
        return [max(0.0, self.visible_at[n] - t) for n, t in sorted(self.accepted_at.items())
                if n in self.visible_at]


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
            now = loop.time()
            if row is not None:
                probes.row_exists = True
                for n in range(probes.seen + 1, row[0] + 1):
                    probes.visible_at[n] = now
                probes.seen = max(probes.seen, row[0])
            await asyncio.sleep(interval_s)
