"""Pure statistics for the benchmark: latency percentiles and the backlog trend test."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100), nearest-rank method: always a value that was measured."""
    if not values:
        raise ValueError("percentile of no values")
    if not 0 <= q <= 100:
        raise ValueError("q must be within [0, 100]")
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass(frozen=True, slots=True)
class LatencySummary:
    """Milliseconds; `count` is how many probes were measured."""

    count: int
    p50_ms: float
    p99_ms: float
    max_ms: float
    mean_ms: float


def summarize_ms(seconds: Sequence[float]) -> LatencySummary | None:
    """Percentiles of latencies given in seconds, reported in milliseconds (None when empty)."""
    if not seconds:
        return None
    ms = [s * 1000 for s in seconds]
    return LatencySummary(count=len(ms), p50_ms=percentile(ms, 50), p99_ms=percentile(ms, 99),
                          max_ms=max(ms), mean_ms=sum(ms) / len(ms))


def slope(points: Sequence[tuple[float, float]]) -> float:
    """Least-squares slope of y over x (0 for fewer than two distinct x)."""
    if len(points) < 2:
        return 0.0
    n = len(points)
    mean_x = sum(x for x, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    var_x = sum((x - mean_x) ** 2 for x, _ in points)
    if var_x == 0:
        return 0.0
    return sum((x - mean_x) * (y - mean_y) for x, y in points) / var_x


@dataclass(frozen=True, slots=True)
class BacklogVerdict:
    """Whether a consumer kept up: the troughs of its lag did not trend up."""

    samples: int
    max_lag: int
    final_lag: int
    trough_slope_per_s: float
    """Growth of the lag's troughs (the least lag of each window after the first), events
    per second (negative: shrinking)."""
    max_slope_per_s: float
    passed: bool


def backlog_verdict(samples: Sequence[tuple[float, int]], window_s: float,
                    max_slope_per_s: float) -> BacklogVerdict | None:
    """Judge a lag series `(seconds, lag)`: pass when the least lag of each `window_s`
    window, after the first (start-up), grows by at most `max_slope_per_s`. A lag read
    from committed offsets is a sawtooth (it climbs between commits, seconds apart, and
    drops at each), whose slope over any one window says nothing; its troughs rise only
    when the consumer falls behind."""
    if not samples:
        return None
    began = samples[0][0]
    troughs: dict[int, tuple[float, float]] = {}
    for t, lag in samples:
        window = int((t - began) // window_s)
        if window >= 1 and (window not in troughs or lag < troughs[window][1]):
            troughs[window] = (t, float(lag))
    points = list(troughs.values()) if len(troughs) >= 2 else \
        [(t, float(lag)) for t, lag in samples]
    growth = slope(points)
    return BacklogVerdict(samples=len(samples), max_lag=max(lag for _, lag in samples),
                          final_lag=samples[-1][1], trough_slope_per_s=growth,
                          max_slope_per_s=max_slope_per_s, passed=growth <= max_slope_per_s)


def rate_between(first: tuple[float, int], last: tuple[float, int]) -> float:
    """Events per second between two `(seconds, events done)` observations."""
    elapsed = last[0] - first[0]
    return (last[1] - first[1]) / elapsed if elapsed > 0 else 0.0


@dataclass(frozen=True, slots=True)
class Trend:
    """A quantity sampled over time, over a window: its first and last values and the
    least-squares slope per minute."""

    start: float
    end: float
    slope_per_min: float
    seconds: float
    samples: int


def trend(samples: Sequence[tuple[float, float]], since: float) -> Trend | None:
    """The trend of `(seconds, value)` samples from `since` on (None with fewer than two)."""
    window = [(t, v) for t, v in samples if t >= since]
    if len(window) < 2:
        return None
    return Trend(start=window[0][1], end=window[-1][1], slope_per_min=slope(window) * 60,
                 seconds=window[-1][0] - window[0][0], samples=len(window))
