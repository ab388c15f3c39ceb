"""The codec: every event survives encode/decode; bad input is named precisely."""

from __future__ import annotations

import orjson
import pytest
from event_strategies import T0, envelopes
from hypothesis import given, settings

from schemas.codec import decode, encode, from_obj, to_obj
from schemas.envelope import new_event
from schemas.errors import DecodeError
from schemas.events import EVENT_TYPES
from schemas.events.conversation import ConversationStarted, Offered
from schemas.generate import ASYNCAPI, JSON_DIR, rendered, rendered_asyncapi


@given(envelopes())
@settings(max_examples=300)
def test_every_event_round_trips_through_bytes(event: object) -> None:
    assert decode(encode(event)) == event  # type: ignore[arg-type]


@given(envelopes())
def test_encoding_is_deterministic(event: object) -> None:
    assert encode(decode(encode(event))) == encode(event)  # type: ignore[arg-type]


def started() -> dict[str, object]:
    data = ConversationStarted(channel="chat", mode="sync", customer_id="cust", queue="billing")
    return to_obj(new_event(data, subject="conv-1", source="test", time=T0)) | {
        "time": "2026-01-01T00:00:00Z", "data": orjson.loads(orjson.dumps(data))}


def test_malformed_json_is_named() -> None:
    with pytest.raises(DecodeError) as err:
        decode(b"{not json")
    assert err.value.code == "malformed_json"


def test_unknown_type_points_at_type() -> None:
    with pytest.raises(DecodeError) as err:
        from_obj(started() | {"type": "cc.conversation.teleported.v1"})
    assert err.value.code == "unknown_type"
    assert [p.path for p in err.value.problems] == ["/type"]


def test_schema_violations_carry_json_pointer_paths() -> None:
    obj = started()
    obj["data"] = {**obj["data"], "channel": "fax", "priority": 99}  # type: ignore[dict-item]
    del obj["subject"]
    with pytest.raises(DecodeError) as err:
        from_obj(obj)
    paths = {p.path for p in err.value.problems}
    assert err.value.code == "schema_violation"
    assert {"/data/channel", "/data/priority", "/"} <= paths


def test_time_without_offset_is_refused() -> None:
    with pytest.raises(DecodeError) as err:
        from_obj(started() | {"time": "2026-01-01T00:00:00"})
    assert [p.path for p in err.value.problems] == ["/time"]


def test_datetime_inside_data_is_parsed_and_checked() -> None:
    event = new_event(Offered(agent_id="a1", expires_at=T0), subject="c", source="t", time=T0)
    assert decode(encode(event)).data == Offered(agent_id="a1", expires_at=T0)
    obj = to_obj(event) | {"time": "2026-01-01T00:00:00Z"}
    obj["data"] = {"agent_id": "a1", "expires_at": "tomorrow"}
    with pytest.raises(DecodeError) as err:
        from_obj(obj)
    assert [p.path for p in err.value.problems] == ["/data/expires_at"]


def test_a_non_object_is_a_schema_violation() -> None:
    with pytest.raises(DecodeError) as err:
        decode(b"[1, 2]")
    assert err.value.code == "schema_violation"


def test_upcasters_turn_old_versions_into_current_ones() -> None:
    def v0_to_v1(obj: dict[str, object]) -> dict[str, object]:
        data = dict(obj["data"])  # type: ignore[call-overload]
        data["customer_id"] = data.pop("customer")
        return obj | {"type": "cc.conversation.started.v1", "data": data}

    old = started()
    old["type"] = "cc.conversation.started.v0"
    old["data"] = {**old["data"], "customer": old["data"]["customer_id"]}  # type: ignore[index, dict-item]
    del old["data"]["customer_id"]  # type: ignore[attr-defined]
    event = from_obj(old, upcasters={"cc.conversation.started.v0": v0_to_v1})
    assert event.type == "cc.conversation.started.v1"
    assert event.data.customer_id == "cust"  # type: ignore[attr-defined]


def test_schema_files_match_the_event_classes() -> None:
    files = {p.name: p.read_bytes() for p in JSON_DIR.glob("*.json")}
    assert files == rendered(), "run `python -m schemas.generate` and commit schemas/json"
    assert len(files) == len(EVENT_TYPES) + 1


def test_asyncapi_document_is_current_and_names_every_event_type() -> None:
    assert ASYNCAPI.read_bytes() == rendered_asyncapi(), "run `python -m schemas.generate`"
    doc = orjson.loads(ASYNCAPI.read_bytes())
    assert doc["asyncapi"].startswith("3.")
    assert {m["name"] for m in doc["components"]["messages"].values()} == set(EVENT_TYPES)
