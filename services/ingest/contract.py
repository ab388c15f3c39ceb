"""Request fields that take their bounds, default and documented schema from the events.

A typed endpoint's body field that becomes an event field is declared as
`contract(EventClass, "field")`: pydantic checks what a field can say (lengths, "no
control characters", ranges, sizes), the OpenAPI document shows the event field's own
JSON Schema, word for word, and `command_shell.produce` checks the whole event against
its schema before it is produced, which covers the rest (the keys and values inside a
map). One statement of each bound: `schemas.events.bounds`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import datetime
from functools import cache
from typing import Annotated, Any

from fastapi import Path, Query
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from schemas.codec import integral_numbers
from schemas.events.bounds import ID, MAX_YEAR, MIN_YEAR
from schemas.json_schema import data_schema
from schemas.times import parse_time

Schema = dict[str, Any]


def contract(cls: type, name: str, **overrides: Any) -> Any:
    """A pydantic `Field` for body field `name` of event `cls`: its bounds, its default."""
    field = next(f for f in dataclasses.fields(cls) if f.name == name)
    default: dict[str, Any] = {}
    if field.default is not dataclasses.MISSING:
        default["default"] = field.default
    elif field.default_factory is not dataclasses.MISSING:
        default["default_factory"] = field.default_factory
    return Field(**default, **constraints(field_schema(cls, name)), **overrides)


def bounded(schema: Schema, **kwargs: Any) -> Any:
    """A pydantic `Field` for a body field of no event field, bounded by `schema` (or null,
    when its default is None)."""
    if kwargs.get("default", ...) is None:
        schema = {"anyOf": [schema, {"type": "null"}]}
    return Field(**constraints(schema), **kwargs)


def field_schema(cls: type, name: str) -> Schema:
    """The JSON Schema of one payload field, as the published event schema states it."""
    return dict(_data_schema(cls)["properties"][name])


def id_path() -> Any:
    """A path parameter that is an identifier (an agent or a conversation id)."""
    return Path(**constraints(ID))


def id_query(description: str) -> Any:
    """An optional query parameter that is an identifier."""
    return Query(None, description=description, **constraints(ID))


def constraints(schema: Schema) -> dict[str, Any]:
    """Keyword arguments of pydantic's `Field` (or `Path`, `Query`) that enforce what they
    can of `schema` and document `schema` itself."""
    own = schema["anyOf"][0] if "anyOf" in schema else schema
    names = {"minLength": "min_length", "maxLength": "max_length", "minimum": "ge",
             "maximum": "le", "maxProperties": "max_length", "maxItems": "max_length"}
    out: dict[str, Any] = {names[k]: v for k, v in own.items() if k in names}
    if "not" in own:
        out["pattern"] = _none_of(own["not"]["pattern"])
    out["json_schema_extra"] = _documented_as(schema)
    return out


def _none_of(pattern: str) -> str:
    """`not: {pattern: "[abc]"}` (contains one of) as an anchored pattern (contains none of),
    for pydantic's regex engine, whose `$` is the end of the text."""
    inner = pattern[1:-1] if pattern.startswith("[") and pattern.endswith("]") else pattern
    return f"^[^{inner}]*$"


def _documented_as(schema: Schema) -> Callable[[Schema], None]:
    def replace(generated: Schema) -> None:
        # pydantic's own rendering differs (a map's key pattern becomes patternProperties,
        # which lets other keys through); the document shows the contract instead.
        kept = {k: generated[k] for k in ("title", "default") if k in generated}
        generated.clear()
        generated.update(schema, **kept)
    return replace


@cache
def _data_schema(cls: type) -> Schema:
    return data_schema(cls)


TIME_SCHEMA: Schema = {"anyOf": [{"type": "string", "format": "date-time"}, {"type": "null"}],
                       "description": (
    f"When it happened: RFC 3339 with an offset, in the years {MIN_YEAR}..{MAX_YEAR}, at "
    "most the allowed clock skew (default 5 minutes) ahead of the ingest's clock; default: now")}


def _event_time(value: Any) -> datetime | None:
    # the codec's own parser: what `time` takes here is what an event's `time` takes
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError("a time is an RFC 3339 string")  # not a Unix timestamp, as pydantic takes
    return parse_time(value)


class CommandBody(BaseModel):
    """What every command body has: when it happened, or now."""

    # strict: "3" is no integer and 3 no string, as in the JSON Schema
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)
    time: Annotated[datetime | None, BeforeValidator(_event_time)] = Field(
        default=None, json_schema_extra=_documented_as(TIME_SCHEMA))

    @model_validator(mode="before")
    @classmethod
    def _whole_numbers(cls, data: Any) -> Any:
        return integral_numbers(data)  # 4.0 is the integer 4 in JSON Schema, as in the codec
