"""The router and its live desks in the bench stack: started, stopped and audited (the
phases that need them: routing alone, routing under load, the knee, the restarts)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import orjson

from services.bench import routing_phase as routing
from services.bench.drain import CLI
from services.bench.stack import BenchStack
from services.runtime.settings import Settings


def start_router(stack: BenchStack, config: Path, nice: int,
                 snapshot: Path | None = None) -> float:
    """Start the router and wait until it has read the whole log; the seconds that took."""
    log = stack.root / "logs" / "router.log"
    written = log.stat().st_size if log.exists() else 0  # the log is appended to
    stack.start("router", [*CLI, "router", "--config", str(config), "--domain", routing.DOMAIN,
                           "--instance", "bench",
                           *(["--snapshot", str(snapshot)] if snapshot else [])], nice=nice,
                supervised=True)
    seconds = routing.wait_caught_up(log, after=written)
    restored = snapshot is not None and "restored snapshot" in log.read_bytes()[written:].decode(
        errors="replace")
    print(f"bench: router caught up with the log in {seconds:.1f}s"
          + (" (from its snapshot)" if restored else ""), flush=True)
    return seconds


def restart_router(stack: BenchStack, config: Path, nice: int, snapshot: Path) -> dict[str, Any]:
    """The router started again on the whole log, nothing else running: from offset 0, then
    from the snapshot it wrote when the loaded phase stopped it."""
    size = snapshot.stat().st_size
    replay_s = start_router(stack, config, nice)
    stack.stop("router")
    restore_s = start_router(stack, config, nice, snapshot)
    stack.stop("router")
    return {"replay_s": replay_s, "restore_s": restore_s, "snapshot_bytes": size}


def start_desks(stack: BenchStack, run: str, duration_s: float, rate: float) -> Path:
    """The live desks of `run` as their own process; the file their stats go to."""
    out = stack.root / f"desks-{run}.json"
    stack.start(f"desks-{run}", ["-m", "services.bench.routing_phase", "--run", run, "--duration",
                                 str(duration_s), "--rate", str(rate), "--out", str(out)])
    return out


def finish_desks(stack: BenchStack, settings: Settings, config: Path, run: str, out: Path,
                 duration_s: float, began: float) -> dict[str, Any]:
    """Wait for the desks of `run` to end, then audit the run's log."""
    if stack.wait(f"desks-{run}", timeout_s=duration_s + 120) != 0:
        raise RuntimeError(f"the live desks failed; see {stack.root / 'logs' / f'desks-{run}.log'}")
    seconds = time.monotonic() - began
    stack.check_running("router")
    return routing.measure(settings, run, config, orjson.loads(out.read_bytes()), seconds)


def route(stack: BenchStack, settings: Settings, config: Path, run: str, duration_s: float,
          rate: float) -> dict[str, Any]:
    """The live desks with only the broker and the router busy: the router's own latency."""
    began = time.monotonic()
    out = start_desks(stack, run, duration_s, rate)
    return finish_desks(stack, settings, config, run, out, duration_s, began)
