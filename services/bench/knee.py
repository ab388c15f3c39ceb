"""Phase "knee": the offered rate through the ingest API ramped in steps, each held like the
sustained phase (same load generator, probes and backlog test), with the worker, the
projector and the router with its 500 live agents running; the knee is the highest rate
the stack holds. The ramp stops at the first step that fails."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from services.bench.corpus import CorpusEvent
from services.bench.sustained import SustainedConfig, run_sustained
from services.runtime.settings import Settings

MAX_P99_MS = 500.0
"""End-to-end lag (ingest 202 -> row in PostgreSQL) a held step stays within, at p99."""
MIN_ACCEPTED = 0.98
"""Share of the offered rate the ingest API must accept for a step to hold."""
PROBE_GRACE_S = 10.0
"""How long a step waits for its last probes: one still unseen then lagged 20 times the
goal, so the step failed whatever the wait."""


@dataclass(frozen=True, slots=True)
class StepVerdict:
    """Whether one step of the ramp held, and if not, why."""

    rate: float
    held: bool
    reasons: tuple[str, ...]


def step_verdict(step: Mapping[str, Any], max_p99_ms: float = MAX_P99_MS) -> StepVerdict:
    """Judge a sustained run: end-to-end p99 within `max_p99_ms`, every probe seen, the
    offered rate accepted, and neither the worker's nor the projector's backlog growing."""
    reasons: list[str] = []
    lag = step.get("lag")
    if not lag:
        reasons.append("no probe seen")
    elif lag["p99_ms"] > max_p99_ms:
        reasons.append(f"end-to-end p99 {lag['p99_ms']:.0f} ms")
    if step.get("probes_unseen"):
        reasons.append(f"{step['probes_unseen']} probes unseen")
    if step["achieved_rate"] < MIN_ACCEPTED * step["offered_rate"]:
        reasons.append(f"accepted {step['achieved_rate']:,.0f}/s")
    for consumer in ("worker", "projector"):
        verdict = (step.get("backlog") or {}).get(consumer)
        if verdict is None:
            reasons.append(f"no {consumer} backlog figure")
        elif not verdict["passed"]:
            reasons.append(f"{consumer} backlog growing {verdict['trough_slope_per_s']:+,.0f}/s")
    return StepVerdict(step["offered_rate"], not reasons, tuple(reasons))


def knee_of(verdicts: Sequence[StepVerdict]) -> float | None:
    """The highest rate held, counting only the steps before the first that failed (None
    when the first step failed)."""
    knee: float | None = None
    for verdict in verdicts:
        if not verdict.held:
            break
        knee = verdict.rate if knee is None else max(knee, verdict.rate)
    return knee


def run_knee(settings: Settings, events: Callable[[int], Iterator[CorpusEvent]],
             rates: Sequence[float], hold_s: float, lanes: int) -> dict[str, Any]:
    """Hold each rate of `rates` for `hold_s` through a running stack until one fails;
    `events(n)` gives each step `n` fresh events."""
    steps: list[dict[str, Any]] = []
    verdicts: list[StepVerdict] = []
    for rate in rates:
        print(f"bench: knee: {rate:,.0f} events/s for {hold_s:.0f}s", flush=True)
        cfg = SustainedConfig(rate=rate, duration_s=hold_s, lanes=lanes,
                              probe_grace_s=PROBE_GRACE_S)
        step = asyncio.run(run_sustained(settings, events(int(rate * hold_s)), cfg))
        verdict = step_verdict(step)
        steps.append({**step, "held": verdict.held, "reasons": list(verdict.reasons)})
        verdicts.append(verdict)
        print(f"bench: knee: {rate:,.0f} events/s "
              + ("held" if verdict.held else "not held: " + "; ".join(verdict.reasons)),
              flush=True)
        if not verdict.held:
            break
    return {"hold_s": hold_s, "rates": list(rates), "steps": steps,
            "knee_rate": knee_of(verdicts), "max_p99_ms": MAX_P99_MS}
