"""`python -m services.bench` (`make bench`): the issue-2 §8 benchmark on its own stack.

Order: drain (backlog on a fresh log: baseline, worker, projector), then sustained
load through the ingest API with the now caught-up worker and projector, then a
rebuild of the whole log topped up to `--rebuild-events`. Prints a table and
writes `bench-results/bench.json`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import Any

import orjson

from services.bench import routing_phase as routing
from services.bench.corpus import copies, generate, variants_needed
from services.bench.drain import CLI, WORKER_ID, run_drain, worker_names
from services.bench.policy_phase import run_policy
from services.bench.processes import machine
from services.bench.rebuild_phase import run_rebuild, top_up
from services.bench.report import render_table, targets
from services.bench.stack import BenchStack
from services.bench.sustained import SustainedConfig, run_sustained
from services.runtime.settings import PROJECT_ROOT, Settings

ROUTER_NICE = -10
"""The router's CPU priority in the bench: on two cores shared with the broker, the
database, the workers and the load generator, a router at equal priority waits for CPU
(its queued -> offered p99 then measured 263-573 ms on 2026-12-02, against 88 ms at -10)."""


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Command line; `--quick` swaps in small figures for a smoke run."""
    p = argparse.ArgumentParser(prog="switchboard bench", description=__doc__)
    p.add_argument("--quick", action="store_true", help="10 s, 20k drain, 50k rebuild")
    p.add_argument("--rate", type=float, default=2000.0, help="offered events/s (sustained)")
    p.add_argument("--duration", type=float, default=None, help="sustained seconds (60)")
    p.add_argument("--drain-events", type=int, default=None, help="backlog size (200000)")
    p.add_argument("--rebuild-events", type=int, default=None, help="log size (1000000)")
    p.add_argument("--base-events", type=int, default=None,
                   help="simulated base corpus, copied into distinct aggregates (60000)")
    p.add_argument("--lanes", type=int, default=4, help="concurrent HTTP connections")
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                   help="worker processes sharing the partitions (default: one per core)")
    p.add_argument("--route-rate", type=float, default=40.0,
                   help="live conversations/s for the router's 500 agents")
    p.add_argument("--router-nice", type=int, default=None,
                   help="CPU priority of the router (default -10 when run as root, else 0: "
                        "ahead of everything else, as a deployment gives it a core of its own; "
                        "0 measures it on equal terms)")
    p.add_argument("--route-baseline-s", type=float, default=None,
                   help="seconds of routing with nothing else running (30; quick 10)")
    p.add_argument("--out", type=Path, default=PROJECT_ROOT / "bench-results" / "bench.json")
    args = p.parse_args(argv)
    quick = args.quick
    args.duration = args.duration or (10.0 if quick else 60.0)
    args.drain_events = args.drain_events or (20_000 if quick else 200_000)
    args.rebuild_events = args.rebuild_events or (50_000 if quick else 1_000_000)
    args.base_events = args.base_events or (20_000 if quick else 60_000)
    args.route_baseline_s = args.route_baseline_s or (10.0 if quick else 30.0)
    if args.router_nice is None:
        args.router_nice = ROUTER_NICE if os.geteuid() == 0 else 0
        if args.router_nice == 0:
            print("bench: not root, so the router runs at the same CPU priority as the rest "
                  "(routing under load then measures the machine's saturation)", flush=True)
    elif args.router_nice < 0 and os.geteuid() != 0:
        p.error("--router-nice below 0 needs root; use 0")
    return args


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def run(args: argparse.Namespace, stack: BenchStack) -> dict[str, Any]:
    """All phases in order; returns the results document."""
    results: dict[str, Any] = {"machine": machine(), "config": {
        k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}}
    results["policy"] = run_policy()  # pure, in-process: before anything else runs
    stack.start_servers()
    base = generate(args.base_events)
    variant = 0
    results["drain"] = run_drain(stack, base, variant, args.drain_events, args.workers)
    variant += variants_needed(len(base), args.drain_events)
    stack.start("ingest", [*CLI, "ingest"])
    offered = int(args.rate * args.duration)
    cfg = SustainedConfig(rate=args.rate, duration_s=args.duration, lanes=args.lanes)
    settings = stack.settings(SWITCHBOARD_WORKER_ID=WORKER_ID)
    # Routing alone first, while the worker and projector are idle: the router's own figures.
    routing_config = routing.write_config(stack.root / "routing.toml")
    catch_up_s = _start_router(stack, routing_config, args.router_nice)
    results["routing_baseline"] = {
        **_route(stack, settings, routing_config, routing.BASELINE_RUN, args.route_baseline_s,
                 args.route_rate), "catch_up_s": catch_up_s}
    stack.stop("router")
    # The backbone's sustained load on its own (issue 2 §8) ...
    results["sustained"] = asyncio.run(run_sustained(settings, copies(base, variant, offered), cfg))
    variant += variants_needed(len(base), offered)
    # ... and again with the router and 500 live agents (issue 3), snapshotting as deployed.
    snapshot = stack.root / "router.snapshot"
    snapshot.unlink(missing_ok=True)  # an earlier run's, of another log
    catch_up_s = _start_router(stack, routing_config, args.router_nice, snapshot)
    began = time.monotonic()
    desks = _start_desks(stack, routing.LOADED_RUN, args.duration, args.route_rate)
    results["sustained_with_routing"] = asyncio.run(
        run_sustained(settings, copies(base, variant, offered), cfg))
    results["routing"] = {**_finish_desks(stack, settings, routing_config, routing.LOADED_RUN,
                                          desks, args.duration, began),
                          "catch_up_s": catch_up_s}
    variant += variants_needed(len(base), offered)
    for name in ("ingest", *worker_names(args.workers), "projector", "router"):
        stack.stop(name)
    results["router_restart"] = _restart_router(stack, routing_config, args.router_nice, snapshot)
    top_up(stack, base, variant, args.rebuild_events)
    results["rebuild"] = run_rebuild(stack)
    return results


def _start_router(stack: BenchStack, config: Path, nice: int,
                  snapshot: Path | None = None) -> float:
    """Start the router and wait until it has read the whole log; the seconds that took."""
    log = stack.root / "logs" / "router.log"
    written = log.stat().st_size if log.exists() else 0  # the log is appended to
    stack.start("router", [*CLI, "router", "--config", str(config), "--domain", routing.DOMAIN,
                           "--instance", "bench",
                           *(["--snapshot", str(snapshot)] if snapshot else [])], nice=nice)
    seconds = routing.wait_caught_up(log, after=written)
    restored = snapshot is not None and "restored snapshot" in log.read_bytes()[written:].decode(
        errors="replace")
    print(f"bench: router caught up with the log in {seconds:.1f}s"
          + (" (from its snapshot)" if restored else ""), flush=True)
    return seconds


def _restart_router(stack: BenchStack, config: Path, nice: int, snapshot: Path) -> dict[str, Any]:
    """The router started again on the whole log, nothing else running: from offset 0, then
    from the snapshot it wrote when the loaded phase stopped it."""
    size = snapshot.stat().st_size
    replay_s = _start_router(stack, config, nice)
    stack.stop("router")
    restore_s = _start_router(stack, config, nice, snapshot)
    stack.stop("router")
    return {"replay_s": replay_s, "restore_s": restore_s, "snapshot_bytes": size}


def _start_desks(stack: BenchStack, run: str, duration_s: float, rate: float) -> Path:
    out = stack.root / f"desks-{run}.json"
    stack.start(f"desks-{run}", ["-m", "services.bench.routing_phase", "--run", run, "--duration",
                                 str(duration_s), "--rate", str(rate), "--out", str(out)])
    return out


def _finish_desks(stack: BenchStack, settings: Settings, config: Path, run: str, out: Path,
                  duration_s: float, began: float) -> dict[str, Any]:
    if stack.wait(f"desks-{run}", timeout_s=duration_s + 120) != 0:
        raise RuntimeError(f"the live desks failed; see {stack.root / 'logs' / f'desks-{run}.log'}")
    seconds = time.monotonic() - began
    stack.check_running("router")
    return routing.measure(settings, run, config, orjson.loads(out.read_bytes()), seconds)


def _route(stack: BenchStack, settings: Settings, config: Path, run: str, duration_s: float,
           rate: float) -> dict[str, Any]:
    """The live desks with only the broker and the router busy: the router's own latency."""
    began = time.monotonic()
    out = _start_desks(stack, run, duration_s, rate)
    return _finish_desks(stack, settings, config, run, out, duration_s, began)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; exit 0 when every target passed, 1 when one failed."""
    args = parse_args(argv)
    stack = BenchStack(PROJECT_ROOT / ".cache" / "bench")
    signal.signal(signal.SIGTERM, _raise_interrupt)
    began = time.monotonic()
    results: dict[str, Any] = {}
    try:
        results = run(args, stack)
    except KeyboardInterrupt:
        print("bench: interrupted; stopping the bench stack", file=sys.stderr, flush=True)
        return 130
    finally:
        stack.close()
    results["peak_rss_mb"] = {k: v / 1024 for k, v in stack.peak_rss_kb.items()}
    results["total_seconds"] = time.monotonic() - began
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(orjson.dumps(results, option=orjson.OPT_INDENT_2))
    print(render_table(results))
    print(f"\nbench: results in {args.out} ({results['total_seconds']:.0f}s)")
    return 1 if any(t.passed is False for t in targets(results)) else 0


if __name__ == "__main__":
    sys.exit(main())
