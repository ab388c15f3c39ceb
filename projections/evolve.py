"""`evolve(state, **changes)`: `dataclasses.replace` for frozen slotted states, fast.

`dataclasses.replace` re-runs `__init__` through a generic path; on the ~50-field
conversation state it was half the cost of folding an event. This builds, once per
class, a function that copies the slots directly and then sets only what changed.
Each slot is written through its own member descriptor (`schemas.slots`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from functools import cache
from typing import Any, TypeVar

from schemas.slots import Setter, slot_setter

T = TypeVar("T")


@cache
def _names(cls: type) -> frozenset[str]:
    return frozenset(f.name for f in dataclasses.fields(cls))


def _setters(cls: type, names: list[str]) -> dict[str, Setter]:
    """Each field's slot writer; `object.__setattr__` for a field that has no slot."""
    return {name: slot_setter(cls, name) or _setattr(name) for name in names}


def _setattr(name: str) -> Setter:
    def set_(obj: Any, value: Any) -> None:
        object.__setattr__(obj, name, value)
    return set_


@cache
def _copier(cls: type) -> Callable[[Any, dict[str, Any]], Any]:
    names = [f.name for f in dataclasses.fields(cls)]
    setters = _setters(cls, names)
    scope: dict[str, Any] = {"new_": object.__new__, "cls": cls, "setters": setters}
    lines = ["def copy(s, c):", "    new = new_(cls)"]
    for i, name in enumerate(names):
        scope[f"set_{i}"] = setters[name]
        lines.append(f"    set_{i}(new, s.{name})")
    lines += ["    for name, value in c.items():", "        setters[name](new, value)",
              "    return new"]
    exec("\n".join(lines), scope)  # noqa: S102 - code built from the class's own field names
    copy: Callable[[Any, dict[str, Any]], Any] = scope["copy"]
    return copy


def evolve(state: T, **changes: Any) -> T:
    """A copy of a frozen dataclass instance with some fields changed."""
    cls: Any = type(state)
    if not changes.keys() <= _names(cls):
        unknown = sorted(changes.keys() - _names(cls))
        raise TypeError(f"{cls.__name__} has no field(s) {unknown}")
    evolved: T = _copier(cls)(state, changes)
    return evolved
