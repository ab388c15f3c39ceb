"""Why an event could not be decoded: a code and precise JSON-Pointer paths."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

ErrorCode = Literal["malformed_json", "unknown_type", "schema_violation"]


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with one event: `path` is a JSON Pointer into the event."""

    path: str
    problem: str


@dataclass
class DecodeError(Exception):
    """An event that is not a valid CloudEvent of a known type.

    Not frozen: Python and test tools set `__traceback__` on a raised exception, which a
    frozen (slotted) dataclass refuses with a TypeError that hides the real error."""

    code: ErrorCode
    message: str
    problems: tuple[Problem, ...] = field(default_factory=tuple)

    def __str__(self) -> str:
        details = "; ".join(f"{p.path or '/'}: {p.problem}" for p in self.problems)
        return f"{self.code}: {self.message}" + (f" ({details})" if details else "")
