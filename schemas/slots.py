"""Writing the fields of frozen, slotted dataclasses directly, for generated fast paths.

A frozen dataclass's `__init__` sets each field with `object.__setattr__`, which looks the
name up on the class at every write. The slot's own member descriptor writes it without
that look-up, in about half the time; the codec, the state loader and `evolve` build
their objects this way on their hot paths.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from types import MemberDescriptorType
from typing import Any

Setter = Callable[[Any, Any], None]


def slot_setter(cls: type, name: str) -> Setter | None:
    """The writer of the slot that holds field `name`, or None when it has no slot."""
    slot = next((vars(c)[name] for c in cls.__mro__ if name in vars(c)), None)
    return slot.__set__ if isinstance(slot, MemberDescriptorType) else None


def init_setters(cls: Any) -> list[Setter] | None:
    """Each field's slot writer, in field order, when the class's `__init__` does nothing
    but set every field (generated, no `__post_init__`, no `init=False` field); else None."""
    fields = dataclasses.fields(cls)
    if not cls.__dataclass_params__.init or hasattr(cls, "__post_init__") \
            or not all(f.init for f in fields):
        return None
    setters = [slot_setter(cls, f.name) for f in fields]
    return None if any(s is None for s in setters) else [s for s in setters if s is not None]
