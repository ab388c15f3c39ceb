"""JSON Schema (draft 2020-12) for each event type, derived from the data classes.

The generated files under `schemas/json/` are the published contract;
`python -m schemas.generate` writes them and a unit test keeps them in sync.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from datetime import datetime
from typing import Any, Literal, get_args, get_origin, get_type_hints

from schemas.events.bounds import ID, MAX_SAFE_INTEGER, MAX_YEAR, MIN_YEAR, identifier, integer
from schemas.events.registry import EventData

DIALECT = "https://json-schema.org/draft/2020-12/schema"
ID_BASE = "https://switchboard.dev/schemas/"

ENVELOPE_SCHEMA: dict[str, Any] = {
    "$schema": DIALECT,
    "$id": ID_BASE + "envelope.json",
    "title": "CloudEvents 1.0 envelope (structured JSON mode)",
    "type": "object",
    "required": ["specversion", "id", "source", "type", "subject", "time", "data"],
    "properties": {
        "specversion": {"const": "1.0"},
        "id": ID,
        "source": identifier(500),
        "type": {"type": "string", "pattern": r"^cc\.[a-z_]+\.[a-z_]+\.v[0-9]+$"},
        "subject": ID,
        "time": {"type": "string", "format": "date-time",
                 "description": f"RFC 3339 with an offset, in the years {MIN_YEAR}..{MAX_YEAR}"},
        "datacontenttype": {"const": "application/json"},
        "sequence": integer(0, MAX_SAFE_INTEGER),
        "correlationid": ID,
        "causationid": ID,
        "data": {"type": "object"},
    },
    "additionalProperties": False,
}


def type_schema(hint: Any) -> dict[str, Any]:
    """The JSON Schema of one annotated Python type."""
    origin = get_origin(hint)
    if hint is str:
        return {"type": "string"}
    if hint is bool:
        return {"type": "boolean"}
    if hint is int:
        return {"type": "integer"}
    if hint is float:
        return {"type": ["number"]}
    if hint is datetime:
        return {"type": "string", "format": "date-time"}
    if origin is Literal:
        return {"type": "string", "enum": list(get_args(hint))}
    if origin is dict:
        _, value = get_args(hint)
        return {"type": "object", "additionalProperties": type_schema(value)}
    if origin is list:
        (item,) = get_args(hint)
        return {"type": "array", "items": type_schema(item)}
    if origin in (types.UnionType, typing.Union):
        options = [a for a in get_args(hint) if a is not type(None)]
        if len(options) != 1:
            raise TypeError(f"unsupported union {hint}")
        inner = type_schema(options[0])
        return {"anyOf": [inner, {"type": "null"}]}
    raise TypeError(f"no JSON Schema for {hint!r}")


def data_schema(cls: type[EventData]) -> dict[str, Any]:
    """The schema of a payload class: its fields, which are required, extra keywords."""
    hints = get_type_hints(cls)
    properties: dict[str, Any] = {}
    required: list[str] = []
    for f in dataclasses.fields(cls):
        prop = type_schema(hints[f.name])
        extra = f.metadata.get("schema", {})
        if extra and "anyOf" in prop:
            prop["anyOf"][0].update(extra)
        else:
            prop.update(extra)
        properties[f.name] = prop
        no_default = f.default is dataclasses.MISSING
        if no_default and f.default_factory is dataclasses.MISSING:
            required.append(f.name)
    return {
        "type": "object",
        "required": required,
        "properties": properties,
        "additionalProperties": False,
    }


def event_schema(wire_type: str, cls: type[EventData]) -> dict[str, Any]:
    """A whole CloudEvent of one type: the envelope with its `type` and `data` pinned."""
    envelope = {k: v for k, v in ENVELOPE_SCHEMA.items() if not k.startswith("$")}
    properties = dict(envelope["properties"])
    properties["type"] = {"const": wire_type}
    properties["data"] = data_schema(cls)
    return {
        "$schema": DIALECT,
        "$id": f"{ID_BASE}{wire_type}.json",
        "title": wire_type,
        "description": (cls.__doc__ or "").strip(),
        **{k: v for k, v in envelope.items() if k not in ("title", "properties")},
        "properties": properties,
    }
