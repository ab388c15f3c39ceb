"""Summaries of durations: n, mean, p50, p90 (seconds).

Percentiles interpolate linearly between the closest ranks: for p in [0, 1] over n
sorted values v[0..n-1], the rank is h = p * (n - 1) and the value
v[floor(h)] + (h - floor(h)) * (v[floor(h) + 1] - v[floor(h)]). This is PostgreSQL's
`percentile_cont` and numpy's default, so a figure from the live state, from the
durable store and from an offline fold of the log is the same number.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class DurationSummary:
    n: int
    mean: float | None
    p50: float | None
    p90: float | None


def percentile(ordered: list[float], p: float) -> float | None:
    """The `p` percentile (0..1) of values sorted ascending; None when there are none."""
    if not ordered:
        return None
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"a percentile is between 0 and 1, not {p}")
    rank = p * (len(ordered) - 1)
    low = math.floor(rank)
    if low + 1 >= len(ordered):
        return ordered[low]
    return ordered[low] + (rank - low) * (ordered[low + 1] - ordered[low])


def summarize(values: Iterable[float]) -> DurationSummary:
    """n, mean, p50 and p90 of `values` (seconds); mean and percentiles None when n is 0."""
    ordered = sorted(values)
    if not ordered:
        return DurationSummary(0, None, None, None)
    return DurationSummary(len(ordered), math.fsum(ordered) / len(ordered),
                           percentile(ordered, 0.5), percentile(ordered, 0.9))
