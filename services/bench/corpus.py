"""The benchmark's events: one simulated base corpus, multiplied into distinct copies.

Copies come from `variants.rewrite`, so phase A's events never touch phase B's
conversations. Produced straight to Kafka (keyed by subject, like the ingest does)
when a phase needs a backlog rather than offered load.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from dataclasses import dataclass

import orjson
from aiokafka import AIOKafkaProducer

from projections.conversations.state import TERMINAL_PHASES
from projections.replay import fold
from schemas.codec import decode, encode
from schemas.topics import CONVERSATIONS, topic_for_type
from services.bench.variants import MAX_VARIANTS, rewrite
from services.runtime.settings import Settings
from services.simulator.config import SimulationConfig
from services.simulator.model import simulate

SEED = 7
SEED_PREFIX = f"sim{SEED}-"


@dataclass(frozen=True, slots=True)
class CorpusEvent:
    """One encoded event with what routing it needs."""

    topic: str
    """Its logical topic (schemas.topics)."""
    subject: str
    raw: bytes


def generate(count: int) -> list[CorpusEvent]:
    """`count` events of a realistic contact-center mix (a busy hour: 400 agents, ~5 new
    conversations/s), in time order."""
    config = SimulationConfig(seed=SEED, rate=5.0, agents=400, duration=24 * 3600.0)
    out: list[CorpusEvent] = []
    started = time.monotonic()
    for event in simulate(config):
        out.append(CorpusEvent(topic_for_type(event.type), event.subject, encode(event)))
        if len(out) >= count:
            break
        if len(out) % 20_000 == 0:
            print(f"bench: generated {len(out):,}/{count:,} base events "
                  f"({len(out) / (time.monotonic() - started):,.0f}/s)", flush=True)
    return out


def copies(base: list[CorpusEvent], first_variant: int, count: int) -> Iterator[CorpusEvent]:
    """`count` events: base copies `first_variant`, `first_variant + 1`, ... in order."""
    prefix = SEED_PREFIX.encode()
    produced = 0
    variant = first_variant
    while produced < count:
        if variant >= MAX_VARIANTS:
            raise ValueError("corpus too small for the requested events; raise the base size")
        for event in base:
            if produced >= count:
                return
            yield CorpusEvent(event.topic,
                              rewrite(event.subject.encode(), variant, prefix).decode(),
                              rewrite(event.raw, variant, prefix))
            produced += 1
        variant += 1


def variants_needed(base_size: int, count: int) -> int:
    """How many copies of a base corpus `count` events use."""
    return -(-count // base_size)


@dataclass(slots=True)
class Variants:
    """Hands out copies of base corpora, never the same copy number twice in a run, so
    no two phases (or steps) ever share a conversation or an event id."""

    next: int = 0

    def copies(self, base: list[CorpusEvent], count: int) -> Iterator[CorpusEvent]:
        """`count` events of fresh copies of `base`."""
        first, self.next = self.next, self.next + variants_needed(len(base), count)
        return copies(base, first, count)


@dataclass(frozen=True, slots=True)
class Outcomes:
    """A corpus split by how its conversations stand at its end (agent events in both)."""

    closed: list[CorpusEvent]
    """Events of the conversations resolved or abandoned by the end, and the agents'."""
    closed_conversations: int
    open: list[CorpusEvent]
    """Events of the conversations still open at the end, and the agents'."""
    open_conversations: int


def split_by_outcome(base: list[CorpusEvent]) -> Outcomes:
    """Split `base` with the offline fold (the reducers the worker runs): traffic whose
    conversations all close, and traffic whose conversations all stay open."""
    states = fold(decode(e.raw) for e in base).conversations
    closed = {cid for cid, s in states.items() if s.phase in TERMINAL_PHASES}

    def keep(event: CorpusEvent, want_closed: bool) -> bool:
        return event.topic != CONVERSATIONS or (event.subject in closed) == want_closed

    return Outcomes(closed=[e for e in base if keep(e, True)], closed_conversations=len(closed),
                    open=[e for e in base if keep(e, False)],
                    open_conversations=len(states) - len(closed))


def produce(settings: Settings, events: Iterator[CorpusEvent], total: int, what: str) -> int:
    """Produce events to Kafka (idempotent, acks=all), keyed by subject; returns how many."""
    return asyncio.run(_produce(settings, events, total, what))


async def _produce(settings: Settings, events: Iterator[CorpusEvent], total: int,
                   what: str) -> int:
    # aiokafka rather than the kafka-python sync producer: that one made ~2,000 events/s
    # here, far too slow to lay down a million-event log.
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers,
                                client_id="switchboard-bench", acks="all",
                                enable_idempotence=True, linger_ms=20,
                                max_batch_size=512 * 1024)
    await producer.start()
    started = last = time.monotonic()
    n = 0
    try:
        pending: list[asyncio.Future[object]] = []
        for event in events:
            pending.append(await producer.send(settings.topic(event.topic),
                                               key=event.subject.encode(), value=event.raw))
            n += 1
            if len(pending) >= 10_000:
                await asyncio.gather(*pending)
                pending.clear()
            if time.monotonic() - last >= 5:
                last = time.monotonic()
                print(f"bench: {what}: produced {n:,}/{total:,} "
                      f"({n / (last - started):,.0f}/s)", flush=True)
        await asyncio.gather(*pending)
    finally:
        await producer.stop()
    print(f"bench: {what}: produced {n:,} events in {time.monotonic() - started:.1f}s",
          flush=True)
    return n


def body_of(events: list[CorpusEvent]) -> bytes:
    """A CloudEvents batch body from already encoded events."""
    return b"[" + b",".join(e.raw for e in events) + b"]"


def decode_ids(body: bytes) -> int:
    """Accepted plus duplicate ids in an ingest 202 answer."""
    answer = orjson.loads(body)
    return len(answer.get("accepted", [])) + len(answer.get("duplicates", []))
