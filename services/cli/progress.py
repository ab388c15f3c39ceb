"""Progress arithmetic for `switchboard dev`: throughput and consumer lag (pure)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

Partition = tuple[str, int]


def total_lag(end: Mapping[Partition, int], committed: Mapping[Partition, int]) -> int:
    """Records written but not yet consumed, summed over partitions (never negative)."""
    return sum(max(0, high - committed.get(tp, 0)) for tp, high in end.items())


@dataclass(frozen=True, slots=True)
class Snapshot:
    at: float
    """Monotonic seconds."""
    produced: int
    worker_lag: int | None
    projector_lag: int | None


def progress_line(before: Snapshot, now: Snapshot) -> str:
    """One status line: events/s since the last snapshot and each consumer's lag."""
    elapsed = max(now.at - before.at, 1e-9)
    rate = (now.produced - before.produced) / elapsed

    def show(lag: int | None) -> str:
        return "n/a" if lag is None else f"{lag:,}"

    return (f"{now.produced:>10,} events  {rate:>8,.0f} events/s  "
            f"worker lag {show(now.worker_lag):>8}  projector lag {show(now.projector_lag):>8}")
