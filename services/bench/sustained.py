"""Phase "sustained": offer a steady event rate to the ingest API and measure the lag of
probes (accepted -> visible in the worker's live tables, and -> row in PostgreSQL) and
whether the consumers keep up."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

import httpx

from schemas.envelope import CONTENT_TYPE_BATCH
from services.bench.corpus import CorpusEvent, body_of
from services.bench.offsets import GroupOffsets, ProjectorOffsets, log_ends
from services.bench.pacing import lane_of, tick_sizes
from services.bench.probes import (
    ProbeLog,
    post_probe,
    started_event,
    watch_probes,
    watch_tables,
)
from services.bench.stats import backlog_verdict, summarize_ms
from services.cli.progress import total_lag
from services.runtime.settings import DEV_API_KEY, Settings

MAX_BATCH = 1000


@dataclass(slots=True)
class Lane:
    """One HTTP connection's queue: its events go out in order, batched as they pile up."""

    pending: list[CorpusEvent] = field(default_factory=list)
    wake: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass(slots=True)
class Tally:
    offered: int = 0
    accepted: int = 0
    http_errors: int = 0
    failed_events: int = 0
    posts: int = 0


@dataclass(frozen=True, slots=True)
class SustainedConfig:
    rate: float
    duration_s: float
    lanes: int = 4
    tick_s: float = 0.05
    probe_every_s: float = 0.1
    probe_grace_s: float = 120.0


def _client(base_url: str) -> httpx.AsyncClient:
    headers = {"Authorization": f"Bearer {DEV_API_KEY}", "Content-Type": CONTENT_TYPE_BATCH}
    return httpx.AsyncClient(base_url=base_url, headers=headers, timeout=30.0)


async def _send_lane(base_url: str, lane: Lane, tally: Tally, done: asyncio.Event) -> None:
    async with _client(base_url) as client:
        while not (done.is_set() and not lane.pending):
            if not lane.pending:
                lane.wake.clear()
                await lane.wake.wait()
                continue
            batch, lane.pending = lane.pending[:MAX_BATCH], lane.pending[MAX_BATCH:]
            tally.posts += 1
            try:
                response = await client.post("/v1/events", content=body_of(batch))
                ok = response.status_code == 202
            except httpx.HTTPError:
                ok = False
            if ok:
                tally.accepted += len(batch)
            else:
                tally.http_errors += 1
                tally.failed_events += len(batch)


async def _offer(events: Iterator[CorpusEvent], lanes: list[Lane], cfg: SustainedConfig,
                 tally: Tally, began: float) -> None:
    loop = asyncio.get_running_loop()
    for k, size in enumerate(tick_sizes(cfg.rate, cfg.tick_s, cfg.duration_s)):
        wait = began + k * cfg.tick_s - loop.time()
        if wait > 0:
            await asyncio.sleep(wait)
        for _ in range(size):
            event = next(events)
            lane = lanes[lane_of(event.subject, len(lanes))]
            lane.pending.append(event)
            tally.offered += 1
        for lane in lanes:
            if lane.pending:
                lane.wake.set()


async def _probe(base_url: str, probes: ProbeLog, every_s: float, stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    async with _client(base_url) as client:
        n, began = 0, loop.time()
        while not stop.is_set():
            n += 1
            await post_probe(client, probes, n)
            await asyncio.sleep(max(0.0, began + n * every_s - loop.time()))


def _lags(settings: Settings, group: GroupOffsets,
          stored: ProjectorOffsets) -> tuple[int | None, int | None]:
    ends = log_ends(settings)
    worker, projector = group.read(), stored.read()
    return (total_lag(ends, worker) if worker else None,
            total_lag(ends, projector) if projector else None)


def wait_drained(settings: Settings, max_lag: int, timeout_s: float) -> float:
    """Wait until the worker and the projector are each at most `max_lag` events behind the
    log (a run starts from a caught-up stack, not from the previous one's backlog); the
    seconds waited (a timeout is not an error: the run then shows the backlog)."""
    group, stored = GroupOffsets(settings, settings.worker_app_id), ProjectorOffsets(settings)
    began = last_note = time.monotonic()
    try:
        while True:
            worker, projector = _lags(settings, group, stored)
            now = time.monotonic()
            if (worker or 0) <= max_lag and (projector or 0) <= max_lag or now - began > timeout_s:
                return now - began
            if now - last_note >= 5:
                last_note = now
                print(f"bench: waiting for the consumers to catch up: worker lag {worker}, "
                      f"projector lag {projector}", flush=True)
            time.sleep(0.5)  # polling interval of a deadline wait
    finally:
        group.close()
        stored.close()


async def _sample_lag(settings: Settings, samples: list[tuple[float, int | None, int | None]],
                      began: float, stop: asyncio.Event) -> None:
    # The same offset readers as the drain phase, so both phases count lag the same way.
    group = await asyncio.to_thread(GroupOffsets, settings, settings.worker_app_id)
    stored = await asyncio.to_thread(ProjectorOffsets, settings)
    try:
        while not stop.is_set():
            worker, projector = await asyncio.to_thread(_lags, settings, group, stored)
            samples.append((time.monotonic() - began, worker, projector))
            if len(samples) % 10 == 0:
                print(f"bench: sustained t={samples[-1][0]:.0f}s worker lag {worker} "
                      f"projector lag {projector}", flush=True)
            await asyncio.sleep(1.0)
    finally:
        group.close()
        stored.close()


async def _wait_ready(base_url: str, probes: ProbeLog, timeout_s: float = 90.0) -> None:
    """Post the probe conversation's start until accepted, then wait for it in the worker's
    table and in PostgreSQL."""
    deadline = time.monotonic() + timeout_s
    last = "no answer"
    async with _client(base_url) as client:
        while True:
            try:
                response = await client.post("/v1/events",
                                             content=started_event(probes.conversation_id))
                if response.status_code == 202:
                    break
                last = f"{response.status_code} {response.text[:300]}"
            except httpx.HTTPError as exc:
                last = repr(exc)
            if time.monotonic() > deadline:
                raise TimeoutError(f"the ingest API at {base_url} never accepted an event "
                                   f"(last: {last})")
            await asyncio.sleep(0.2)
    for where, sightings in (("the worker's table", probes.in_tables),
                             ("PostgreSQL", probes.in_postgres)):
        while not sightings.exists:
            if time.monotonic() > deadline:
                raise TimeoutError(f"the probe conversation never showed up in {where}")
            await asyncio.sleep(0.05)


async def run_sustained(settings: Settings, events: Iterator[CorpusEvent],
                        cfg: SustainedConfig) -> dict[str, Any]:
    """Offer `cfg.rate` events/s for `cfg.duration_s` to a running ingest + worker + projector."""
    base_url = f"http://127.0.0.1:{settings.ingest_port}"
    drained_s = await asyncio.to_thread(wait_drained, settings, int(cfg.rate), 180.0)
    probes, tally = ProbeLog(), Tally()
    stop_watch, stop_probe, done = asyncio.Event(), asyncio.Event(), asyncio.Event()
    positioned = asyncio.Event()
    watchers = [asyncio.create_task(watch_probes(settings.database_url, probes, stop_watch)),
                asyncio.create_task(watch_tables(settings, probes, stop_watch, positioned))]
    await _until(positioned, watchers)
    await _wait_ready(base_url, probes)
    print(f"bench: sustained at {cfg.rate:,.0f} events/s: pipeline ready (probe conversation "
          "visible)", flush=True)
    lanes = [Lane() for _ in range(cfg.lanes)]
    lag_samples: list[tuple[float, int | None, int | None]] = []
    began = asyncio.get_running_loop().time()
    senders = [asyncio.create_task(_send_lane(base_url, lane, tally, done)) for lane in lanes]
    prober = asyncio.create_task(_probe(base_url, probes, cfg.probe_every_s, stop_probe))
    sampler = asyncio.create_task(_sample_lag(settings, lag_samples, time.monotonic(), stop_probe))
    await _offer(events, lanes, cfg, tally, began)
    offered_for = asyncio.get_running_loop().time() - began
    done.set()
    for lane in lanes:
        lane.wake.set()
    await asyncio.gather(*senders)
    sent_for = asyncio.get_running_loop().time() - began
    stop_probe.set()
    await asyncio.gather(prober, sampler)
    # Wait for the last probes (a lagging consumer shows them late); what is still unseen
    # after this is reported as unseen, and the percentiles then understate the lag.
    deadline = time.monotonic() + cfg.probe_grace_s
    while not probes.all_seen() and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    stop_watch.set()
    await asyncio.gather(*watchers)
    return {**_result(cfg, tally, probes, lag_samples, offered_for, sent_for),
            "waited_for_catch_up_s": drained_s}


async def _until(event: asyncio.Event, tasks: list[asyncio.Task[None]]) -> None:
    """Wait for `event`, re-raising the error of a task that failed first."""
    waiter = asyncio.create_task(event.wait())
    await asyncio.wait([waiter, *tasks], return_when=asyncio.FIRST_COMPLETED)
    for task in tasks:
        if task.done():
            waiter.cancel()
            task.result()


def _result(cfg: SustainedConfig, tally: Tally, probes: ProbeLog,
            lag_samples: list[tuple[float, int | None, int | None]], offered_for: float,
            sent_for: float) -> dict[str, Any]:
    lag = summarize_ms(probes.lags(probes.in_postgres))
    live = summarize_ms(probes.lags(probes.in_tables))
    window, max_slope = 10.0, 0.05 * cfg.rate  # growth under 5 % of the offered rate
    backlog = {}
    for index, name in ((1, "worker"), (2, "projector")):
        series = [(s[0], s[index]) for s in lag_samples if s[index] is not None]
        verdict = backlog_verdict(series, window, max_slope)  # type: ignore[arg-type]
        backlog[name] = asdict(verdict) if verdict else None
    return {
        "offered_rate": cfg.rate, "duration_s": cfg.duration_s, "lanes": cfg.lanes,
        "offered": tally.offered, "accepted": tally.accepted, "http_errors": tally.http_errors,
        "failed_events": tally.failed_events, "posts": tally.posts,
        "achieved_rate": tally.accepted / max(sent_for, offered_for, 1e-9),
        "offer_seconds": offered_for, "send_seconds": sent_for,
        "lag": asdict(lag) if lag else None,
        "live_lag": asdict(live) if live else None,
        "probes_sent": len(probes.accepted_at) + probes.errors,
        "probes_unseen": probes.unseen(probes.in_postgres),
        "live_probes_unseen": probes.unseen(probes.in_tables),
        "probe_errors": probes.errors, "backlog": backlog,
        "lag_series": [{"t": round(t, 2), "worker": w, "projector": p}
                       for t, w, p in lag_samples],
    }
