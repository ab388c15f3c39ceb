"""Projection state to bytes and back (orjson), for Faust tables, topics and PostgreSQL.

States are frozen dataclasses of primitives, datetimes, tuples, dicts and nested
dataclasses; `load` rebuilds them from their JSON by the field annotations. Keys the
class does not have are ignored and missing ones take the field's default, so a state
stored by an earlier version loads; a class renames a stored field by listing it in a
`FORMER_NAMES` class attribute (former name -> field name).
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Callable
from datetime import datetime
from functools import cache
from typing import Any, TypeVar, cast, get_args, get_origin, get_type_hints

import orjson

T = TypeVar("T")
Convert = Callable[[Any], Any]


def dump(state: object) -> bytes:
    """JSON bytes of a state (UTC datetimes with `Z`)."""
    return orjson.dumps(state, option=orjson.OPT_UTC_Z | orjson.OPT_NON_STR_KEYS)


def load(cls: type[T], raw: bytes | str | dict[str, Any]) -> T:
    """Rebuild a state of `cls` from its JSON (bytes, text or parsed object)."""
    obj = orjson.loads(raw) if isinstance(raw, (bytes, str)) else raw
    state: T = _converter(cast(Any, cls))(obj)
    return state


def _identity(value: Any) -> Any:
    return value


@cache
def _converter(hint: Any) -> Convert:  # noqa: C901 - one branch per kind of annotation
    origin = get_origin(hint)
    if hint is datetime:
        return datetime.fromisoformat
    if dataclasses.is_dataclass(hint):
        return _dataclass_converter(hint)
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


def _dataclass_converter(cls: Any) -> Convert:
    hints = get_type_hints(cls)
    fields = [(f.name, _converter(hints[f.name])) for f in dataclasses.fields(cls)]
    former: dict[str, str] = getattr(cls, "FORMER_NAMES", {})

    def build(obj: dict[str, Any]) -> Any:
        return cls(**{name: conv(obj[name]) for name, conv in fields if name in obj})

    def build_renamed(obj: dict[str, Any]) -> Any:
        renamed = {new: obj[old] for old, new in former.items() if old in obj and new not in obj}
        return build({**obj, **renamed} if renamed else obj)
    return build_renamed if former else build


MEMO_SIZE = 50_000
_memo: dict[tuple[type, bytes], Any] = {}


def dump_remembered(state: object) -> bytes:
    """`dump`, remembering the state under its bytes so `load_remembered` of the same
    bytes costs a dict look-up. A stream processor reads back what it just stored,
    and states are immutable, so sharing the object is safe."""
    raw = dump(state)
    if len(_memo) >= MEMO_SIZE:
        del _memo[next(iter(_memo))]
    _memo[(type(state), raw)] = state
    return raw


def load_remembered(cls: type[T], raw: bytes) -> T:
    """`load` that first looks for a state `dump_remembered` produced these bytes from."""
    state = _memo.get((cls, raw))
    return state if state is not None else load(cls, raw)


def forget(cls: type, raw: bytes) -> None:
    """Drop the state remembered under these bytes (its key left the table: nothing will
    read it back, and the memory is freed now rather than when the memo turns over)."""
    _memo.pop((cls, raw), None)
