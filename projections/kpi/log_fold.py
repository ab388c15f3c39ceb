"""The KPI inputs of a log read in order: its conversation facts and agent points (an
offline fold).

Each event is folded by its reducer, as everywhere; an event the lifecycle refuses
changes nothing and adds nothing (the worker dead-letters it). Only each
conversation's and each agent's own order matters, so how the two topics'
records interleave changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from projections.agents import reducer as agents
from projections.agents.state import AgentState
from projections.conversations import reducer as conversations
from projections.conversations.state import ConversationState
from projections.dedupe import Position
from projections.errors import LifecycleError
from projections.kpi.agent_time import AgentPoint, point_of
from projections.kpi.facts import Fact, facts_of
from schemas.envelope import Envelope
from schemas.events import EventData
from schemas.topics import Family, family_of


@dataclass(frozen=True, slots=True)
class KpiInputs:
    facts: list[Fact]
    points: list[AgentPoint]


def fold_log(events: Iterable[tuple[Envelope[EventData], Position | None]]) -> KpiInputs:
    """The facts and agent points of `events`."""
    talks: dict[str, ConversationState] = {}
    desks: dict[str, AgentState] = {}
    facts: list[Fact] = []
    points: list[AgentPoint] = []
    for n, (event, position) in enumerate(events):
        family = family_of(event.type)
        try:
            if family is Family.AGENT:
                was = desks.get(event.subject)
                desk = desks[event.subject] = agents.apply(was, event, position)
                point = point_of(was, desk, event, position.offset if position else n)
                if point is not None:
                    points.append(point)
            elif family is Family.CONVERSATION:
                before = talks.get(event.subject)
                after = talks[event.subject] = conversations.apply(before, event, position)
                facts.extend(facts_of(before, after, event))
        except LifecycleError:
            continue
    return KpiInputs(facts, points)
