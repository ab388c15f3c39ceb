"""Pure bookkeeping of a stream partition's commit position: what may be committed,
and whether commits have stopped behind records already applied.

Faust keeps, per partition, the offsets its streams acknowledged and commits the
first run of consecutive offsets. This module is that rule, exact (the commit is
the next offset to read, so nothing before it may be missing) and with no I/O, so
that the consumer shell (`streams.seek_safe_consumer`) and the tests share it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

K = TypeVar("K")


def committable(committed: int, acked: list[int], absent: list[tuple[int, int]]) -> int | None:
    """The offset to commit next, or None when nothing new is contiguous.

    `committed` is the next offset to read (what Kafka stores), `acked` the offsets
    processed since (sorted, all >= committed), `absent` ranges `[begin, end)` known
    to hold no record (compacted away, or the fetcher skipped them). A record at
    `committed` that is neither acked nor absent holds the commit back, however
    many later offsets are acked: committing past it would skip it.
    """
    done = set(acked)
    position = committed
    spans = sorted(absent)
    i = 0
    while True:
        while i < len(spans) and spans[i][1] <= position:
            i += 1
        if i < len(spans) and spans[i][0] <= position:
            position = spans[i][1]
            continue
        if position in done:
            position += 1
            continue
        break
    return position if position > committed else None


@dataclass(frozen=True, slots=True)
class Hold:
    """A partition whose commit cannot move although later records were applied."""

    committed: int
    """The next offset to read, as committed."""
    first_acked: int
    """The lowest offset applied since: everything in between is missing."""
    since: float
    """Monotonic time the hold was first seen with this `committed`."""


def watch(previous: Hold | None, committed: int | None, held_by: int | None, now: float,
          ) -> Hold | None:
    """The hold a partition is in now, if any. `held_by` is the lowest offset applied
    past `committed` when the commit cannot move (None when it can, or nothing is
    pending). A hold that keeps the same committed offset keeps its start time, so its
    age says how long the commit has been stuck."""
    if committed is None or held_by is None:
        return None
    if previous is not None and previous.committed == committed:
        return Hold(committed, held_by, previous.since)
    return Hold(committed, held_by, now)


def stuck(holds: dict[K, Hold], now: float, patience_s: float) -> dict[K, Hold]:
    """The partitions held for longer than `patience_s`: long past any delivery that
    is merely slow, so the records before `first_acked` will not come by themselves."""
    return {tp: hold for tp, hold in holds.items() if now - hold.since >= patience_s}
