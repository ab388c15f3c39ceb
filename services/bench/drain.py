"""Phase "drain": a backlog on the log, then how fast a plain consumer, the worker and the
projector each work through it (one after the other, so each has the machine), and what
bounds the last two: their pure folds alone, and Faust's consumer doing nothing."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition

from services.bench.corpus import CorpusEvent, Variants, produce
from services.bench.fold_ceiling import projector_folds_eps, worker_folds_eps
from services.bench.offsets import GroupOffsets, Offsets, ProjectorOffsets, done_between, log_ends
from services.bench.stack import BenchStack
from services.bench.stats import rate_between

WORKER_ID = "bench-worker"
NOOP_ID = "bench-faust-noop"
CLI = ["-m", "services.cli.main"]


async def _baseline(bootstrap: str, start: Offsets, end: Offsets) -> tuple[int, float]:
    """Plain aiokafka consume + orjson.loads of every value in start..end: (events, seconds)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None,
                                enable_auto_commit=False, auto_offset_reset="earliest")
    await consumer.start()
    try:
        tps = [TopicPartition(t, p) for (t, p) in end]
        consumer.assign(tps)
        for tp in tps:
            consumer.seek(tp, start.get((tp.topic, tp.partition), 0))
        left = {tp: end[(tp.topic, tp.partition)] - start.get((tp.topic, tp.partition), 0)
                for tp in tps}
        events, first = 0, None
        while any(n > 0 for n in left.values()):
            batches = await consumer.getmany(timeout_ms=1000, max_records=5000)
            for tp, records in batches.items():
                first = first or time.monotonic()
                for record in records[:max(0, left[tp])]:
                    orjson.loads(record.value)  # the decode the baseline must pay for
                    events += 1
                left[tp] -= len(records)
        return events, time.monotonic() - (first or time.monotonic())
    finally:
        await consumer.stop()


def follow(read: Callable[[], Offsets], alive: Callable[[], None], start: Offsets,
            end: Offsets, began: float, what: str,
            timeout_s: float) -> list[tuple[float, int]]:
    """Sample a consumer's progress every 100 ms until it consumed start..end."""
    total = done_between(start, end, end)
    samples: list[tuple[float, int]] = []
    last_note = began
    while True:
        now = time.monotonic()
        done = done_between(start, end, read())
        samples.append((now, done))
        if done >= total:
            return samples
        alive()
        if now - began > timeout_s:
            raise TimeoutError(f"{what} consumed {done:,}/{total:,} in {timeout_s:.0f}s")
        if now - last_note >= 5:
            last_note = now
            print(f"bench: drain {what}: {done:,}/{total:,}", flush=True)
        time.sleep(0.1)


def _rates(samples: list[tuple[float, int]], began: float) -> tuple[float, float, float]:
    """(events/s from the first visible progress, events/s from process start, events/s
    between 20 % and 90 % of the backlog done: the drain once the group has formed,
    without its start-up rebalance and the last commit's wait)."""
    first = next(s for s in samples if s[1] > 0)
    last = samples[-1]
    from_start = last[1] / (last[0] - began)
    # All done in one observed step (a tiny backlog): only the from-start figure exists.
    if last[0] <= first[0]:
        return from_start, from_start, from_start
    low = next(s for s in samples if s[1] >= 0.2 * last[1])
    high = next(s for s in samples if s[1] >= 0.9 * last[1])
    steady = rate_between(low, high) if high[0] > low[0] else rate_between(first, last)
    return rate_between(first, last), from_start, steady


def worker_names(workers: int, prefix: str = "worker") -> list[str]:
    """Bench component names of `workers` processes of one consumer group."""
    return [prefix, *(f"{prefix}-{n}" for n in range(2, workers + 1))]


@dataclass(frozen=True, slots=True)
class _Drainer:
    """One consumer timed through the backlog."""

    name: str
    argv: list[str]
    processes: list[str]
    group: str | None
    """Its Kafka consumer group (None: the projector, whose offsets are in PostgreSQL)."""
    keep_running: bool
    """Left running, caught up, for the next phase (else stopped once done)."""


def _drainers(workers: int) -> list[_Drainer]:
    return [
        _Drainer("faust_noop", ["-m", "services.bench.faust_noop"],
                 worker_names(workers, "faust-noop"), NOOP_ID, False),
        _Drainer("worker", [*CLI, "worker"], worker_names(workers), WORKER_ID, True),
        _Drainer("projector", [*CLI, "projector"], ["projector"], None, True),
    ]


def run_drain(stack: BenchStack, base: list[CorpusEvent], variants: Variants,
              events: int, workers: int = 1) -> dict[str, Any]:
    """Produce `events` to the log, then time through them, one after the other so each has
    the machine: the baseline; the worker's and the projector's pure folds in this process;
    Faust's consumer with agents that do nothing; the worker; the projector.

    `workers` worker (and no-op Faust) processes share the partitions, as a deployment
    scales them out. Worker and projector keep running (caught up) for the next phase.
    """
    settings = stack.settings(SWITCHBOARD_WORKER_ID=WORKER_ID)
    start = log_ends(settings)
    backlog = list(variants.copies(base, events))
    produce(settings, iter(backlog), events, "drain backlog")
    end = log_ends(settings)
    total = done_between(start, end, end)
    n, secs = asyncio.run(_baseline(settings.kafka_bootstrap_servers, start, end))
    baseline = n / secs if secs > 0 else 0.0
    print(f"bench: drain baseline: {n:,} events in {secs:.2f}s = {baseline:,.0f}/s", flush=True)
    result: dict[str, Any] = {"events": total, "baseline_eps": baseline, "baseline_seconds": secs,
                              "worker_processes": workers}
    for name, ceiling in (("worker_folds", worker_folds_eps), ("projector_folds", projector_folds_eps)):
        result[f"{name}_eps"] = ceiling(backlog)
        print(f"bench: drain {name} alone (1 process, no I/O): {result[f'{name}_eps']:,.0f}/s",
              flush=True)
    del backlog
    timeout = 120 + total / 100  # generous: a slow consumer is a figure, not an error
    for drainer in _drainers(workers):
        began = time.monotonic()
        for name in drainer.processes:
            stack.start(name, drainer.argv, supervised=True,
                        SWITCHBOARD_WORKER_ID=drainer.group or WORKER_ID)
        reader = (GroupOffsets(settings, drainer.group) if drainer.group
                  else ProjectorOffsets(settings))

        def alive(names: list[str] = drainer.processes) -> None:
            for name in names:
                stack.check_running(name)

        try:
            samples = follow(reader.read, alive, start, end, began, drainer.name, timeout)
        finally:
            reader.close()
        (result[f"{drainer.name}_eps"], result[f"{drainer.name}_eps_from_start"],
         result[f"{drainer.name}_eps_steady"]) = _rates(samples, began)
        print(f"bench: drain {drainer.name}: {result[f'{drainer.name}_eps']:,.0f}/s "
              f"(20-90 %: {result[f'{drainer.name}_eps_steady']:,.0f}/s)", flush=True)
        if not drainer.keep_running:
            for name in drainer.processes:
                stack.stop(name)
    for name in ("worker_folds", "projector_folds", "faust_noop", "worker", "projector"):
        result[f"{name}_ratio"] = result[f"{name}_eps"] / baseline if baseline else None
    return result
