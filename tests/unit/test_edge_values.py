"""Times, whole numbers and values JSON cannot carry, at the edges (issue 12 §1)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from schemas.codec import from_obj, integral_numbers
from schemas.errors import DecodeError
from schemas.times import parse_time
from services.ingest.agent_commands import Logout, SetCapacity
from services.ingest.unencodable import encodable


@pytest.mark.parametrize("text", ["2026-01-01T00:00:00Z", "2026-01-01t00:00:00z",
                                  "2026-01-01T00:00:00.123456789+05:30"])
def test_rfc3339_date_times_parse(text: str) -> None:
    assert parse_time(text).tzinfo is not None


@pytest.mark.parametrize("text", ["20260101T000000Z", "2026-01-01 00:00:00+00:00",
                                  "2026-01-01", "2026-01-01T00:00:00", "1700000000",
                                  "2026-02-30T00:00:00Z", "2026-12-31T23:59:60Z",
                                  "1969-12-31T23:59:59Z", "9001-01-01T00:00:00Z"])
def test_anything_else_is_refused_saying_why(text: str) -> None:
    with pytest.raises(ValueError, match=repr(text).replace("+", r"\+")):
        parse_time(text)


def test_a_typed_body_takes_times_as_the_codec_does() -> None:
    assert Logout.model_validate({"time": "2026-01-01t10:00:00z"}).time is not None
    for wrong in (0, 1700000000, "1700000000", "2026-01-01 10:00:00+00:00"):
        with pytest.raises(ValidationError):
            Logout.model_validate({"time": wrong})


def test_a_whole_float_is_that_integer_in_bodies_and_events() -> None:
    assert SetCapacity.model_validate({"capacity": {"chat": 3.0}}).capacity == {"chat": 3}
    with pytest.raises(ValidationError):
        SetCapacity.model_validate({"capacity": {"chat": 3.5}})
    assert integral_numbers({"a": [1.0, 1.5, True, "2.0"]}) == {"a": [1, 1.5, True, "2.0"]}
    event = {"specversion": "1.0", "id": "e", "source": "s", "subject": "c1",
             "type": "cc.conversation.queued.v1", "time": "2026-01-01T00:00:00Z",
             "data": {"queue": "q", "priority": 3.0}}
    assert type(from_obj(event).data.priority) is int  # type: ignore[attr-defined]
    with pytest.raises(DecodeError):
        from_obj({**event, "data": {"queue": "q", "priority": 3.5}})


def test_values_json_cannot_carry_are_found_by_path_and_nulled() -> None:
    row: dict[str, Any] = {"skills": {"x": 2**70, "y": 3}, "tags": ["ok", "\ud800"], "n": 1}
    clean, paths = encodable(row)
    assert paths == ["/skills/x", "/tags/1"]
    assert clean == {"skills": {"x": None, "y": 3}, "tags": ["ok", None], "n": 1}
    assert encodable({"a": 1}) == ({"a": 1}, [])
    assert encodable({"\ud800/": 1})[1] == ["/\\ud800~1"]
