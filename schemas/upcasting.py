"""Read old event versions as current ones.

An upcaster takes the JSON object of an event of an old `type` and returns the
object of the next version. The codec applies them in a chain until the type is
current, so the rest of the system only ever sees current classes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]

UPCASTERS: Mapping[str, Upcaster] = {}
"""Old wire type -> step to the next version. Empty until a type gets a v2."""

MAX_CHAIN = 32


def upcast(obj: dict[str, Any], upcasters: Mapping[str, Upcaster] = UPCASTERS) -> dict[str, Any]:
    """Apply upcasters until the object's `type` has none; refuses cycles."""
    for _ in range(MAX_CHAIN):
        step = upcasters.get(str(obj.get("type", "")))
        if step is None:
            return obj
        obj = step(obj)
    raise ValueError(f"upcaster chain longer than {MAX_CHAIN} for {obj.get('type')!r}")
