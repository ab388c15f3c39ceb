"""Agent time for the KPIs: how long each agent was logged in, available, handling, and
how many slots it offered and filled per channel (pure).

An agent's state (the agent reducer's, fed by its own events and by the changes of the
conversations it holds, as every projection is) holds from one of its changes to the
next; each stretch is a `Span`, definition-free like a fact. Which clock: event time,
the time of the change that began the stretch to the time of the one that ended it;
a change whose time is before the stretch's start (events of two topics arriving out
of order) ends it with no length. Only stretches while logged in are kept.

A span is split at interval boundaries when figures are made (`pieces`), so an hour
holds exactly the agent seconds inside it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from projections.agents import reducer as agents
from projections.agents.state import AgentState
from projections.changes import ConversationChange
from projections.errors import LifecycleError
from projections.kpi.intervals import Interval, Size, interval_of
from schemas.envelope import Envelope
from schemas.events import EventData

Slots = tuple[tuple[str, int], ...]
"""Channel -> count, sorted by channel."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Span:
    span_id: str
    """`<agent id>:<id of the event that ended it>`: the same span however often derived."""
    agent_id: str
    start: datetime
    end: datetime
    available: bool
    """Logged in with status `available`."""
    load: Slots
    """Conversations held per channel."""
    capacity: Slots
    """Conversations it may hold per channel."""

    @property
    def seconds(self) -> float:
        return max(0.0, (self.end - self.start).total_seconds())

    @property
    def handling(self) -> bool:
        """Holding at least one conversation."""
        return any(n for _, n in self.load)

    def offered(self) -> Slots:
        """Slots offered per channel: its capacity while available; else only the slots
        it still fills (an agent away finishing a conversation offers no new slot)."""
        load = dict(self.load)
        if self.available:
            return tuple((c, max(n, load.get(c, 0))) for c, n in self.capacity)
        return self.load


def span_of(before: AgentState | None, since: datetime | None, after: AgentState,
            at: datetime, event_id: str) -> Span | None:
    """The stretch `before` held from `since` until the change at `at` made it `after`
    (None when nothing changed, or the agent was not logged in)."""
    if before is None or since is None or after is before or not before.logged_in:
        return None
    return Span(span_id=f"{before.agent_id}:{event_id}", agent_id=before.agent_id,
                start=since, end=max(since, at),
                available=before.status == "available",
                load=tuple(sorted((c, len(held)) for c, held in before.holding.items() if held)),
                capacity=tuple(sorted(before.capacity.items())))


Step = tuple[datetime, str, Envelope[EventData] | ConversationChange]
"""When, the event id, and an agent event or a conversation change for agents."""


def spans_of_steps(steps: Iterable[Step]) -> Iterator[Span]:
    """The spans of agent events and conversation changes folded in the order given."""
    states: dict[str, AgentState] = {}
    since: dict[str, datetime] = {}
    for at, event_id, step in steps:
        if isinstance(step, ConversationChange):
            moved = [(a, agents.apply_change(states.get(a), a, step)) for a in step.agents()]
        else:
            try:
                moved = [(step.subject, agents.apply(states.get(step.subject), step))]
            except LifecycleError:
                continue
        for agent_id, after in moved:
            before = states.get(agent_id)
            span = span_of(before, since.get(agent_id), after, at, event_id)
            if span is not None:
                yield span
            if after is not before:
                states[agent_id] = after
                since[agent_id] = at


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
    return Span(span_id=span.span_id, agent_id=span.agent_id, start=start, end=end,
                available=span.available, load=span.load, capacity=span.capacity)
