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
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime
from functools import cache
from typing import Any, TypeVar, cast, get_args, get_origin, get_type_hints

import orjson

from schemas.codec import exact
from schemas.slots import init_setters

T = TypeVar("T")
Convert = Callable[[Any], Any]


def dump(state: object) -> bytes:
    """JSON bytes of a state (UTC datetimes with `Z`)."""
    # Kept: in a table, the memo, a change record (`exact`: orjson's bytes hold 16 KiB).
    return exact(orjson.dumps(state, option=orjson.OPT_UTC_Z | orjson.OPT_NON_STR_KEYS))


def load(cls: type[T], raw: bytes | str | dict[str, Any]) -> T:
    """Rebuild a state of `cls` from its JSON (bytes, text or parsed object)."""
    obj = orjson.loads(raw) if isinstance(raw, (bytes, str)) else raw
    state: T = _converter(cast(Any, cls))(obj)
    return state


def _identity(value: Any) -> Any:
    return value


def _optional(hint: Any) -> Any:
    """`X` of `X | None`."""
    (inner,) = [a for a in get_args(hint) if a is not type(None)]
    return inner


@cache
def _converter(hint: Any) -> Convert:  # noqa: C901 - one branch per kind of annotation
    origin = get_origin(hint)
    if hint is datetime:
        return datetime.fromisoformat
    if dataclasses.is_dataclass(hint):
        return _dataclass_converter(hint)
    if origin in (types.UnionType, typing.Union):
        conv = _converter(_optional(hint))
        if conv is _identity:  # None converts to itself
            return _identity
        return lambda v: None if v is None else conv(v)
    if origin is tuple:
        item = _converter(get_args(hint)[0])
        if item is _identity:
            return tuple
        return lambda v: tuple(item(x) for x in v)
    if origin is dict:
        key_hint, value_hint = get_args(hint)
        key, value = _converter(key_hint), _converter(value_hint)
        return lambda v: {key(k): value(x) for k, x in v.items()}
    if hint is int:
        return int
    return _identity


def _dataclass_converter(cls: Any) -> Convert:
    """A builder of `cls` from its JSON object, generated once per class (the generic one,
    a converter per field in a comprehension, was most of the cost of reading a state).

    An object that has every field sets the slots directly, as `evolve` does; one missing
    some goes through `__init__`, which fills in the defaults."""
    hints = get_type_hints(cls)
    fields = dataclasses.fields(cls)
    former: dict[str, str] = getattr(cls, "FORMER_NAMES", {})
    scope: dict[str, Any] = {"cls": cls, "names": frozenset(f.name for f in fields),
                             "new_": object.__new__, "dict_": dict,
                             "other": _generic_converter(cls, hints, former)}
    values = [_field_value(f"conv_{i}", f.name, hints[f.name], scope)
              for i, f in enumerate(fields)]
    lines = ["def build(o):", "    if type(o) is not dict_:", "        return other(o)"]
    if former:
        scope["former"] = former
        lines += ["    renamed = {new: o[old] for old, new in former.items()",
                  "               if old in o and new not in o}",
                  "    if renamed:", "        o = {**o, **renamed}"]
    setters = init_setters(cls)
    if setters is not None:
        lines += ["    if names <= o.keys():", "        new = new_(cls)"]
        for i, value in enumerate(values):
            scope[f"set_{i}"] = setters[i]
            lines.append(f"        set_{i}(new, {value})")
        lines.append("        return new")
    lines.append("    kw = {}")
    for f, value in zip(fields, values, strict=True):
        lines += [f"    if {f.name!r} in o:", f"        kw[{f.name!r}] = {value}"]
    lines.append("    return cls(**kw)")
    exec("\n".join(lines), scope)  # noqa: S102 - code built from the class's own fields
    build: Convert = scope["build"]
    return build


def _generic_converter(cls: Any, hints: dict[str, Any], former: dict[str, str]) -> Convert:
    """The builder for what is not a JSON object (it fails as it always did)."""
    fields = [(f.name, _converter(hints[f.name])) for f in dataclasses.fields(cls)]

    def build(obj: Any) -> Any:
        renamed = {new: obj[old] for old, new in former.items() if old in obj and new not in obj}
        obj = {**obj, **renamed} if renamed else obj
        return cls(**{name: conv(obj[name]) for name, conv in fields if name in obj})
    return build


def _field_value(conv: str, name: str, hint: Any, scope: dict[str, Any]) -> str:
    """The expression that converts field `name` of the JSON object `o`."""
    convert = _converter(hint)
    if convert is _identity:
        return f"o[{name!r}]"
    if get_origin(hint) in (types.UnionType, typing.Union):  # inlined: None, or convert
        scope[conv] = _converter(_optional(hint))
        return f"(None if (v := o[{name!r}]) is None else {conv}(v))"
    scope[conv] = convert
    return f"{conv}(o[{name!r}])"


MEMO_SIZE = 8_192
"""Keys whose latest state is remembered. A worker reads a key back within a batch or
two of storing it, so a few batches' worth of keys is what helps."""
_memo: OrderedDict[tuple[type, bytes], tuple[bytes, Any]] = OrderedDict()
"""(state class, table key) -> (the bytes stored, the state they were dumped from),
least recently stored first. One entry per key, holding the very bytes the table holds:
keyed by the bytes instead, every version of a busy key stayed until it turned over (a
queue's state, re-stored after each small batch, filled a worker with 250 MB of its
old versions). An OrderedDict, not a dict: a dict that loses its first key on every
insert makes each `next(iter(...))` step over all the keys deleted before it."""


def dump_remembered(state: object, key: bytes) -> bytes:
    """`dump` of the state stored under `key`, remembered so that `load_remembered` of
    the same key and bytes costs a dict look-up. A stream processor reads back what it
    just stored, and states are immutable, so sharing the object is safe."""
    raw = dump(state)
    slot = (type(state), key)
    if _memo.pop(slot, None) is None and len(_memo) >= MEMO_SIZE:
        _memo.popitem(last=False)
    _memo[slot] = (raw, state)
    return raw


def load_remembered(cls: type[T], raw: bytes, key: bytes) -> T:
    """`load` that first looks for the state `dump_remembered` stored under `key`, if
    these are its bytes (the same object from a memory store; equal ones from disk)."""
    hit = _memo.get((cls, key))
    if hit is not None and (hit[0] is raw or hit[0] == raw):
        state: T = hit[1]
        return state
    return load(cls, raw)


def forget(cls: type, key: bytes) -> None:
    """Drop the state remembered under `key` (it left the table: nothing will read it
    back, and the memory is freed now rather than when the memo turns over)."""
    _memo.pop((cls, key), None)


RECORDS_SIZE = 8_192
_records: OrderedDict[bytes, Any] = OrderedDict()


def remember_record(raw: bytes, value: object) -> None:
    """Remember `value` as what the record `raw`, which this process wrote from it, reads
    back as (`recall_record`): a worker reads the records it re-keys soon after writing
    them, and need not parse them again. Only for an immutable `value` that parsing `raw`
    would rebuild equal, field types included."""
    if len(_records) >= RECORDS_SIZE:
        _records.popitem(last=False)
    _records[raw] = value


def recall_record(raw: bytes) -> Any:
    """What `remember_record` remembered for `raw`, or None."""
    return _records.get(raw)
