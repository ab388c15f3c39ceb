"""How a data class declares its stable wire type.

The wire type is an explicit string with a version suffix, never the Python
class name, so classes can be renamed without breaking the log.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import field
from typing import Any, ClassVar, Protocol, TypeVar


class EventData(Protocol):
    """Any event payload: a frozen dataclass carrying its wire type."""

    WIRE_TYPE: ClassVar[str]
    __dataclass_fields__: ClassVar[dict[str, Any]]


T = TypeVar("T")


def event_type(wire_type: str) -> Any:
    """Class decorator that records the wire type (e.g. `cc.agent.logged_in.v1`)."""

    def mark(cls: type[T]) -> type[T]:
        cls.WIRE_TYPE = wire_type  # type: ignore[attr-defined]
        return cls

    return mark


def wire_type_of(data: object) -> str:
    """The wire type of an event payload instance."""
    return str(type(data).WIRE_TYPE)  # type: ignore[attr-defined]


def catalog(*classes: type) -> dict[str, type[EventData]]:
    """Index classes by wire type, refusing duplicates."""
    out: dict[str, type[EventData]] = {}
    for cls in classes:
        wire = cls.WIRE_TYPE  # type: ignore[attr-defined]
        if wire in out:
            raise ValueError(f"duplicate wire type {wire}")
        out[wire] = cls
    return out


def constrained(default: Any = ..., *, factory: Callable[[], Any] | None = None,
                **schema: Any) -> Any:
    """A dataclass field carrying extra JSON Schema keywords (the bounds of
    `schemas.events.bounds`); `factory` makes a fresh default (a dict, a list)."""
    if factory is not None:
        return field(default_factory=factory, metadata={"schema": schema})
    if default is ...:
        return field(metadata={"schema": schema})
    return field(default=default, metadata={"schema": schema})
