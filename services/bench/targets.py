"""Pure: the benchmark's targets (issues 2 §8, 3 and 11), each checked against a run's
results. Timing goals are ratios to ceilings measured in the same run where the issue
says so."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

Results = Mapping[str, Any]
MAX_LAG_P99_MS = 500.0
MAX_ROUTING_P99_MS = 100.0
MIN_DRAIN_EPS = 5000.0
MIN_CEILING_RATIO = 0.6
"""Worker drain to Faust doing nothing, projector drain to its folds alone (issue 11 §5)."""
MIN_KNEE_EPS = 3000.0
MAX_WORKER_RSS_MB = 400.0
WORKER = "worker"
"""Bench names of worker processes start with this (`drain.worker_names`)."""


@dataclass(frozen=True, slots=True)
class Target:
    """One checked figure: what was measured against what the issue asks."""

    name: str
    measured: str
    goal: str
    passed: bool | None
    """None when the phase did not run or produced no figure."""


def field_at(results: Results, *path: str) -> Any:
    """The value at `path` in nested results, None when any step is missing or None."""
    node: Any = results
    for key in path:
        if not isinstance(node, Mapping) or key not in node or node[key] is None:
            return None
        node = node[key]
    return node


def _at_least(name: str, value: float | None, goal: float, fmt: str) -> Target:
    if value is None:
        return Target(name, "n/a", f">= {goal:{fmt}}", None)
    return Target(name, f"{value:{fmt}}", f">= {goal:{fmt}}", value >= goal)


def _at_most(name: str, value: float | None, goal: float, fmt: str) -> Target:
    if value is None:
        return Target(name, "n/a", f"<= {goal:{fmt}}", None)
    return Target(name, f"{value:{fmt}}", f"<= {goal:{fmt}}", value <= goal)


def _ratio(results: Results, top: str, bottom: str) -> float | None:
    over, under = field_at(results, "drain", top), field_at(results, "drain", bottom)
    return over / under if over is not None and under else None


def worst_worker_rss(results: Results) -> tuple[str, float] | None:
    """The worker process with the highest peak RSS (MB) in the run, of every worker run."""
    peaks = {name: mb for name, mb in (field_at(results, "peak_rss_mb") or {}).items()
             if name.startswith(WORKER)}
    if not peaks:
        return None
    name = max(peaks, key=lambda n: peaks[n])
    return name, peaks[name]


def _sustained(results: Results) -> list[Target]:
    out = [_at_most("sustained: end-to-end lag p99 (ms)",
                    field_at(results, "sustained", "lag", "p99_ms"), MAX_LAG_P99_MS, ".0f"),
           _at_most("sustained: live tables lag p99 (ms)",
                    field_at(results, "sustained", "live_lag", "p99_ms"), MAX_LAG_P99_MS, ".0f")]
    for consumer in ("worker", "projector"):
        verdict = field_at(results, "sustained", "backlog", consumer)
        out.append(Target(f"sustained: {consumer} backlog not growing",
                          "n/a" if verdict is None else
                          f"{verdict['trough_slope_per_s']:+.0f} ev/s (slope of 10 s troughs)",
                          f"<= {verdict['max_slope_per_s']:.0f} ev/s" if verdict else "flat",
                          None if verdict is None else bool(verdict["passed"])))
    offered = field_at(results, "sustained", "offered_rate")
    if offered is not None:
        out.append(_at_least("sustained: accepted events/s",
                             field_at(results, "sustained", "achieved_rate"), 0.98 * offered,
                             ",.0f"))
    return out


def targets(results: Results) -> list[Target]:
    """Every target with PASS/FAIL (None = not measured)."""
    out = _sustained(results)
    for key, label in (("routing_baseline", "routing alone"), ("routing", "routing under load")):
        out.append(_at_most(f"{label}: queued -> offered p99 (ms)",
                            field_at(results, key, "queued_to_decided", "p99_ms"),
                            MAX_ROUTING_P99_MS, ".0f"))
    violations = field_at(results, "routing_baseline", "violation_count")
    out.append(Target("routing alone: invariant violations", "n/a" if violations is None else
                      str(violations), "0", None if violations is None else violations == 0))
    for consumer in ("worker", "projector"):
        out.append(_at_least(f"drain: {consumer} events/s",
                             field_at(results, "drain", f"{consumer}_eps"), MIN_DRAIN_EPS, ",.0f"))
    out.append(_at_least("drain: worker / Faust doing nothing",
                         _ratio(results, "worker_eps", "faust_noop_eps"), MIN_CEILING_RATIO, ".2f"))
    out.append(_at_least("drain: projector / its folds alone",
                         _ratio(results, "projector_eps", "projector_folds_eps"),
                         MIN_CEILING_RATIO, ".2f"))
    knee = field_at(results, "knee")
    out.append(Target("knee: highest rate held (events/s)", "n/a" if knee is None else
                      "none" if knee["knee_rate"] is None else f"{knee['knee_rate']:,.0f}",
                      f">= {MIN_KNEE_EPS:,.0f}",
                      None if knee is None else (knee["knee_rate"] or 0) >= MIN_KNEE_EPS))
    exits = field_at(results, "exits")
    out.append(Target("processes that exited during the run", "n/a" if exits is None else
                      str(len(exits)), "0", None if exits is None else not exits))
    worst = worst_worker_rss(results)
    out.append(_at_most("peak RSS per worker process (MB)" + (f": {worst[0]}" if worst else ""),
                        worst[1] if worst else None, MAX_WORKER_RSS_MB, ",.0f"))
    return out
