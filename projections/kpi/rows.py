"""Facts grouped into rows of figures: one row per scope and interval (pure).

A scope is the center, a queue, a channel or an agent (`by`); a fact joins the
interval of its instant on the time zone of its queue's definition (the center's for
the center and channel scopes). Agent rows hold the facts that name an agent (answers,
responses, holds, resolutions, transfers, escalations, reopens).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from projections.kpi.definitions import Definitions
from projections.kpi.facts import Fact
from projections.kpi.figures import Figure, figures
from projections.kpi.intervals import Interval, Size, interval_of
from projections.kpi.recontact import gather

By = Literal["center", "queue", "channel", "agent"]
BY: tuple[By, ...] = ("center", "queue", "channel", "agent")


@dataclass(frozen=True, slots=True)
class Row:
    scope: str
    """`center`, or `queue:<name>`, `channel:<name>`, `agent:<id>`."""
    interval: Interval
    definition: str
    """The version of the definitions the figures were computed with."""
    kpis: dict[str, Figure]


def rows(facts: Iterable[Fact], definitions: Definitions, *, by: By, size: Size,
         start: datetime | None = None, end: datetime | None = None) -> list[Row]:
    """The rows of `facts` whose interval begins in [start, end), ordered by scope and time."""
    facts = list(facts)
    known = gather(facts)  # recontacts are looked for in every fact, not one interval's
    groups: dict[tuple[str, Interval], list[Fact]] = defaultdict(list)
    for fact in facts:
        scope = _scope(fact, by)
        if scope is None:
            continue
        zone = (definitions.of(fact.queue) if by in ("queue", "agent")
                else definitions.center).zone
        interval = interval_of(fact.at, size, zone)
        if (start is None or interval.start >= start) and (end is None or interval.start < end):
            groups[(scope, interval)].append(fact)
    return [Row(scope, interval, definitions.version, figures(group, definitions, known))
            for (scope, interval), group in sorted(groups.items(), key=lambda kv: kv[0])]


def _scope(fact: Fact, by: By) -> str | None:
    match by:
        case "center":
            return "center"
        case "queue":
            return f"queue:{fact.queue}"
        case "channel":
            return f"channel:{fact.channel}"
        case "agent":
            return f"agent:{fact.agent_id}" if fact.agent_id else None
