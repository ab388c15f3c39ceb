"""Intervals that figures are filed in: 15 minutes, an hour or a day on a time zone's
wall clock.

An instant belongs to the interval whose local start is the wall-clock time floored to
the interval's size (a day: local midnight). Starts and ends are instants (UTC), so a
day across a daylight-saving change lasts 23 or 25 hours, and a 15-minute or hour
interval in a zone with a half-hour offset starts where that zone's clock says.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

Size = Literal["15m", "1h", "1d"]
SIZES: tuple[Size, ...] = ("15m", "1h", "1d")
_MINUTES = {"15m": 15, "1h": 60}


@dataclass(frozen=True, slots=True, order=True)
class Interval:
    start: datetime
    end: datetime
    size: Size


def interval_of(instant: datetime, size: Size, zone: ZoneInfo) -> Interval:
    """The `size` interval of `zone`'s clock that holds `instant` (aware)."""
    if instant.tzinfo is None:
        raise ValueError("an interval is found for an aware instant only")
    local = instant.astimezone(zone)
    if size == "1d":
        start_local = local.replace(hour=0, minute=0, second=0, microsecond=0, fold=0)
        next_day = (start_local + timedelta(days=1)).replace(tzinfo=None)
        end = next_day.replace(tzinfo=zone).astimezone(UTC)
        return Interval(start_local.astimezone(UTC), end, size)
    minutes = _MINUTES[size]
    floored = local.replace(minute=local.minute - local.minute % minutes, second=0,
                            microsecond=0)
    start = floored.astimezone(UTC)
    if start > instant:  # the wall clock went back: the floor landed in the later fold
        start -= timedelta(minutes=minutes)
    return Interval(start, start + timedelta(minutes=minutes), size)


def parse_size(text: str) -> Size:
    """`15m`, `1h` or `1d`; ValueError naming what is accepted otherwise."""
    if text not in SIZES:
        raise ValueError(f"interval {text!r}: use one of {', '.join(SIZES)}")
    return text
