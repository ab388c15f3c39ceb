"""Intervals on a zone's wall clock, and duration summaries by linear interpolation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from projections.kpi.durations import percentile, summarize
from projections.kpi.intervals import interval_of, parse_size

BERLIN = ZoneInfo("Europe/Berlin")
KOLKATA = ZoneInfo("Asia/Kolkata")


def test_percentiles_interpolate_between_the_closest_ranks() -> None:
    assert percentile([1.0, 2.0, 3.0, 4.0], 0.5) == 2.5
    assert percentile([10.0, 20.0, 30.0, 40.0, 50.0], 0.9) == pytest.approx(46.0)
    assert percentile([7.0], 0.9) == 7.0
    assert percentile([], 0.5) is None


def test_a_summary_of_nothing_has_n_zero_and_no_figures() -> None:
    empty = summarize([])
    assert (empty.n, empty.mean, empty.p50, empty.p90) == (0, None, None, None)
    s = summarize([3.0, 1.0, 2.0])
    assert (s.n, s.mean, s.p50, s.p90) == (3, 2.0, 2.0, pytest.approx(2.8))


def test_a_day_across_the_autumn_change_lasts_25_hours() -> None:
    day = interval_of(datetime(2026, 10, 25, 12, tzinfo=UTC), "1d", BERLIN)
    assert day.start == datetime(2026, 10, 24, 22, tzinfo=UTC)
    assert day.end - day.start == timedelta(hours=25)


def test_a_day_across_the_spring_change_lasts_23_hours() -> None:
    day = interval_of(datetime(2026, 3, 29, 12, tzinfo=UTC), "1d", BERLIN)
    assert day.end - day.start == timedelta(hours=23)


def test_quarter_hours_follow_a_half_hour_offset() -> None:
    q = interval_of(datetime(2026, 5, 1, 10, 7, tzinfo=UTC), "15m", KOLKATA)
    assert q.start == datetime(2026, 5, 1, 10, 0, tzinfo=UTC)  # 15:30 local
    h = interval_of(datetime(2026, 5, 1, 10, 7, tzinfo=UTC), "1h", KOLKATA)
    assert h.start == datetime(2026, 5, 1, 9, 30, tzinfo=UTC)  # 15:00 local


@given(st.integers(0, 4 * 365 * 86400 * 1000).map(
           lambda ms: datetime(2024, 1, 1, tzinfo=UTC) + timedelta(milliseconds=ms)),
       st.sampled_from(["15m", "1h", "1d"]),
       st.sampled_from([UTC, BERLIN, KOLKATA, ZoneInfo("America/New_York")]))
def test_every_instant_lies_in_its_interval(instant: datetime, size: str,
                                           zone: ZoneInfo) -> None:
    interval = interval_of(instant, parse_size(size), zone)
    assert interval.start <= instant < interval.end


def test_an_unknown_size_names_what_is_accepted() -> None:
    with pytest.raises(ValueError, match="15m, 1h, 1d"):
        parse_size("5m")
