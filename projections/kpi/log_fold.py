"""The KPI inputs of a log read in order: its facts and its agent spans (an offline fold).

Each conversation event is folded by the conversation reducer, as everywhere; an event
the lifecycle refuses changes nothing and completes no fact (the worker dead-letters
it). Agent time needs agent events and conversation changes together: they come from
two topics, so they are taken in event-time order (log order among equal times),
which makes the spans the same however the topics' records were interleaved.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from projections.changes import change_between
from projections.conversations import reducer
from projections.conversations.state import ConversationState
from projections.dedupe import Position
from projections.errors import LifecycleError
from projections.kpi.agent_time import Span, Step, spans_of_steps
from projections.kpi.facts import Fact, facts_of
from schemas.envelope import Envelope
from schemas.events import EventData
from schemas.topics import Family, family_of


@dataclass(frozen=True, slots=True)
class KpiInputs:
    facts: list[Fact]
    spans: list[Span]


def fold_log(events: Iterable[tuple[Envelope[EventData], Position | None]]) -> KpiInputs:
    """The facts and spans of `events` (each conversation's and each agent's in order)."""
    states: dict[str, ConversationState] = {}
    facts: list[Fact] = []
    steps: list[tuple[int, Step]] = []
    for n, (event, position) in enumerate(events):
        family = family_of(event.type)
        if family is Family.AGENT:
            steps.append((n, (event.time, event.id, event)))
            continue
        if family is not Family.CONVERSATION:
            continue
        before = states.get(event.subject)
        try:
            after = reducer.apply(before, event, position)
        except LifecycleError:
            continue
        states[event.subject] = after
        facts.extend(facts_of(before, after, event))
        change = change_between(before, after, event.id, event.time) \
            if after is not before else None
        if change is not None:
            steps.append((n, (event.time, event.id, change)))
    steps.sort(key=lambda item: (item[1][0], item[0]))
    return KpiInputs(facts, list(spans_of_steps(step for _, step in steps)))
