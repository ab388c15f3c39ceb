"""Pure pacing for the offered load: how many events are due at each tick, and on which lane."""

from __future__ import annotations

import math
import zlib


def due_by(rate: float, elapsed_s: float) -> int:
    """Events that should have been offered `elapsed_s` after the start at `rate` per second."""
    if rate <= 0:
        raise ValueError("rate must be positive")
    return math.floor(rate * max(0.0, elapsed_s) + 1e-9)


def tick_sizes(rate: float, tick_s: float, duration_s: float) -> list[int]:
    """Events offered at each tick; the cumulative sum never drifts from `rate` (no rounding
    error builds up, e.g. 30/s every 0.05 s gives 1, 2, 1, 2, ...)."""
    if tick_s <= 0 or duration_s <= 0:
        raise ValueError("tick and duration must be positive")
    ticks = math.ceil(duration_s / tick_s - 1e-9)
    return [due_by(rate, min(k * tick_s, duration_s)) - due_by(rate, (k - 1) * tick_s)
            for k in range(1, ticks + 1)]


def lane_of(subject: str, lanes: int) -> int:
    """The sender lane of an aggregate: stable, so one subject's events stay in order on one
    connection while different subjects go out in parallel."""
    if lanes < 1:
        raise ValueError("at least one lane")
    return zlib.crc32(subject.encode()) % lanes
