"""`evolve(state, **changes)`: `dataclasses.replace` for frozen slotted states, fast.

`dataclasses.replace` re-runs `__init__` through a generic path; on the ~50-field
conversation state it was half the cost of folding an event. This builds, once per
class, a function that copies the slots directly and sets only what changed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from functools import cache
from typing import Any, TypeVar

T = TypeVar("T")


@cache
def _names(cls: type) -> frozenset[str]:
    return frozenset(f.name for f in dataclasses.fields(cls))


@cache
def _copier(cls: type) -> Callable[[Any, dict[str, Any]], Any]:
    names = [f.name for f in dataclasses.fields(cls)]
    lines = ["def copy(s, c):", "    new = new_(cls)"]
    lines += [f"    set_(new, {n!r}, c[{n!r}] if {n!r} in c else s.{n})" for n in names]
    lines += ["    return new"]
    scope: dict[str, Any] = {"new_": object.__new__, "set_": object.__setattr__, "cls": cls}
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
