"""`python -m services.bench` (`make bench`): the benchmark of issues 2 §8, 3 and 11 on its
own stack.

Order: the pure routing policy; drain (a backlog on a fresh log: baseline, what bounds
the worker and the projector, then each of them); routing alone; sustained load through
the ingest API; the same with the router and 500 live agents; the knee (the offered rate
ramped in steps with all of that running); the router restarted on the whole log; a
rebuild of the whole log topped up to `--rebuild-events`; the workers' memory as
conversations close and age out. Prints a table and writes `bench-results/bench.json`.
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
from services.bench.corpus import Variants, generate
from services.bench.drain import WORKER_ID, run_drain, worker_names
from services.bench.knee import run_knee
from services.bench.memory_phase import MemoryConfig, run_memory
from services.bench.offsets import log_ends
from services.bench.policy_phase import run_policy
from services.bench.processes import machine, vm_hwm_kb
from services.bench.rebuild_phase import run_rebuild, top_up
from services.bench.report import render_table, targets
from services.bench.routing_runs import (
    finish_desks,
    restart_router,
    route,
    start_desks,
    start_router,
)
from services.bench.stack import BenchStack
from services.bench.sustained import SustainedConfig, run_sustained
from services.runtime.settings import PROJECT_ROOT

ROUTER_NICE = -10
"""The router's CPU priority in the bench: on two cores shared with the broker, the
database, the workers and the load generator, a router at equal priority waits for CPU
(its queued -> offered p99 then measured 263-573 ms on 2026-12-02, against 88 ms at -10)."""
KNEE_RATES = (1000.0, 1500.0, 2000.0, 2500.0, 3000.0, 3500.0, 4000.0)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Command line; `--quick` swaps in small figures for a smoke run."""
    p = argparse.ArgumentParser(prog="switchboard bench", description=__doc__)
    p.add_argument("--quick", action="store_true",
                   help="10 s, 20k drain, 50k rebuild, knee steps of 8 s, a short memory phase")
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
    p.add_argument("--knee-rates", type=float, nargs="*", default=list(KNEE_RATES),
                   help="offered events/s of the knee's steps, in order (none: no knee)")
    p.add_argument("--knee-hold", type=float, default=None, help="seconds per knee step (60)")
    p.add_argument("--memory", action=argparse.BooleanOptionalAction, default=True,
                   help="run the memory phase (conversations closing and aging out)")
    p.add_argument("--out", type=Path, default=PROJECT_ROOT / "bench-results" / "bench.json")
    args = p.parse_args(argv)
    quick = args.quick
    args.duration = args.duration or (10.0 if quick else 60.0)
    args.drain_events = args.drain_events or (20_000 if quick else 200_000)
    args.rebuild_events = args.rebuild_events or (50_000 if quick else 1_000_000)
    args.base_events = args.base_events or (20_000 if quick else 60_000)
    args.route_baseline_s = args.route_baseline_s or (10.0 if quick else 30.0)
    args.knee_hold = args.knee_hold or (8.0 if quick else 60.0)
    if args.router_nice is None:
        args.router_nice = ROUTER_NICE if os.geteuid() == 0 else 0
        if args.router_nice == 0:
            print("bench: not root, so the router runs at the same CPU priority as the rest "
                  "(routing under load then measures the machine's saturation)", flush=True)
    elif args.router_nice < 0 and os.geteuid() != 0:
        p.error("--router-nice below 0 needs root; use 0")
    return args


def memory_config(args: argparse.Namespace) -> MemoryConfig:
    """The memory phase's traffic: about 90 s of closing conversations at 1,500 events/s,
    then three steps of about 10,000 open conversations (a fraction with `--quick`)."""
    if args.quick:
        return MemoryConfig(workers=args.workers, rate=1500.0, steady_copies=2, fill_steps=3,
                            fill_copies=1)
    return MemoryConfig(workers=args.workers, rate=1500.0, steady_copies=3, fill_steps=3,
                        fill_copies=5)


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def run(args: argparse.Namespace, stack: BenchStack) -> dict[str, Any]:
    """All phases in order; returns the results document."""
    results: dict[str, Any] = {"machine": machine(), "config": {
        k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}}
    results["policy"] = run_policy()  # pure, in-process: before anything else runs
    stack.start_servers()
    base, variants = generate(args.base_events), Variants()
    stack.phase = "drain"
    results["drain"] = run_drain(stack, base, variants, args.drain_events, args.workers)
    stack.start("ingest", ["-m", "services.cli.main", "ingest"], supervised=True)
    offered = int(args.rate * args.duration)
    cfg = SustainedConfig(rate=args.rate, duration_s=args.duration, lanes=args.lanes)
    settings = stack.settings(SWITCHBOARD_WORKER_ID=WORKER_ID)
    # Routing alone first, while the worker and projector are idle: the router's own figures.
    routing_config = routing.write_config(stack.root / "routing.toml")
    stack.phase = "routing alone"
    catch_up_s = start_router(stack, routing_config, args.router_nice)
    results["routing_baseline"] = {
        **route(stack, settings, routing_config, routing.BASELINE_RUN, args.route_baseline_s,
                args.route_rate), "catch_up_s": catch_up_s}
    stack.stop("router")
    # The backbone's sustained load on its own (issue 2 §8) ...
    stack.phase = "sustained"
    results["sustained"] = asyncio.run(run_sustained(settings, variants.copies(base, offered), cfg))
    # ... and again with the router and 500 live agents (issue 3), snapshotting as deployed.
    snapshot = stack.root / "router.snapshot"
    snapshot.unlink(missing_ok=True)  # an earlier run's, of another log
    stack.phase = "sustained with routing"
    catch_up_s = start_router(stack, routing_config, args.router_nice, snapshot)
    began = time.monotonic()
    desks = start_desks(stack, routing.LOADED_RUN, args.duration, args.route_rate)
    results["sustained_with_routing"] = asyncio.run(
        run_sustained(settings, variants.copies(base, offered), cfg))
    results["routing"] = {**finish_desks(stack, settings, routing_config, routing.LOADED_RUN,
                                         desks, args.duration, began),
                          "catch_up_s": catch_up_s}
    if args.knee_rates:  # the knee (issue 11), with the router and 500 live agents again
        stack.phase = "knee"
        start_desks(stack, routing.KNEE_RUN, len(args.knee_rates) * (args.knee_hold + 30),
                    args.route_rate)
        results["knee"] = run_knee(settings, lambda n: variants.copies(base, n), args.knee_rates,
                                   args.knee_hold, args.lanes)
        stack.stop(f"desks-{routing.KNEE_RUN}")
    for name in ("ingest", *worker_names(args.workers), "projector", "router"):
        stack.stop(name)
    stack.phase = "router restart"
    results["router_restart"] = {
        **restart_router(stack, routing_config, args.router_nice, snapshot),
        "log_events": sum(log_ends(settings).values())}
    stack.phase = "rebuild"
    top_up(stack, base, variants, args.rebuild_events)
    results["rebuild"] = run_rebuild(stack)
    if args.memory:  # last, with nothing else running (issue 11)
        stack.phase = "memory"
        results["memory"] = run_memory(stack, base, variants, memory_config(args))
    return results


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
    stack.peak_rss_kb["bench (load generator, probes, ceilings)"] = vm_hwm_kb(os.getpid()) or 0
    results["peak_rss_mb"] = {k: v / 1024 for k, v in stack.peak_rss_kb.items()}
    results["exits"] = stack.exits
    results["total_seconds"] = time.monotonic() - began
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(orjson.dumps(results, option=orjson.OPT_INDENT_2))
    print(render_table(results))
    print(f"\nbench: results in {args.out} ({results['total_seconds']:.0f}s)")
    return 1 if any(t.passed is False for t in targets(results)) else 0


if __name__ == "__main__":
    # Through the command line's entry, so `python -m` gets its settings check, its clean
    # stop on SIGTERM and its messages instead of a traceback.
    from services.cli.main import main as switchboard

    sys.exit(switchboard(["bench", *sys.argv[1:]]))
