"""The KPI inputs of a log read in order: its conversation facts and agent points (an
offline fold).

Each event is folded by its reducer through `projections.replay`, as everywhere; an
event the lifecycle refuses changes nothing and adds nothing (the worker dead-letters
it). Only each conversation's and each agent's own order matters, so how the two
topics' records interleave changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from projections.dedupe import Position
from projections.errors import LifecycleError
from projections.kpi.agent_time import AgentPoint, point_of
from projections.kpi.facts import Fact, facts_of
from projections.replay import ReadModels, apply_agent_event, fold_conversation_event
from schemas.envelope import Envelope
from schemas.events import EventData
from schemas.topics import Family, family_of


@dataclass(frozen=True, slots=True)
class KpiInputs:
    facts: list[Fact]
    points: list[AgentPoint]


def fold_log(events: Iterable[tuple[Envelope[EventData], Position | None]]) -> KpiInputs:
    """The facts and agent points of `events`."""
    models = ReadModels()
    facts: list[Fact] = []
    points: list[AgentPoint] = []
    for n, (event, position) in enumerate(events):
        family = family_of(event.type)
        try:
            if family is Family.AGENT:
                was = models.agents.get(event.subject)
                apply_agent_event(models, event, position)
                point = point_of(was, models.agents[event.subject], event,
                                 position.offset if position else n)
                if point is not None:
                    points.append(point)
            elif family is Family.CONVERSATION:
                before = models.conversations.get(event.subject)
                fold_conversation_event(models, event, position)
                facts.extend(facts_of(before, models.conversations[event.subject], event))
        except LifecycleError:
            continue
    return KpiInputs(facts, points)
