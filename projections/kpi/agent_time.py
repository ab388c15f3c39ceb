"""Agent time for the KPIs: how long each agent was logged in, available, handling, and
how many slots it offered and filled per channel (pure).

Two kinds of point facts, each derived from one topic in its own order, so every fold
(live, durable, offline) derives the same ones however the topics interleave:

- an `AgentPoint` when an agent event changes what the agent offers (logged in,
  available, capacity), from the agent reducer's states before and after;
- the conversation facts `assigned` (a hold begins: agent, channel) and `handled` (it
  ends), from the conversation reducer (`projections.kpi.facts`).

When figures are made, each agent's points and holds are swept in event-time order into
`Span`s: stretches while logged in with one state (available or not, load and capacity
per channel). A span is cut at interval boundaries (`pieces`), so an hour holds
exactly the agent seconds inside it. Which clock: event time throughout.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from projections.agents.state import AgentState
from projections.kpi.facts import Fact
from projections.kpi.intervals import Interval, Size, interval_of
from schemas.envelope import Envelope
from schemas.events import EventData

Slots = tuple[tuple[str, int], ...]
"""Channel -> count, sorted by channel."""


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentPoint:
    point_id: str
    """`<agent id>/<event id>`: the same point however often it is derived."""
    agent_id: str
    at: datetime
    logged_in: bool
    available: bool
    """Logged in with status `available`."""
    capacity: Slots
    order: int = 0
    """Where the event was read on the agent's partition (its offset): orders the agent's
    points of one instant as its log does (a login and a status change sent together)."""


def point_of(before: AgentState | None, after: AgentState, event: Envelope[EventData],
             order: int) -> AgentPoint | None:
    """The point an agent event read at `order` (its offset; in a fold without positions,
    its place in the fold) makes, when it changes what the agent offers (None for a
    redelivery, a refused event, or a change of skills or name)."""
    if after is before or (before is not None and _offer(before) == _offer(after)):
        return None
    logged_in, available, capacity = _offer(after)
    return AgentPoint(point_id=f"{after.agent_id}/{event.id}", agent_id=after.agent_id,
                      at=event.time, logged_in=logged_in, available=available,
                      capacity=capacity, order=order)


def _offer(state: AgentState) -> tuple[bool, bool, Slots]:
    return (state.logged_in, state.logged_in and state.status == "available",
            tuple(sorted(state.capacity.items())) if state.logged_in else ())


@dataclass(frozen=True, slots=True, kw_only=True)
class Span:
    agent_id: str
    start: datetime
    end: datetime
    available: bool
    load: Slots
    """Conversations held per channel."""
    capacity: Slots

    @property
    def seconds(self) -> float:
        return max(0.0, (self.end - self.start).total_seconds())

    @property
    def handling(self) -> bool:
        """Holding at least one conversation."""
        return any(n for _, n in self.load)

    def offered(self) -> Slots:
        """Slots offered per channel: its capacity while available (at least what it
        fills); else only the slots it still fills (an agent away finishing a
        conversation offers no new one)."""
        if not self.available:
            return self.load
        load, capacity = dict(self.load), dict(self.capacity)
        return tuple((c, max(capacity.get(c, 0), load.get(c, 0)))
                     for c in sorted(capacity.keys() | load.keys()))


Moment = tuple[datetime, int, int, str, AgentPoint | Fact | None]
"""When, the kind's rank at one instant, the log order, a tie-breaking id, and what
happened (None: the end)."""


def spans_of(points: Iterable[AgentPoint], facts: Iterable[Fact],
             until: datetime | None = None) -> list[Span]:
    """Every agent's logged-in stretches, from its points and its holds (`assigned` and
    `handled` facts), swept in event-time order; an agent still logged in at its last
    moment stays so `until` (the latest time known: the end of what was read). At one
    instant, holds end before they begin and before the agent's own change (so a
    hand-over at one instant is not counted twice), and an agent's own points as its log
    orders them."""
    moments: dict[str, list[Moment]] = defaultdict(list)
    for point in points:
        moments[point.agent_id].append((point.at, 1, point.order, point.point_id, point))
    for fact in facts:
        if fact.agent_id is not None and fact.kind in ("assigned", "handled"):
            rank = 2 if fact.kind == "assigned" else 0
            moments[fact.agent_id].append((fact.at, rank, 0, fact.fact_id, fact))
    found: list[Span] = []
    for agent_id, steps in sorted(moments.items()):
        found.extend(_sweep(agent_id, sorted(steps, key=lambda s: s[:4]), until))
    return found


def _sweep(agent_id: str, steps: list[Moment],
           until: datetime | None) -> Iterator[Span]:
    offer: AgentPoint | None = None
    held: dict[str, str] = {}  # conversation -> channel
    since: datetime | None = None
    for at, _, _, _, step in [*steps, *([(until, 3, 0, "", None)] if until else [])]:
        if offer is not None and offer.logged_in and since is not None and at > since:
            load: dict[str, int] = defaultdict(int)
            for channel in held.values():
                load[channel] += 1
            yield Span(agent_id=agent_id, start=since, end=at, available=offer.available,
                       load=tuple(sorted(load.items())), capacity=offer.capacity)
        since = at
        if step is None:
            break
        if isinstance(step, AgentPoint):
            offer = step
        elif step.kind == "assigned":
            held[step.conversation_id] = step.channel
        else:
            held.pop(step.conversation_id, None)


def pieces(span: Span, size: Size, zone: ZoneInfo) -> Iterator[tuple[Interval, Span]]:
    """The span cut at the boundaries of `size` intervals on `zone`'s clock."""
    start = span.start
    while True:
        interval = interval_of(start, size, zone)
        end = min(span.end, interval.end)
        yield interval, _cut(span, start, end)
        if end >= span.end:
            return
        start = end


def _cut(span: Span, start: datetime, end: datetime) -> Span:
    if start == span.start and end == span.end:
        return span
    return Span(agent_id=span.agent_id, start=start, end=end, available=span.available,
                load=span.load, capacity=span.capacity)
