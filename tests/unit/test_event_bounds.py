"""Every value an event carries has bounds every store downstream can hold: what a hostile
client sent to the typed endpoints and `POST /v1/events` (issue 12) is refused by the codec,
with the JSON Pointer of the value, and ordinary values still pass."""

from __future__ import annotations

from typing import Any

import pytest

from schemas.codec import from_obj
from schemas.errors import DecodeError


def event(type_: str, data: dict[str, Any], **envelope: Any) -> dict[str, Any]:
    return {"specversion": "1.0", "id": "e1", "source": "test", "type": type_,
            "subject": "a1", "time": "2026-01-01T00:00:00Z", "data": data, **envelope}


def login(**data: Any) -> dict[str, Any]:
    return event("cc.agent.logged_in.v1", data)


def refused_at(obj: dict[str, Any]) -> list[str]:
    with pytest.raises(DecodeError) as caught:
        from_obj(obj)
    return [p.path for p in caught.value.problems]


@pytest.mark.parametrize("capacity", [{"chat": -1}, {"chat": 1_000_000_000_000},
                                      {"chat": 2**70}, {"chat": 101}])
def test_a_capacity_out_of_range_is_refused(capacity: dict[str, int]) -> None:
    assert refused_at(login(capacity=capacity)) == ["/data/capacity/chat"]


def test_a_capacity_is_per_channel() -> None:
    assert refused_at(login(capacity={"billing": 3})) == ["/data/capacity"]


@pytest.mark.parametrize("skills", [{"billing": 2**70}, {"billing": 0}, {"billing": 11}])
def test_a_proficiency_out_of_range_is_refused(skills: dict[str, int]) -> None:
    assert refused_at(login(skills=skills)) == ["/data/skills/billing"]


def test_a_skill_name_is_an_identifier() -> None:
    assert refused_at(login(skills={"bill\x00ing": 3})) == ["/data/skills"]
    assert refused_at(login(skills={f"s{i}": 3 for i in range(101)})) == ["/data/skills"]


@pytest.mark.parametrize("subject", ["a\x00b", "a\nb", "a1\n", "\x85", "x" * 201, ""])
def test_an_identifier_has_no_control_character_and_a_length(subject: str) -> None:
    assert refused_at({**login(), "subject": subject}) == ["/subject"]


def test_free_text_takes_line_breaks_but_no_nul() -> None:
    assert from_obj(login(name="Ann\nLee\t(desk 4)")).data.name == "Ann\nLee\t(desk 4)"  # type: ignore[attr-defined]
    assert refused_at(login(name="Ann\x00")) == ["/data/name"]


@pytest.mark.parametrize("time", ["9999-12-31T23:59:59Z", "9001-01-01T00:00:00Z",
                                  "0001-01-01T00:00:00+01:00", "1969-12-31T23:59:59Z"])
def test_a_time_outside_the_years_every_reader_can_convert_is_refused(time: str) -> None:
    assert refused_at({**login(), "time": time}) == ["/time"]


def test_a_backfill_from_long_ago_is_allowed() -> None:
    assert from_obj({**login(), "time": "1999-03-01T09:00:00+01:00"}).time.year == 1999


def test_a_sequence_beyond_what_a_javascript_reader_holds_is_refused() -> None:
    assert refused_at({**login(), "sequence": 2**53}) == ["/sequence"]
    assert from_obj({**login(), "sequence": 2**53 - 1}).sequence == 2**53 - 1


def test_languages_are_bounded() -> None:
    assert refused_at(login(languages=["en"] * 21)) == ["/data/languages"]
    assert refused_at(login(languages=["e"])) == ["/data/languages/0"]


def test_transfer_targets_are_identifiers() -> None:
    obj = event("cc.conversation.transferred.v1", {"to_agent_id": "a\x00"}, subject="c1")
    assert refused_at(obj) == ["/data/to_agent_id"]
