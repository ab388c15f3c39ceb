"""Which event ids were already produced: a bounded memory of recent ids.

This is a first line of defence only. It forgets the oldest ids beyond its
capacity, starts empty after a restart and is not shared between several ingest
instances; downstream reducers and projectors also de-duplicate by event id, so
the effects stay exactly-once in all those cases.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from schemas.envelope import Envelope
from schemas.events import EventData

DEFAULT_CAPACITY = 1_000_000

E = TypeVar("E", bound=Envelope[EventData])


class RecentIds:
    """An LRU set of the last `capacity` ids (oldest forgotten first)."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self._capacity = capacity
        self._ids: OrderedDict[str, None] = OrderedDict()

    def __contains__(self, event_id: object) -> bool:
        return event_id in self._ids

    def __len__(self) -> int:
        return len(self._ids)

    def add_all(self, ids: Iterable[str]) -> None:
        """Remember ids (refreshing ones already known), forgetting the oldest beyond capacity."""
        for event_id in ids:
            self._ids[event_id] = None
            self._ids.move_to_end(event_id)
        while len(self._ids) > self._capacity:
            self._ids.popitem(last=False)


@dataclass(frozen=True, slots=True)
class Split:
    """A batch cut into events to produce and ids that were already taken."""

    fresh: tuple[Envelope[EventData], ...]
    duplicates: tuple[str, ...]


def split_batch(events: Sequence[E], seen: RecentIds) -> Split:
    """Keep the first occurrence of each id not yet seen; every other occurrence is a duplicate."""
    fresh: list[Envelope[EventData]] = []
    duplicates: list[str] = []
    in_batch: set[str] = set()
    for event in events:
        if event.id in seen or event.id in in_batch:
            duplicates.append(event.id)
        else:
            in_batch.add(event.id)
            fresh.append(event)
    return Split(tuple(fresh), tuple(duplicates))
