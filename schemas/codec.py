"""Encode and decode events: CloudEvents structured JSON with orjson.

`decode` turns bytes from HTTP or Kafka into a typed `Envelope` or raises
`DecodeError` with the JSON Pointer of each problem; nothing else parses events.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import datetime
from functools import cache
from typing import Any, get_type_hints

import fastjsonschema
import orjson
from jsonschema import Draft202012Validator

from schemas.envelope import DATA_CONTENT_TYPE, SPECVERSION, Envelope
from schemas.errors import DecodeError, Problem
from schemas.events import EVENT_TYPES, EventData
from schemas.fast_decoder import FastDecoder, Unsupported, compile_decoder
from schemas.json_schema import event_schema
from schemas.times import parse_time
from schemas.upcasting import UPCASTERS, Upcaster, upcast

_OPTS = orjson.OPT_UTC_Z


def to_obj(event: Envelope[EventData]) -> dict[str, Any]:
    """The JSON object of an event (optional extensions left out when unset)."""
    obj: dict[str, Any] = {
        "specversion": SPECVERSION,
        "id": event.id,
        "source": event.source,
        "type": event.type,
        "subject": event.subject,
        "time": event.time,
        "datacontenttype": DATA_CONTENT_TYPE,
        "data": event.data,
    }
    for name in ("sequence", "correlationid", "causationid"):
        value = getattr(event, name)
        if value is not None:
            obj[name] = value
    return obj


def encode(event: Envelope[EventData]) -> bytes:
    """Bytes of one event as it goes on the log."""
    return exact(orjson.dumps(to_obj(event), option=_OPTS))


def exact(dumped: bytes) -> bytes:
    """A copy of `orjson.dumps` output that takes only the memory its length needs.

    orjson (3.13) returns bytes whose allocation is its whole write buffer, about 16 KiB
    however short the JSON: a 1.5 KB conversation state held in a table took 16 KiB,
    which made 18 KB of a worker's memory per open conversation (tracemalloc, 2026-12-03).
    Anything kept beyond the moment goes through this; the copy costs 0.15 us."""
    return bytes(memoryview(dumped))


def parse(raw: bytes | str) -> Any:
    """JSON text to Python objects, or `DecodeError("malformed_json")`."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise DecodeError("malformed_json", f"not valid JSON: {exc}") from None


def decode(raw: bytes | str) -> Envelope[EventData]:
    """Bytes of one event to a typed envelope."""
    return from_obj(parse(raw))


def from_obj(obj: Any, upcasters: Mapping[str, Upcaster] = UPCASTERS) -> Envelope[EventData]:
    """A parsed JSON object to a typed envelope: upcast, check the type, validate, convert.

    An event of a current type goes first through its type's fast path, which returns it
    only when it is certainly valid (`schemas.fast_decoder`); any other goes the full way."""
    if type(obj) is dict:
        wire_type = obj.get("type")
        if type(wire_type) is str and wire_type not in upcasters:
            fast = _fast_decoder(wire_type)
            event = fast(obj) if fast is not None else None
            if event is not None:
                return event
    return full_decode(obj, upcasters)


def full_decode(obj: Any, upcasters: Mapping[str, Upcaster] = UPCASTERS) -> Envelope[EventData]:
    """`from_obj` without the fast path: what decides, and explains, what it declines."""
    if not isinstance(obj, dict):
        raise DecodeError("schema_violation", "an event must be a JSON object", (
            Problem("", f"expected object, got {type(obj).__name__}"),))
    obj = upcast(integral_numbers(obj), upcasters)
    wire_type = obj.get("type")
    cls = EVENT_TYPES.get(wire_type) if isinstance(wire_type, str) else None
    if cls is None:
        raise DecodeError("unknown_type", f"unknown event type {wire_type!r}",
                          (Problem("/type", f"not one of the {len(EVENT_TYPES)} known types"),))
    problems = [] if _fast_check(wire_type, obj) else _explain(wire_type, obj)
    time = _parse_time(obj.get("time"), "/time", problems)
    data = _build_data(cls, obj.get("data"), problems)
    if problems or data is None or time is None:
        problems.sort(key=lambda p: p.path)
        raise DecodeError("schema_violation", f"event does not match {wire_type}", tuple(problems))
    return Envelope(
        id=obj["id"], source=obj["source"], type=wire_type, subject=obj["subject"], time=time,
        data=data, sequence=obj.get("sequence"), correlationid=obj.get("correlationid"),
        causationid=obj.get("causationid"),
    )


def integral_numbers(value: Any) -> Any:
    """`value` with every float that is a whole number (`4.0`) as that integer: JSON Schema
    counts it one, and the log keeps one spelling of each value. No event has a float field."""
    if type(value) is float:
        return int(value) if value.is_integer() else value
    if type(value) is dict:
        return {k: integral_numbers(v) for k, v in value.items()}
    if type(value) is list:
        return [integral_numbers(v) for v in value]
    return value


@cache
def _fast_decoder(wire_type: str) -> FastDecoder | None:
    cls = EVENT_TYPES.get(wire_type)
    if cls is None:
        return None
    try:
        return compile_decoder(wire_type, cls, event_schema(wire_type, cls), _time_fields(cls))
    except Unsupported:
        return None


@cache
def _fast_validator(wire_type: str) -> Any:
    # Compiled to Python code: ~15x faster than jsonschema, but it stops at the
    # first error, so failures are explained again by the full validator.
    schema = event_schema(wire_type, EVENT_TYPES[wire_type])
    return fastjsonschema.compile(schema, formats={"date-time": _any_string})


def _any_string(value: str) -> bool:
    return True  # date-times are parsed (and their errors reported) by _parse_time


def _fast_check(wire_type: str, obj: dict[str, Any]) -> bool:
    try:
        _fast_validator(wire_type)(obj)
    except fastjsonschema.JsonSchemaValueException:
        return False
    return True


@cache
def _full_validator(wire_type: str) -> Draft202012Validator:
    return Draft202012Validator(event_schema(wire_type, EVENT_TYPES[wire_type]))


def _explain(wire_type: str, obj: dict[str, Any]) -> list[Problem]:
    return [
        Problem("/" + "/".join(str(p) for p in err.absolute_path), err.message)
        for err in _full_validator(wire_type).iter_errors(obj)
    ]


@cache
def _time_fields(cls: type[EventData]) -> tuple[str, ...]:
    hints = get_type_hints(cls)
    return tuple(f.name for f in dataclasses.fields(cls) if hints[f.name] is datetime)


def _parse_time(value: Any, path: str, problems: list[Problem]) -> datetime | None:
    if not isinstance(value, str):
        return None  # the schema already reported it
    try:
        return parse_time(value)
    except ValueError as exc:
        problems.append(Problem(path, str(exc)))
        return None


def _build_data(cls: type[EventData], data: Any, problems: list[Problem]) -> EventData | None:
    if not isinstance(data, dict) or problems:
        return None
    fields = dict(data)
    for name in _time_fields(cls):
        if name in fields:
            fields[name] = _parse_time(fields[name], f"/data/{name}", problems)
    if problems:
        return None
    return cls(**fields)
