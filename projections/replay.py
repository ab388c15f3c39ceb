"""Fold a whole log offline: the same reducers as the live and durable projections.

Used by tests (live fold == rebuild), what-if analysis and the projector's batches.
Each event may come with the position it was read at (`projections.dedupe`): the folds
that read a log pass it, so their states equal the live ones, positions included.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from projections.agents import reducer as agents
from projections.agents.state import AgentState
from projections.changes import ConversationChange, change_between
from projections.conversations import reducer as conversations
from projections.conversations.state import ConversationState
from projections.dedupe import Position
from projections.errors import LifecycleError
from projections.fanout import fan_out
from projections.queues.reducer import QueueState
from schemas.envelope import Envelope
from schemas.events import EventData
from schemas.topics import Family, family_of

Sourced = tuple[Envelope[EventData], Position | None]
"""An event and where it was read (None when not read from a log)."""


@dataclass(slots=True)
class Rejected:
    event_id: str
    subject: str
    reason: str
    detail: str


@dataclass(slots=True)
class ReadModels:
    """Every projection, in memory."""

    conversations: dict[str, ConversationState] = field(default_factory=dict)
    agents: dict[str, AgentState] = field(default_factory=dict)
    queues: dict[str, QueueState] = field(default_factory=dict)
    rejected: list[Rejected] = field(default_factory=list)


def fold_conversation_event(models: ReadModels, event: Envelope[EventData],
                            position: Position | None = None) -> ConversationChange | None:
    """Fold one conversation event into its conversation alone; the change it made for
    queues and agents, not yet fanned out to them."""
    before = models.conversations.get(event.subject)
    after = conversations.apply(before, event, position)
    models.conversations[event.subject] = after
    return change_between(before, after, event.id, event.time) if after is not before else None


def apply_conversation_event(models: ReadModels, event: Envelope[EventData],
                             position: Position | None = None) -> ConversationChange | None:
    """Fold one conversation event, and its change into the queues and agents it touches."""
    change = fold_conversation_event(models, event, position)
    if change is not None:
        fan_out(models.queues, models.agents, change)
    return change


def apply_agent_event(models: ReadModels, event: Envelope[EventData],
                      position: Position | None = None) -> None:
    """Fold one agent event."""
    models.agents[event.subject] = agents.apply(models.agents.get(event.subject), event, position)


def apply_event(models: ReadModels, event: Envelope[EventData],
                position: Position | None = None) -> None:
    """Fold any event; lifecycle violations are recorded as rejected, not raised."""
    try:
        if family_of(event.type) is Family.AGENT:
            apply_agent_event(models, event, position)
        else:
            apply_conversation_event(models, event, position)
    except LifecycleError as exc:
        models.rejected.append(Rejected(event.id, event.subject, exc.reason, exc.detail))


def fold(events: Iterable[Envelope[EventData]]) -> ReadModels:
    """Every projection after the whole sequence of events (positions unknown)."""
    return fold_log((event, None) for event in events)


def fold_log(records: Iterable[Sourced]) -> ReadModels:
    """Every projection after the whole log, each event with where it was read."""
    models = ReadModels()
    for event, position in records:
        apply_event(models, event, position)
    return models
