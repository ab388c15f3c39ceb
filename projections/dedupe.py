"""The one rule by which every fold drops an event it has already applied (pure).

An event reaches a fold again in two ways, and each has its own test:

- **Redelivery**: the same record, at the same position, read again (a worker after a
  rebalance restarts from the committed offset, which may lie tens of thousands of
  records behind what its tables hold). A key always lives on one partition, whose
  offsets only grow, so a record at or below the offset of the last record applied to
  the key is one the state has already been through. This test is exact however far
  back the redelivery starts: the state records the *applied* position only, and a
  record after it that was not applied (rejected, or a resend) left the state as it
  was, so reading it again meets the same state and again changes nothing.
- **Resend**: the same event id in a new record, at a new offset (a client that
  retries an HTTP post whose first try did land, a router's standby or retry that
  repeats a decision under its deterministic id). Those come soon after the original:
  a retry within seconds, a repeated decision before the repeating router has read its
  own. So the state keeps the ids of the last `window` events applied, a bounded
  tuple, instead of every id ever seen.

A fold that has no position (a test's list of events, the router's audit) passes
None and relies on the ids alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class Position:
    """Where a record sits in its topic: partition and offset."""

    partition: int
    offset: int


class Deduplicated(Protocol):
    """A state that remembers what it applied last: where, and the latest ids."""

    @property
    def position(self) -> Position | None: ...

    @property
    def recent_ids(self) -> tuple[str, ...]: ...


def already_applied(state: Deduplicated, event_id: str, at: Position | None) -> bool:
    """Whether the event `event_id`, read at `at`, is one `state` has already applied."""
    last = state.position
    if at is not None and last is not None and at.partition == last.partition \
            and at.offset <= last.offset:
        return True
    return event_id in state.recent_ids


def applied(state: Deduplicated | None, event_id: str, at: Position | None,
            window: int) -> dict[str, Any]:
    """The fields that record `event_id`, read at `at`, as applied: the position moves to
    `at` (kept when unknown) and the id joins the last `window` ids."""
    recent = state.recent_ids if state is not None else ()
    keep = recent[max(0, len(recent) - window + 1):] if window > 1 else ()
    position = at if at is not None else (state.position if state is not None else None)
    return {"position": position, "recent_ids": (*keep, event_id)}
