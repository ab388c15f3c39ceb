"""KPI figures of agent time (pure), from the spans of one scope and interval.

- logged_in_time: agent seconds logged in.
- occupancy (time-based, the 70-80 % target): seconds handling (holding at least one
  conversation) ÷ (seconds handling + seconds available and holding none).
- slot_utilization (concurrency-aware), per channel: ∫ slots filled dt ÷ ∫ slots
  offered dt, where an available agent offers its capacity and an agent not available
  offers only the slots it still fills.
- conversations_per_agent_hour: holds ended (`handled` facts) ÷ logged-in hours.
- cost_per_resolved: agent hourly cost × logged-in hours ÷ conversations resolved.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from projections.kpi.agent_time import Span
from projections.kpi.figures import Figure, Rate

HOUR_S = 3600.0


def agent_figures(spans: Iterable[Span], *, handled: int, resolved: int,
                  hourly_cost: float, channel: str | None = None) -> dict[str, Figure]:
    """The agent-time figures of `spans`; with `channel`, the slot utilization of that
    channel alone (a channel scope: occupancy and the per-hour figures are an agent's
    or the center's, not a channel's)."""
    logged_in = handling = idle = 0.0
    filled: dict[str, float] = defaultdict(float)
    offered: dict[str, float] = defaultdict(float)
    for span in spans:
        seconds = span.seconds
        logged_in += seconds
        if span.handling:
            handling += seconds
        elif span.available:
            idle += seconds
        for c, n in span.load:
            filled[c] += n * seconds
        for c, n in span.offered():
            offered[c] += n * seconds
    channels = sorted(set(offered) | set(filled)) if channel is None else [channel]
    slots: Figure = {c: Rate(filled.get(c, 0.0), offered.get(c, 0.0)) for c in channels}
    if channel is not None:
        return {"slot_utilization": slots}
    return {
        "logged_in_time": logged_in,
        "occupancy": Rate(handling, handling + idle),
        "slot_utilization": slots,
        "conversations_per_agent_hour": Rate(handled, logged_in / HOUR_S),
        "cost_per_resolved": Rate(hourly_cost * logged_in / HOUR_S, resolved),
    }
