"""Phase "memory": the worker's resident memory while conversations close and age out, and
what each open conversation costs.

Runs on topics of its own (a topic prefix), so its workers read only this phase's
traffic, with a short closed horizon and sweep interval. First, traffic whose
conversations all close is offered at a steady rate while the workers' RSS is sampled
every second: with the sweep deleting what closed, the RSS over the second half of the
offering should stay flat (its start, end and least-squares slope are reported).
Then conversations that stay open are added in equal steps, the RSS read after each: the
slope of RSS over open conversations is the cost of 10,000 more.

The corpus's events are dated in its simulated past, so a closed conversation is past any
horizon as soon as its records are committed: the sweep interval sets how long it stays.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from aiokafka import AIOKafkaProducer

from schemas.topics import CONVERSATIONS
from services.bench.corpus import CorpusEvent, Outcomes, Variants, produce, split_by_outcome
from services.bench.drain import CLI, WORKER_ID, follow, worker_names
from services.bench.offsets import GroupOffsets, Offsets, log_ends
from services.bench.pacing import tick_sizes
from services.bench.stack import BenchStack
from services.bench.stats import slope, trend
from services.runtime.settings import Settings

PREFIX = "bench-aging-"
NAME = "worker-aging"
_SWEPT = re.compile(rb"(\d+) closed swept")
RssSample = tuple[float, dict[str, int]]
"""Seconds since the offering began, and each worker's RSS in KiB."""


@dataclass(frozen=True, slots=True)
class MemoryConfig:
    workers: int
    rate: float
    """Events/s of the closing traffic."""
    steady_copies: int
    """Copies of the corpus's closing traffic offered (its whole conversations only)."""
    fill_steps: int
    fill_copies: int
    """Copies of the corpus's open conversations added per step."""
    horizon_s: float = 10.0
    sweep_every_s: float = 5.0


def per_10k_mb(points: Sequence[tuple[int, float]]) -> float:
    """MB of RSS per 10,000 open conversations: the least-squares slope of `(open
    conversations, RSS in KiB)` points."""
    return slope([(float(n), kb) for n, kb in points]) * 10_000 / 1024


def total_mb(sample: dict[str, int]) -> float:
    """The workers' RSS together, in MB."""
    return sum(sample.values()) / 1024


def _swept(stack: BenchStack, names: Sequence[str]) -> int:
    """Closed conversations the workers report swept (their last progress lines)."""
    total = 0
    for name in names:
        found = _SWEPT.findall((stack.root / "logs" / f"{name}.log").read_bytes())
        total += int(found[-1]) if found else 0
    return total


def _rss(stack: BenchStack, names: Sequence[str]) -> dict[str, int]:
    return {name: stack.rss_kb(name) or 0 for name in names}


async def _offer(settings: Settings, events: Iterator[CorpusEvent], rate: float, count: int,
                 sample: Callable[[float], None]) -> float:
    """Produce `count` events at `rate`/s straight to the log, calling `sample(seconds)`
    every second; the seconds it took."""
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers,
                                client_id="switchboard-bench", acks="all",
                                enable_idempotence=True, linger_ms=5)
    await producer.start()
    loop = asyncio.get_running_loop()
    began = next_sample = loop.time()
    try:
        for k, size in enumerate(tick_sizes(rate, 0.05, count / rate)):
            if (wait := began + k * 0.05 - loop.time()) > 0:
                await asyncio.sleep(wait)
            for _ in range(size):
                event = next(events)
                await producer.send(settings.topic(event.topic), key=event.subject.encode(),
                                    value=event.raw)
            if loop.time() >= next_sample:
                sample(loop.time() - began)
                next_sample += 1.0
        await producer.flush()
    finally:
        await producer.stop()
    return loop.time() - began


def _catch_up(stack: BenchStack, settings: Settings, names: Sequence[str], start: Offsets,
              what: str) -> None:
    """Wait until the workers committed everything on the log since `start`."""
    def alive() -> None:
        for name in names:
            stack.check_running(name)

    end = log_ends(settings)
    reader = GroupOffsets(settings, WORKER_ID)
    try:
        follow(reader.read, alive, start, end, time.monotonic(), what, 300.0)
    finally:
        reader.close()


def _settle(stack: BenchStack, names: Sequence[str], timeout_s: float = 30.0) -> dict[str, int]:
    """Each worker's RSS once it stopped moving (three 1-second reads within 1 MB)."""
    deadline, reads = time.monotonic() + timeout_s, [_rss(stack, names)]
    while time.monotonic() < deadline:
        time.sleep(1.0)  # RSS sampling interval
        reads.append(_rss(stack, names))
        last = reads[-3:]
        if len(last) == 3 and max(map(total_mb, last)) - min(map(total_mb, last)) < 1.0:
            break
    return reads[-1]


def _start(stack: BenchStack, cfg: MemoryConfig) -> tuple[Settings, list[str]]:
    """Start the phase's workers on their own topics, with the short horizon and sweep."""
    env = {"SWITCHBOARD_TOPIC_PREFIX": PREFIX, "SWITCHBOARD_WORKER_ID": WORKER_ID,
           "SWITCHBOARD_CLOSED_HORIZON_S": str(cfg.horizon_s),
           "SWITCHBOARD_SWEEP_EVERY_S": str(cfg.sweep_every_s)}
    settings = stack.settings(**env)
    stack.create_topics(settings)
    names = worker_names(cfg.workers, NAME)
    for name in names:
        stack.start(name, [*CLI, "worker"], nice=0, supervised=True, **env)
    # Up once each has reported progress (its app runs), then idle until RSS settles.
    deadline = time.monotonic() + 120
    while not all(b"worker: " in (stack.root / "logs" / f"{n}.log").read_bytes() for n in names):
        for name in names:
            stack.check_running(name)
        if time.monotonic() > deadline:
            raise TimeoutError(f"the {NAME} workers never reported progress")
        time.sleep(0.5)  # polling interval of a deadline wait
    return settings, names


def _steady(stack: BenchStack, settings: Settings, names: list[str], outcomes: Outcomes,
            variants: Variants, cfg: MemoryConfig) -> dict[str, Any]:
    count = cfg.steady_copies * len(outcomes.closed)
    print(f"bench: memory: {count:,} events of conversations that close, at "
          f"{cfg.rate:,.0f}/s ({cfg.steady_copies} copies)", flush=True)
    samples: list[RssSample] = []

    def sample(seconds: float) -> None:
        samples.append((seconds, _rss(stack, names)))
        if len(samples) % 15 == 0:
            print(f"bench: memory: t={seconds:.0f}s workers' RSS {total_mb(samples[-1][1]):,.0f} "
                  f"MB, {_swept(stack, names):,} swept", flush=True)

    start = log_ends(settings)
    seconds = asyncio.run(_offer(settings, variants.copies(outcomes.closed, count), cfg.rate,
                                 count, sample))
    offered_at = time.monotonic()
    _catch_up(stack, settings, names, start, "memory: closing traffic")
    catch_up_s = time.monotonic() - offered_at
    closed = cfg.steady_copies * outcomes.closed_conversations
    deadline = time.monotonic() + 6 * cfg.sweep_every_s + 30
    while _swept(stack, names) < closed and time.monotonic() < deadline:
        time.sleep(1.0)  # polling interval of a deadline wait
    window = trend([(t, total_mb(s)) for t, s in samples], since=seconds / 2)
    return {"events": count, "rate": cfg.rate, "seconds": seconds, "catch_up_s": catch_up_s,
            "conversations": closed, "swept": _swept(stack, names),
            "trend_mb": asdict(window) if window else None,
            "series_mb": [{"t": round(t, 1), **{n: round(kb / 1024, 1) for n, kb in s.items()}}
                          for t, s in samples]}


def _fill(stack: BenchStack, settings: Settings, names: list[str], outcomes: Outcomes,
          variants: Variants, cfg: MemoryConfig) -> dict[str, Any]:
    points = [(0, _settle(stack, names))]
    for step in range(1, cfg.fill_steps + 1):
        count = cfg.fill_copies * len(outcomes.open)
        start = log_ends(settings)
        produce(settings, variants.copies(outcomes.open, count), count,
                f"memory: open conversations, step {step}/{cfg.fill_steps}")
        _catch_up(stack, settings, names, start, f"memory: open conversations {step}")
        points.append((step * cfg.fill_copies * outcomes.open_conversations,
                       _settle(stack, names)))
        print(f"bench: memory: {points[-1][0]:,} open conversations: workers' RSS "
              f"{total_mb(points[-1][1]):,.0f} MB", flush=True)
    agents = len({e.subject for e in outcomes.open if e.topic != CONVERSATIONS})
    return {"agents": agents * cfg.fill_copies * cfg.fill_steps,
            "points": [{"open": n, "rss_mb": {k: v / 1024 for k, v in s.items()}}
                       for n, s in points],
            "per_10k_open_mb": per_10k_mb([(n, float(sum(s.values()))) for n, s in points])}


def run_memory(stack: BenchStack, base: list[CorpusEvent], variants: Variants,
               cfg: MemoryConfig) -> dict[str, Any]:
    """Start the phase's workers, offer closing traffic, then add open conversations;
    the workers are stopped at the end (their peak RSS recorded)."""
    outcomes = split_by_outcome(base)
    settings, names = _start(stack, cfg)
    try:
        idle = _settle(stack, names)
        print(f"bench: memory: {cfg.workers} workers idle at {total_mb(idle):,.0f} MB", flush=True)
        steady = _steady(stack, settings, names, outcomes, variants, cfg)
        fill = _fill(stack, settings, names, outcomes, variants, cfg)
    finally:
        for name in names:
            stack.stop(name)
    return {"workers": cfg.workers, "horizon_s": cfg.horizon_s,
            "sweep_every_s": cfg.sweep_every_s, "idle_mb": {k: v / 1024 for k, v in idle.items()},
            "aging": steady, "open": fill,
            "corpus": {"closed_conversations": outcomes.closed_conversations,
                       "open_conversations": outcomes.open_conversations}}

