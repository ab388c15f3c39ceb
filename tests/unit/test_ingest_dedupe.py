"""The bounded memory of produced ids and the batch split."""

from datetime import UTC, datetime

import pytest

from schemas.envelope import Envelope
from schemas.events import EventData
from schemas.events.conversation import Abandoned
from services.ingest.dedupe import RecentIds, split_batch
from services.ingest.stamp import Stamp

T0 = datetime(2025, 1, 1, tzinfo=UTC)


def event(event_id: str) -> Envelope[EventData]:
    return Stamp(now=T0, new_id=lambda: event_id).event(Abandoned(), "c1")


def test_remembers_ids_it_was_given() -> None:
    seen = RecentIds(10)
    seen.add_all(["a", "b"])
    assert "a" in seen and "b" in seen and "c" not in seen


def test_forgets_the_oldest_beyond_capacity() -> None:
    seen = RecentIds(3)
    seen.add_all(["a", "b", "c", "d"])
    assert "a" not in seen
    assert len(seen) == 3


def test_re_adding_an_id_makes_it_recent_again() -> None:
    seen = RecentIds(3)
    seen.add_all(["a", "b", "c"])
    seen.add_all(["a"])
    seen.add_all(["d"])
    assert "a" in seen and "b" not in seen


def test_rejects_a_capacity_below_one() -> None:
    with pytest.raises(ValueError):
        RecentIds(0)


def test_split_keeps_unseen_events_in_order() -> None:
    split = split_batch([event("x"), event("y")], RecentIds())
    assert [e.id for e in split.fresh] == ["x", "y"]
    assert split.duplicates == ()


def test_split_reports_ids_seen_before_as_duplicates() -> None:
    seen = RecentIds()
    seen.add_all(["x"])
    split = split_batch([event("x"), event("y")], seen)
    assert [e.id for e in split.fresh] == ["y"]
    assert split.duplicates == ("x",)


def test_split_keeps_the_first_of_ids_repeated_within_a_batch() -> None:
    split = split_batch([event("x"), event("x"), event("y"), event("x")], RecentIds())
    assert [e.id for e in split.fresh] == ["x", "y"]
    assert split.duplicates == ("x", "x")
