"""KPI definitions: the parameters the contested figures depend on, with a version.

A definitions file (TOML) sets the center's defaults and overrides them per queue:

    version = "2026-12-04.1"
    [center]
    time_zone = "UTC"                  # IANA; the day of a queue's daily figures
    service_level_threshold_s = 20     # T of service level
    short_abandon_s = 5                # abandons sooner than this are "short"
    recontact_window_s = 604800        # FCR and containment (7 days)
    agent_hourly_cost = 0.0            # cost per logged-in agent hour
    [queues.billing]
    service_level_threshold_s = 30
    time_zone = "Europe/Berlin"

Every figure carries the version it was computed with.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


class DefinitionsError(ValueError):
    """A definitions file that cannot be used; `problems` names every one."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True, slots=True)
class QueueDefinition:
    time_zone: str = "UTC"
    service_level_threshold_s: float = 20.0
    short_abandon_s: float = 5.0
    recontact_window_s: float = 7 * 86400.0
    agent_hourly_cost: float = 0.0

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)


@dataclass(frozen=True, slots=True)
class Definitions:
    version: str = "default"
    center: QueueDefinition = QueueDefinition()
    queues: dict[str, QueueDefinition] = field(default_factory=dict)

    def of(self, queue: str | None) -> QueueDefinition:
        """The definition that applies to `queue` (the center's when it has none)."""
        return self.queues.get(queue, self.center) if queue is not None else self.center


def read_definitions(path: Path) -> Definitions:
    """The definitions in the file at `path`; OSError, or DefinitionsError naming every
    problem."""
    return parse_definitions(path.read_text())


def max_recontact_window(definitions: Definitions) -> float:
    """The longest recontact window of any queue: how far past a period the facts that
    decide its FCR and containment reach."""
    return max([definitions.center.recontact_window_s,
                *(d.recontact_window_s for d in definitions.queues.values())])


_LIMITS = {"service_level_threshold_s": (0.0, 86400.0), "short_abandon_s": (0.0, 3600.0),
           "recontact_window_s": (0.0, 90 * 86400.0), "agent_hourly_cost": (0.0, 1e6)}


def parse_definitions(text: str) -> Definitions:
    """Definitions from TOML text; DefinitionsError naming every problem otherwise."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise DefinitionsError([f"not TOML: {exc}"]) from None
    problems: list[str] = []
    version = raw.pop("version", None)
    if not isinstance(version, str) or not version.strip():
        problems.append("version: a non-empty string is required")
    center = _queue("center", raw.pop("center", {}), QueueDefinition(), problems)
    queues_raw = raw.pop("queues", {})
    queues: dict[str, QueueDefinition] = {}
    if not isinstance(queues_raw, dict):
        problems.append("queues: a table of queue names is required")
        queues_raw = {}
    for name, body in queues_raw.items():
        queues[name] = _queue(f"queues.{name}", body, center, problems)
    problems += [f"{key}: unknown setting" for key in raw]
    if problems:
        raise DefinitionsError(problems)
    return Definitions(str(version), center, queues)


def _queue(where: str, body: Any, base: QueueDefinition,
           problems: list[str]) -> QueueDefinition:
    if not isinstance(body, dict):
        problems.append(f"{where}: a table is required")
        return base
    known = {f.name for f in fields(QueueDefinition)}
    values: dict[str, Any] = {}
    for key, value in body.items():
        if key not in known:
            problems.append(f"{where}.{key}: unknown setting (known: {', '.join(sorted(known))})")
        elif key == "time_zone":
            try:
                ZoneInfo(str(value))
                values[key] = str(value)
            except (ZoneInfoNotFoundError, ValueError):
                problems.append(f"{where}.time_zone: {value!r} is not an IANA time zone")
        elif isinstance(value, bool) or not isinstance(value, int | float) \
                or not _LIMITS[key][0] <= value <= _LIMITS[key][1]:
            low, high = _LIMITS[key]
            problems.append(f"{where}.{key}: a number from {low:g} to {high:g}, not {value!r}")
        else:
            values[key] = float(value)
    return replace(base, **values)
