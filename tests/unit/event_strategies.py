"""Hypothesis strategies for events of the catalog, derived from the data classes."""

from __future__ import annotations

import dataclasses
import types
import typing
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, get_args, get_origin, get_type_hints

from hypothesis import strategies as st

from schemas.envelope import Envelope, new_event
from schemas.events import EVENT_TYPES, EventData
from schemas.events.bounds import CONTROL_CHARACTERS, contains

AGENTS = ("a1", "a2", "a3")
QUEUES = ("billing", "tech")
SKILLS = ("billing", "tech", "french")
T0 = datetime(2026, 1, 1, tzinfo=UTC)

_NAMED: dict[str, st.SearchStrategy[Any]] = {
    "agent_id": st.sampled_from(AGENTS),
    "to_agent_id": st.none() | st.sampled_from(AGENTS),
    "from_agent_id": st.none() | st.sampled_from(AGENTS),
    "queue": st.sampled_from(QUEUES),
    "to_queue": st.none() | st.sampled_from(QUEUES),
    "from_queue": st.none() | st.sampled_from(QUEUES),
}


def _for_hint(hint: Any, schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    origin = get_origin(hint)
    if origin in (types.UnionType, typing.Union):
        (inner,) = [a for a in get_args(hint) if a is not type(None)]
        return st.none() | _for_hint(inner, schema)
    if origin is Literal:
        return st.sampled_from(get_args(hint))
    if hint is int:
        return st.integers(schema.get("minimum", 0), schema.get("maximum", 10))
    if hint is str:
        # identifiers take no control character, free text no NUL (schemas.events.bounds)
        banned = ("Cc",) if schema.get("not") == contains(CONTROL_CHARACTERS) else ()
        alphabet = st.characters(exclude_categories=("Cs", *banned), exclude_characters="\0")
        return st.text(alphabet, min_size=schema.get("minLength", 0), max_size=12)
    if hint is datetime:
        return st.integers(0, 10_000).map(lambda s: T0 + timedelta(seconds=s))
    if origin is dict:
        names = schema.get("propertyNames", {}).get("enum", SKILLS)
        values = schema.get("additionalProperties", {})
        return st.dictionaries(st.sampled_from(names), st.integers(
            values.get("minimum", 1), values.get("maximum", 10)), max_size=3)
    if origin is list:
        return st.lists(st.sampled_from(("en", "fr", "de")), max_size=2)
    raise TypeError(hint)


def data_of(cls: type[EventData]) -> st.SearchStrategy[EventData]:
    """Valid payloads of one event class."""
    hints = get_type_hints(cls)
    fields = {
        f.name: _NAMED[f.name] if f.name in _NAMED
        else _for_hint(hints[f.name], f.metadata.get("schema", {}))
        for f in dataclasses.fields(cls)  # type: ignore[arg-type]
    }
    return st.builds(cls, **fields)


any_data = st.one_of(*(data_of(cls) for cls in EVENT_TYPES.values()))


@st.composite
def envelopes(draw: st.DrawFn, subject: str | None = None) -> Envelope[EventData]:
    """A whole valid event of any type."""
    data = draw(any_data)
    return new_event(
        data, subject=subject or draw(st.sampled_from(("c1", "c2", "a1"))),
        source=draw(st.sampled_from(("switchboard/ingest", "test"))),
        time=T0 + timedelta(milliseconds=draw(st.integers(0, 10**9))),
        id=str(draw(st.uuids())),
        sequence=draw(st.none() | st.integers(0, 10**6)),
        correlationid=draw(st.none() | st.text(st.characters(exclude_categories=("Cs", "Cc")),
                                                 min_size=1, max_size=20)),
    )
