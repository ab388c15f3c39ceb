"""Phase "rebuild": top the log up to the target size, then time `switchboard rebuild`."""

from __future__ import annotations

import time
from typing import Any

import orjson

from services.bench.corpus import CorpusEvent, Variants, produce
from services.bench.offsets import log_ends
from services.bench.stack import BenchStack

SCHEMA = "bench_rebuild"


def top_up(stack: BenchStack, base: list[CorpusEvent], variants: Variants, target: int) -> None:
    """Produce fresh copies of `base` until the domain topics hold `target` events."""
    settings = stack.settings()
    missing = target - sum(log_ends(settings).values())
    if missing > 0:
        produce(settings, variants.copies(base, missing), missing, "rebuild log")


def run_rebuild(stack: BenchStack) -> dict[str, Any]:
    """Run the rebuild subprocess into a fresh schema; its own stats plus the wall time."""
    events_on_log = sum(log_ends(stack.settings()).values())
    print(f"bench: rebuild of {events_on_log:,} events into schema {SCHEMA}...", flush=True)
    began = time.monotonic()
    comp = stack.start("rebuild", ["-m", "services.cli.main", "rebuild", "--schema", SCHEMA])
    code = stack.wait("rebuild", timeout_s=3600)
    wall = time.monotonic() - began
    if code != 0:
        raise RuntimeError(f"rebuild exited with {code}; see {comp.log}")
    stats: dict[str, Any] = {}
    for line in reversed(comp.log.read_text(errors="replace").splitlines()):
        if line.startswith("{"):
            stats = orjson.loads(line)
            break
    seconds = float(stats.get("seconds", wall))
    events = int(stats.get("events", events_on_log))
    print(f"bench: rebuild: {events:,} events in {seconds:.1f}s", flush=True)
    return {"events": events, "events_on_log": events_on_log, "seconds": seconds,
            "wall_seconds": wall, "events_per_s": events / seconds if seconds else 0.0,
            "rejects": stats.get("rejects")}
