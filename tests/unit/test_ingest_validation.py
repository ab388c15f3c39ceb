"""The pure edge checks of the ingest: content types, batches, decode errors, API keys."""

from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from schemas.codec import to_obj
from schemas.events.conversation import Abandoned
from services.ingest.auth import authorize
from services.ingest.errors import ApiError, validation_details
from services.ingest.events_route import decode_all, events_of, media_type
from services.ingest.stamp import Stamp
from services.runtime.settings import ApiKey

KEYS = (ApiKey("writer", frozenset({"events:write"})), ApiKey("reader", frozenset({"read"})))


def good_event() -> dict[str, Any]:
    event = Stamp(now=datetime(2025, 1, 1, tzinfo=UTC)).event(Abandoned(), "c1")
    return orjson.loads(orjson.dumps(to_obj(event)))


def refused(fn, *args) -> ApiError:  # type: ignore[no-untyped-def]
    with pytest.raises(ApiError) as info:
        fn(*args)
    return info.value


def test_media_type_drops_parameters() -> None:
    assert media_type("Application/JSON; charset=utf-8") == "application/json"
    assert media_type(None) == ""


def test_other_content_types_are_415() -> None:
    assert refused(events_of, b"{}", "text/plain", 10).status == 415


def test_malformed_json_is_400_malformed_json() -> None:
    error = refused(events_of, b"{nope", "application/json", 10)
    assert (error.status, error.code) == (400, "malformed_json")


def test_batch_limits() -> None:
    assert refused(events_of, b"[]", "application/json", 10).code == "empty_batch"
    assert refused(events_of, b"[{}, {}, {}]", "application/json", 2).code == "batch_too_large"


def test_an_array_sent_as_a_single_cloudevent_is_415() -> None:
    assert refused(events_of, b"[{}]", "application/cloudevents+json", 10).status == 415


def test_single_and_batch_bodies() -> None:
    assert events_of(b"{}", "application/cloudevents+json", 10) == ([{}], False)
    assert events_of(b"[{}]", "application/cloudevents-batch+json", 10) == ([{}], True)


def test_decode_all_reports_every_bad_event_with_its_index() -> None:
    bad_type = {**good_event(), "type": "cc.nope.v1"}
    bad_data = {**good_event(), "data": {"reason": 5}}
    error = refused(decode_all, [good_event(), bad_type, bad_data], True)
    assert error.code == "unknown_type"
    assert {(d.index, d.path) for d in error.details} == {(1, "/type"), (2, "/data/reason")}


def test_a_single_bad_event_has_a_null_index() -> None:
    error = refused(decode_all, [{**good_event(), "time": "yesterday"}], False)
    assert error.code == "schema_violation"
    assert [(d.index, d.path) for d in error.details] == [(None, "/time")]


def test_authorize_accepts_a_key_with_the_scope() -> None:
    assert authorize("Bearer writer", KEYS, "events:write").key == "writer"


@pytest.mark.parametrize("header", [None, "", "Bearer", "Basic writer", "Bearer wrong"])
def test_missing_or_wrong_keys_are_401(header: str | None) -> None:
    assert refused(authorize, header, KEYS, "events:write").status == 401


def test_a_key_without_the_scope_is_403() -> None:
    assert refused(authorize, "Bearer reader", KEYS, "events:write").status == 403


def test_pydantic_locations_become_json_pointers() -> None:
    details = validation_details([{"loc": ("body", "required_skills", "a/b"), "msg": "bad"},
                                  {"loc": ("path", "agent_id"), "msg": "short"}])
    assert [d.path for d in details] == ["/required_skills/a~1b", "/path/agent_id"]
    assert all(d.index is None for d in details)
