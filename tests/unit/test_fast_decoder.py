"""The codec's fast path changes nothing: on any input, valid or broken in any way, the
codec returns the very event, or raises the very error (code, message, JSON-Pointer
paths), that the full way (schema validators, then parsing and building) gives; and the
fast path takes every valid event of the catalog, so the property is not vacuous."""

from __future__ import annotations

from typing import Any

import orjson
from damage import damaged
from event_strategies import envelopes
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.codec import _fast_decoder, encode, from_obj, full_decode
from schemas.envelope import Envelope
from schemas.errors import DecodeError
from schemas.events import EVENT_TYPES, EventData

LENGTHS = (0, 1, 2, 15, 16, 17, 99, 100, 101, 199, 200, 201, 499, 500, 501)
TIMES = ("2026-01-01T00:00:00Z", "2026-01-01T00:00:00+02:00", "2026-01-01T00:00:00",
         "2026-01-01 00:00:00+00:00", "20260101T000000Z", "2026-02-30T00:00:00Z", "tomorrow", "")
JUNK = st.one_of(
    st.sampled_from([None, True, False, 0, 1, -1, 5, 10, 11, 2**63, 1.0, 0.5, -0.0, [], {},
                     ["en"], [1], {"billing": 3}, {"billing": "3"}, {"billing": True},
                     {"billing": 2.0}, "1.0", "application/json", 2**53, 2**70, -(2**70),
                     {"chat": 3}, {"chat": -1}, {"chat": 10**12}, {"billing": 2**70},
                     {"b\x00": 3}, {"": 3}, ["en"] * 21, ["e"], ["en\n"],
                     "a\x00b", "id\n", "\x85", "tab\tted", "line\nbreak"]),
    st.sampled_from(TIMES + ("9999-12-31T23:59:59Z", "0001-01-01T00:00:00+01:00",
                             "1970-01-01T00:00:00Z", "9000-12-31T23:59:59Z")),
    st.sampled_from(LENGTHS).map(lambda n: "x" * n),
    st.sampled_from(sorted(EVENT_TYPES)),
    st.text(max_size=5),
)


def outcome(decode: Any, obj: Any) -> tuple[str, Any, str]:
    try:
        event = decode(obj)
    except Exception as exc:  # noqa: BLE001 - the very error is what is compared
        return ("error", exc if isinstance(exc, DecodeError) else None,
                f"{type(exc).__name__}: {exc}")
    return ("event", event, repr(event))  # the repr tells 1 from 1.0 and [] from ()


EXTRA_KEYS = ("extra", "sequence", "causationid", "datacontenttype", "specversion", "priority",
              "expires_at", "text")


def as_read(event: Envelope[EventData]) -> dict[str, Any]:
    obj: dict[str, Any] = orjson.loads(encode(event))
    return obj


@given(envelopes())
@settings(max_examples=300)
def test_the_fast_path_takes_every_valid_event_and_builds_what_the_full_way_builds(
        event: Envelope[EventData]) -> None:
    obj = as_read(event)
    fast = _fast_decoder(event.type)
    assert fast is not None
    taken = fast(obj)
    assert taken is not None
    assert outcome(lambda _: taken, obj) == outcome(full_decode, obj)


@given(envelopes(), st.data())
@settings(max_examples=1500)
def test_any_broken_event_decodes_or_fails_exactly_as_the_full_way_decides(
        event: Envelope[EventData], data: st.DataObject) -> None:
    obj = data.draw(damaged(as_read(event), JUNK, EXTRA_KEYS))
    assert outcome(from_obj, obj) == outcome(full_decode, obj)
    fast = _fast_decoder(obj["type"]) if isinstance(obj.get("type"), str) else None
    taken = fast(obj) if fast is not None else None
    if taken is not None:  # what the fast path takes, the full way takes, as the same event
        assert outcome(lambda _: taken, obj) == outcome(full_decode, obj)


@given(envelopes(), st.sampled_from(sorted(EVENT_TYPES)))
@settings(max_examples=300)
def test_an_event_under_another_type_decodes_or_fails_as_the_full_way_decides(
        event: Envelope[EventData], wire_type: str) -> None:
    obj = as_read(event) | {"type": wire_type}
    assert outcome(from_obj, obj) == outcome(full_decode, obj)


@given(st.one_of(JUNK, st.lists(JUNK, max_size=2)))
def test_what_is_not_an_event_fails_as_the_full_way_decides(obj: Any) -> None:
    assert outcome(from_obj, obj) == outcome(full_decode, obj)
