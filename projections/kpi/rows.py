"""Facts grouped into rows of figures: one row per scope and interval (pure).

A scope is the center, a queue, a channel or an agent (`by`); a fact joins the
interval of its instant on the time zone of its queue's definition for queue rows,
the center's otherwise (an agent serves several queues: its day is the center's).
Agent rows hold the facts that name an agent (answers, responses, holds, resolutions,
transfers, escalations, reopens) and its agent time; center rows all agent time;
channel rows the slot utilization of their channel; queue rows no agent time (it
belongs to no queue). Backlog (open at the interval's end) is in every row but an
agent's.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from projections.kpi.agent_figures import agent_figures
from projections.kpi.agent_time import AgentPoint, Span, pieces, spans_of
from projections.kpi.backlog import open_at
from projections.kpi.definitions import Definitions
from projections.kpi.engagement import turns_of
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
         start: datetime | None = None, end: datetime | None = None,
         points: Iterable[AgentPoint] = ()) -> list[Row]:
    """The rows of `facts` and agent `points` whose interval begins in [start, end),
    ordered by scope and time."""
    # In event-time order whatever order they were read in (log order, or by time from a
    # store), so sums come out the same to the last bit.
    facts = sorted(facts, key=lambda f: (f.at, f.fact_id))
    points = list(points)
    # From every point and fact (a span may start before the range); agents still
    # logged in count up to the latest moment the inputs know.
    latest = max([f.at for f in facts] + [p.at for p in points], default=None)
    spans = spans_of(points, facts, latest)
    known = gather(facts)  # recontacts are looked for in every fact, not one interval's
    turns = turns_of(facts)
    center = definitions.center.zone

    def wanted(interval: Interval) -> bool:
        return (start is None or interval.start >= start) and (end is None or interval.start < end)

    by_fact: dict[tuple[str, Interval], list[Fact]] = defaultdict(list)
    for fact in facts:
        scope = _scope(fact, by)
        if scope is None:
            continue
        interval = interval_of(fact.at, size, definitions.of(fact.queue).zone
                               if by == "queue" else center)
        if wanted(interval):
            by_fact[(scope, interval)].append(fact)
    by_span: dict[tuple[str, Interval], list[Span]] = defaultdict(list)
    if by != "queue":  # agent time belongs to no queue
        for span in spans:
            for interval, piece in pieces(span, size, center):
                if wanted(interval):
                    for scope in _span_scopes(piece, by):
                        by_span[(scope, interval)].append(piece)
    keys = sorted(set(by_fact) | set(by_span))
    backlog = open_at(facts, lambda f: _scope(f, by), {k[1].end for k in keys}) \
        if by != "agent" else {}
    found = []
    for key in keys:
        scope, interval = key
        group = by_fact.get(key, [])
        kpis = figures(group, definitions, known, turns)
        if by != "agent":
            kpis["backlog"] = backlog.get((scope, interval.end), 0)
        if by != "queue":
            kpis.update(agent_figures(
                by_span.get(key, []), handled=sum(1 for f in group if f.kind == "handled"),
                resolved=sum(1 for f in group if f.kind == "resolved"),
                hourly_cost=definitions.center.agent_hourly_cost,
                channel=scope.split(":", 1)[1] if by == "channel" else None))
        found.append(Row(scope, interval, definitions.version, kpis))
    return found


def _span_scopes(span: Span, by: By) -> list[str]:
    match by:
        case "center":
            return ["center"]
        case "agent":
            return [f"agent:{span.agent_id}"]
        case "channel":
            return [f"channel:{c}" for c in sorted({c for c, _ in span.capacity + span.load})]
        case _:
            return []


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
