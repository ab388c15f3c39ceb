"""The edge's one rule that needs a clock: an event may not claim to happen in the future.

Past times are allowed (backfills); a time more than the allowed skew ahead of the
ingest's clock is a client's broken clock or a hostile value, refused before it reaches
the log, where SLA clocks and KPIs would take it at its word.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from schemas.envelope import Envelope
from schemas.events import EventData
from services.ingest.errors import ApiError, ErrorDetail


def ahead_of(events: Sequence[Envelope[EventData]], now: datetime,
             max_skew_s: int) -> list[tuple[int, str]]:
    """(position, problem) of each event whose time is more than `max_skew_s` after `now`."""
    latest = now + timedelta(seconds=max_skew_s)
    return [(i, f"{e.time.isoformat()} is more than {max_skew_s} s ahead of the ingest's "
                f"clock ({now.isoformat()}); past times are allowed, future ones are not")
            for i, e in enumerate(events) if e.time > latest]


def refuse_future(events: Sequence[Envelope[EventData]], max_skew_s: int, batch: bool) -> None:
    """400 `clock_skew` naming each event (its batch index) whose time is too far ahead."""
    found = ahead_of(events, datetime.now(UTC), max_skew_s)
    if found:
        details = [ErrorDetail(index=i if batch else None, path="/time", problem=problem)
                   for i, problem in found]
        raise ApiError(400, "clock_skew", f"{len(found)} event time(s) in the future; "
                       "nothing was accepted", details)
