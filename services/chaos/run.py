"""The chaos run's shell: its own broker, database and components (`BenchStack`, under
`.cache/chaos/`), live simulated desks through the ingest, faults on a seeded plan, then
the checks of `services.chaos.verify`."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from services.bench.offsets import GroupOffsets, Offsets, ProjectorOffsets, visible_ends
from services.bench.stack import BenchStack, StackPorts
from services.chaos import verify
from services.chaos.faults import KILLS, Fault, Kind, plan
from services.infra.kafka_local import start_kafka, stop_kafka
from services.infra.postgres_local import start_postgres, stop_postgres
from services.router.audit import audit, merged
from services.router.log_reader import read_prefixed
from services.router.service import load_config
from services.runtime.settings import DEV_API_KEY, PROJECT_ROOT, Settings
from services.simulator.config import QueueSpec
from services.simulator.desks import DeskConfig
from services.simulator.live import HttpPublisher, run_live

CLI = ["-m", "services.cli.main"]
RUN = "chaos"
DOMAIN = "chaos"
WORKER_ID = "chaos-worker"
TICK_MS = 250
RECOVERY_S = 60.0
"""After a fault, how long routing may stay late without it counting as a violation (a
killed router's lease times out in 6 s; a broker restart takes its clients longer)."""
WARM_UP_S = 10.0
"""The first seconds of traffic, while a cold stack's processes load their code and join
their groups under the full rate: routing late then is not counted either."""
DRAIN_DEADLINE_S = 600.0


@dataclass(frozen=True, slots=True)
class ChaosConfig:
    duration_s: float = 300.0
    rate: float = 140.0
    """Conversations arriving per second (the desks write about eight events each)."""
    every_s: float = 20.0
    seed: int = 1
    agents: int = 1000
    root: Path = PROJECT_ROOT / ".cache" / "chaos"
    ports: StackPorts = field(default_factory=lambda: StackPorts(
        kafka=29292, kafka_controller=29293, postgres=55450, ingest=28580))


@dataclass(slots=True)
class Outcome:
    faults: list[tuple[float, str, str]] = field(default_factory=list)
    """(seconds into the traffic, kind, what was struck)."""
    traffic_s: float = 0.0
    desks: dict[str, Any] = field(default_factory=dict)
    offered: int = 0
    answers: dict[str, int] = field(default_factory=dict)
    duplicates_answered: int = 0
    on_log: int = 0
    log_events: int = 0
    differences: dict[str, list[str]] = field(default_factory=dict)


def _queues() -> tuple[QueueSpec, ...]:
    return tuple(QueueSpec(name=f"{RUN}-{q}", skill=f"{RUN}-{q}", weight=w)
                 for q, w in (("billing", 0.4), ("tech", 0.35), ("sales", 0.25)))


def _write_routing(path: Path) -> Path:
    names = [q.name for q in _queues()] + [f"{RUN}-tier2"]
    path.write_text(f"""[routing]
tick_ms = {TICK_MS}

[domains.{DOMAIN}]
queues = {names!r}
agent_skills = {names!r}

[queues.default]
offer_timeout_s = 5
decline_exclusion_s = 10
""")
    return path


def _desks(cfg: ChaosConfig) -> DeskConfig:
    return DeskConfig(seed=cfg.seed, run=RUN, rate=cfg.rate, conversations=None, agents=cfg.agents,
                      queues=_queues(), escalation_queue=f"{RUN}-tier2", think_s=(0.1, 1.0),
                      handle_s={"voice": 8.0, "chat": 6.0, "messaging": 10.0, "sms": 10.0,
                                "email": 10.0, "social": 10.0},
                      patience_s=30.0, break_s=5.0)


def run(cfg: ChaosConfig) -> Outcome:
    """The whole run; the outcome holds every difference found."""
    stack = BenchStack(cfg.root, ports=cfg.ports, max_restarts=100_000, restart_after_s=1.0)
    try:
        return _run(stack, cfg)
    finally:
        print("chaos: stopping the stack", flush=True)
        stack.close()


def _run(stack: BenchStack, cfg: ChaosConfig) -> Outcome:
    stack.start_servers()
    routing = _write_routing(cfg.root / "routing.toml")
    settings = stack.settings(SWITCHBOARD_WORKER_ID=WORKER_ID)
    stack.start("ingest", [*CLI, "ingest"], supervised=True)
    for n in (1, 2):
        stack.start(f"worker-{n}", [*CLI, "worker", "--data-dir", str(cfg.root / f"worker-{n}")],
                    supervised=True, SWITCHBOARD_WORKER_ID=WORKER_ID)
    stack.start("projector", [*CLI, "projector"], supervised=True)
    for name in ("router-a", "router-b"):
        stack.start(name, [*CLI, "router", "--config", str(routing), "--domain", DOMAIN,
                           "--instance", name], supervised=True)
    url = f"http://127.0.0.1:{cfg.ports.ingest}"
    _wait_ready(stack, url)
    outcome = Outcome()
    publisher = HttpPublisher(url, DEV_API_KEY, record=True)
    began = time.monotonic()
    stack.phase = "chaos"
    print(f"chaos: traffic for {cfg.duration_s:.0f} s at {cfg.rate:g} conversations/s, a fault "
          f"every {cfg.every_s:.0f} s on average (seed {cfg.seed})", flush=True)
    late_ok: list[tuple[datetime, datetime]] = []
    """When routing may be late: the warm-up and the recovery after each fault."""
    outcome.desks = asyncio.run(_traffic(stack, cfg, settings, publisher, outcome, late_ok))
    outcome.traffic_s = time.monotonic() - began
    outcome.offered, outcome.answers = len(publisher.offered), dict(publisher.answers)
    outcome.duplicates_answered = publisher.duplicates
    stack.phase = "settle"
    _settle(settings)
    for name in ("router-a", "router-b"):
        stack.stop(name)
    end = datetime.now(UTC)
    _drain(stack, settings)
    print("chaos: reading the log and comparing", flush=True)
    reading = verify.read_log(settings)
    models = verify.offline_fold(reading)
    outcome.log_events = len(reading.events)
    outcome.on_log = sum(1 for i in dict.fromkeys(publisher.offered) if reading.ids[i])
    report = audit(merged(read_prefixed(settings, f"{RUN}-")),
                   load_config(routing, settings.closed_horizon_s), DOMAIN,
                   bound_s=TICK_MS / 1000 + 0.5, end=end,
                   exempt=late_ok)
    outcome.differences = {
        "log: offered events not exactly once": verify.exactly_once(publisher.offered, reading),
        "worker tables vs offline fold": verify.live_differences(settings, models),
        "PostgreSQL vs offline fold": verify.stored_differences(settings, models),
        "routing invariants": report.violations(),
        "undecodable events on the log": [f"{reading.undecodable} records"] * bool(
            reading.undecodable),
    }
    return outcome


def _wait_ready(stack: BenchStack, url: str, timeout_s: float = 180.0) -> None:
    deadline = time.monotonic() + timeout_s
    routers = [stack.root / "logs" / f"router-{x}.log" for x in "ab"]
    while True:
        for name in list(stack.components):
            stack.check_running(name)
        try:
            ready = httpx.get(f"{url}/readyz", timeout=2).status_code == 200
        except httpx.HTTPError:
            ready = False
        if ready and any(b"caught up with the log" in p.read_bytes() for p in routers if p.exists()):
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"the stack was not ready within {timeout_s:.0f} s; see "
                               f"{stack.root / 'logs'}")
        time.sleep(0.5)  # polling interval of a deadline wait


async def _traffic(stack: BenchStack, cfg: ChaosConfig, settings: Settings,
                   publisher: HttpPublisher, outcome: Outcome,
                   late_ok: list[tuple[datetime, datetime]]) -> dict[str, Any]:
    stop = asyncio.Event()
    desks = asyncio.create_task(run_live(_desks(cfg), settings, publisher, stop=stop,
                                         settle_s=30.0, progress_interval=15.0))
    faults = plan(cfg.seed, cfg.duration_s, cfg.every_s)
    rng = random.Random(cfg.seed)
    began = asyncio.get_running_loop().time()
    late_ok.append(_window(WARM_UP_S))
    try:
        for fault in faults:
            await _until(desks, began + fault.at_s)
            late_ok.append(_window(RECOVERY_S))
            what = await asyncio.to_thread(_strike, stack, cfg, fault, rng)
            outcome.faults.append((fault.at_s, fault.kind.value, what))
            print(f"chaos: {fault.at_s:6.1f} s  {fault.kind.value}: {what}", flush=True)
        await _until(desks, began + cfg.duration_s)
    finally:
        stop.set()
    return await desks


def _window(seconds: float) -> tuple[datetime, datetime]:
    now = datetime.now(UTC)
    return now, now + timedelta(seconds=seconds)


async def _until(desks: asyncio.Task[Any], at: float) -> None:
    """Sleep until loop time `at`; raise at once if the desks stopped on an error."""
    loop = asyncio.get_running_loop()
    while loop.time() < at:
        if desks.done():
            desks.result()
            raise RuntimeError("the simulated desks stopped before the run ended")
        await asyncio.sleep(min(0.5, at - loop.time()))


def _strike(stack: BenchStack, cfg: ChaosConfig, fault: Fault, rng: random.Random) -> str:
    if fault.kind in KILLS:
        names = sorted(n for n in stack.components if n.startswith(KILLS[fault.kind]))
        name = rng.choice(names)
        pid = stack.components[name].proc.pid
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            return f"{name} (already down)"
        return f"{name} (pid {pid})"
    began = time.monotonic()
    if fault.kind is Kind.RESTART_KAFKA:
        stop_kafka(stack.kafka_dir)
        start_kafka(stack.kafka_dir, cfg.ports.kafka, cfg.ports.kafka_controller,
                    PROJECT_ROOT / ".cache", quiet=True)
    else:
        stop_postgres(stack.postgres_dir)
        start_postgres(stack.postgres_dir, cfg.ports.postgres)
    return f"down and up again in {time.monotonic() - began:.1f} s"


def _settle(settings: Settings, quiet_s: float = 5.0, timeout_s: float = 120.0) -> None:
    """Wait until nothing new reaches the domain topics for `quiet_s` (the routers' last
    expiries and the desks' goodbyes)."""
    deadline, last, since = time.monotonic() + timeout_s, visible_ends(settings), time.monotonic()
    while time.monotonic() - since < quiet_s and time.monotonic() < deadline:
        time.sleep(1.0)  # polling interval of a deadline wait
        now = visible_ends(settings)
        if now != last:
            last, since = now, time.monotonic()


def _drain(stack: BenchStack, settings: Settings) -> None:
    """Wait until the workers and the projector committed everything a read-committed
    consumer receives (the restarted components catch up first)."""
    ends = visible_ends(settings)
    group, stored = GroupOffsets(settings, WORKER_ID), ProjectorOffsets(settings)
    deadline, note = time.monotonic() + DRAIN_DEADLINE_S, 0.0
    try:
        while True:
            lags = {"workers": _behind(ends, group.read()), "projector": _behind(ends, stored.read())}
            if not any(lags.values()):
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"consumers still behind after {DRAIN_DEADLINE_S:.0f} s: {lags}")
            if time.monotonic() - note > 10:
                note = time.monotonic()
                print(f"chaos: waiting for the consumers to catch up: {lags}", flush=True)
            for name in list(stack.components):
                stack.check_running(name)
            time.sleep(0.5)  # polling interval of a deadline wait
    finally:
        group.close()
        stored.close()


def _behind(ends: Offsets, committed: Offsets) -> int:
    return sum(max(0, end - committed.get(tp, 0)) for tp, end in ends.items())
