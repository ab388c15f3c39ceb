"""Projection state to bytes and back (orjson), for Faust tables, topics and PostgreSQL.

States are frozen dataclasses of primitives, datetimes, tuples, dicts and nested
dataclasses; `load` rebuilds them from their JSON by the field annotations.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Callable
from datetime import datetime
from functools import cache, lru_cache
from typing import Any, TypeVar, get_args, get_origin, get_type_hints

import orjson

T = TypeVar("T")
Convert = Callable[[Any], Any]


def dump(state: object) -> bytes:
    """JSON bytes of a state (UTC datetimes with `Z`)."""
    return orjson.dumps(state, option=orjson.OPT_UTC_Z | orjson.OPT_NON_STR_KEYS)


def load(cls: type[T], raw: bytes | str | dict[str, Any]) -> T:
    """Rebuild a state of `cls` from its JSON (bytes, text or parsed object)."""
    obj = orjson.loads(raw) if isinstance(raw, (bytes, str)) else raw
    return _converter(cls)(obj)  # type: ignore[no-any-return]


def _identity(value: Any) -> Any:
    return value


@cache
def _converter(hint: Any) -> Convert:  # noqa: C901 - one branch per kind of annotation
    origin = get_origin(hint)
    if hint is datetime:
        return datetime.fromisoformat
    if dataclasses.is_dataclass(hint):
        hints = get_type_hints(hint)
        fields = [(f.name, _converter(hints[f.name])) for f in dataclasses.fields(hint)]

        def build(obj: dict[str, Any]) -> Any:
            return hint(**{name: conv(obj[name]) for name, conv in fields if name in obj})
        return build
    if origin in (types.UnionType, typing.Union):
        (inner,) = [a for a in get_args(hint) if a is not type(None)]
        conv = _converter(inner)
        return lambda v: None if v is None else conv(v)
    if origin is tuple:
        item = _converter(get_args(hint)[0])
        return lambda v: tuple(item(x) for x in v)
    if origin is dict:
        key_hint, value_hint = get_args(hint)
        key, value = _converter(key_hint), _converter(value_hint)
        return lambda v: {key(k): value(x) for k, x in v.items()}
    if hint is int:
        return int
    return _identity


@lru_cache(maxsize=50_000)
def load_cached(cls: type[T], raw: bytes) -> T:
    """`load`, memoized on the exact bytes: a stream processor reads back the bytes it
    just stored, and states are immutable, so the parsed object can be shared."""
    return load(cls, raw)
