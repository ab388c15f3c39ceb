"""Events for the router's unit tests: agents coming available, conversations queueing,
agents answering offers, all at whole seconds after `T0`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from schemas.envelope import Envelope, new_event
from schemas.events import EventData
from schemas.events.agent import AgentStatusChanged, LoggedIn
from schemas.events.conversation import ConversationStarted, Queued
from schemas.events.vocabulary import AgentStatus, Channel, mode_of
from services.router.config import RoutingConfig, parse_config
from services.router.model import RoutingModel

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
ROUTER = "switchboard/router/test/x"
Event = Envelope[EventData]


def at(seconds: float) -> datetime:
    """The moment `seconds` after T0."""
    return T0 + timedelta(seconds=seconds)


def ev(data: Any, subject: str, second: float = 0, *, source: str = "test",
       id: str | None = None) -> Event:
    """One event about `subject` at `second`."""
    event: Event = new_event(data, subject=subject, source=source, time=at(second), id=id)
    return event


def agent_events(agent_id: str, *, skills: dict[str, int] | None = None,
                 capacity: dict[str, int] | None = None, languages: tuple[str, ...] = ("en",),
                 status: AgentStatus = "available", second: float = 0) -> list[Event]:
    """An agent logging in and changing to `status`."""
    login = LoggedIn(name=agent_id, skills=skills or {}, capacity=capacity or {},
                     languages=list(languages))
    return [ev(login, agent_id, second),
            ev(AgentStatusChanged(status=status), agent_id, second)]


def arrival_events(conversation_id: str, *, channel: Channel = "chat", queue: str = "billing",
                   skills: dict[str, int] | None = None, priority: int = 0,
                   language: str = "en", customer: str | None = None,
                   second: float = 0) -> list[Event]:
    """A customer starting a conversation that queues straight away."""
    started = ConversationStarted(channel=channel, mode=mode_of(channel),
                                  customer_id=customer or f"cust-{conversation_id}", queue=queue,
                                  required_skills=skills or {}, language=language)
    queued = Queued(queue=queue, priority=priority, required_skills=skills or {})
    return [ev(started, conversation_id, second), ev(queued, conversation_id, second)]


def model_of(events: list[Event], config: RoutingConfig | str = "") -> RoutingModel:
    """A model (of `config`, a RoutingConfig or TOML text) with `events` applied, each
    accepted by the lifecycle."""
    model = RoutingModel(parse_config(config) if isinstance(config, str) else config)
    for event in events:
        assert model.apply(event) is None, event
    return model
