"""Fold a whole log offline: the same reducers as the live and durable projections.

Used by tests (live fold == rebuild), what-if analysis and the projector's batches.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from projections.agents import reducer as agents
from projections.agents.state import AgentState
from projections.changes import ConversationChange, change_between
from projections.conversations import reducer as conversations
from projections.conversations.state import ConversationState
from projections.errors import LifecycleError
from projections.queues import reducer as queues
from projections.queues.reducer import QueueState
from schemas.envelope import Envelope
from schemas.events import EventData


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


def apply_conversation_event(models: ReadModels, event: Envelope[EventData]) -> ConversationChange | None:
    """Fold one conversation event, and its change into the queues and agents it touches."""
    before = models.conversations.get(event.subject)
    after = conversations.apply(before, event)
    models.conversations[event.subject] = after
    change = change_between(before, after, event.id, event.time) if after is not before else None
    if change is not None:
        apply_change(models, change)
    return change


def apply_change(models: ReadModels, change: ConversationChange) -> None:
    """Feed a conversation change to every queue and agent it touches."""
    for queue in change.queues():
        models.queues[queue] = queues.apply_change(models.queues.get(queue), queue, change)
    for agent in change.agents():
        models.agents[agent] = agents.apply_change(models.agents.get(agent), agent, change)


def apply_agent_event(models: ReadModels, event: Envelope[EventData]) -> None:
    """Fold one agent event."""
    models.agents[event.subject] = agents.apply(models.agents.get(event.subject), event)


def apply_event(models: ReadModels, event: Envelope[EventData]) -> None:
    """Fold any event; lifecycle violations are recorded as rejected, not raised."""
    try:
        if event.type.startswith("cc.agent."):
            apply_agent_event(models, event)
        else:
            apply_conversation_event(models, event)
    except LifecycleError as exc:
        models.rejected.append(Rejected(event.id, event.subject, exc.reason, exc.detail))


def fold(events: Iterable[Envelope[EventData]]) -> ReadModels:
    """Every projection after the whole sequence of events."""
    models = ReadModels()
    for event in events:
        apply_event(models, event)
    return models
