"""A pure checker of lifecycle consistency over an event stream.

Used by the tests on the simulator's output, and usable on any log: it returns
human-readable violations instead of raising, so one run reports them all.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from schemas.envelope import Envelope
from schemas.events import EventData
from schemas.events import agent as ag
from schemas.events import conversation as cv
from schemas.topics import Family, family_of

OPEN_PHASES = frozenset({"bot", "waiting", "offered", "assigned", "requeue"})


@dataclass(slots=True)
class _Conv:
    channel: str
    started_by: str
    phase: str
    agent: str | None = None
    surveys: set[str] = field(default_factory=set)


@dataclass(slots=True)
class _Agent:
    capacity: dict[str, int]
    held: dict[str, int] = field(default_factory=dict)


class LifecycleChecker:
    """Folds events and collects every broken lifecycle rule."""

    def __init__(self) -> None:
        self.violations: list[str] = []
        self.convs: dict[str, _Conv] = {}
        self.agents: dict[str, _Agent] = {}
        self._last_time: datetime | None = None

    def fail(self, event: Envelope[EventData], why: str) -> None:
        """Record one violation."""
        self.violations.append(f"{event.time.isoformat()} {event.type} {event.subject}: {why}")

    def check(self, event: Envelope[EventData]) -> None:
        """Apply one event, noting what it breaks."""
        if self._last_time is not None and event.time < self._last_time:
            self.fail(event, "time goes backwards")
        self._last_time = event.time
        if family_of(event.type) is Family.AGENT:
            self._agent_event(event)
        else:
            self._conversation_event(event)

    def _agent_event(self, event: Envelope[EventData]) -> None:
        data, agent = event.data, self.agents.get(event.subject)
        if isinstance(data, ag.LoggedIn):
            if agent is not None:
                self.fail(event, "already logged in")
            self.agents[event.subject] = _Agent(capacity=dict(data.capacity))
        elif agent is None:
            self.fail(event, "agent not logged in")
        elif isinstance(data, ag.LoggedOut):
            if sum(agent.held.values()):
                self.fail(event, f"logged out while holding {agent.held}")
            del self.agents[event.subject]
        elif isinstance(data, ag.CapacityChanged):
            for channel, held in agent.held.items():
                if held > data.capacity.get(channel, 0):
                    self.fail(event, f"capacity {data.capacity} below load {agent.held}")
            agent.capacity = dict(data.capacity)

    def _conversation_event(self, event: Envelope[EventData]) -> None:
        data, conv = event.data, self.convs.get(event.subject)
        if isinstance(data, cv.ConversationStarted):
            if conv is not None:
                self.fail(event, "started twice")
            self.convs[event.subject] = _Conv(
                channel=data.channel, started_by=data.started_by,
                phase="bot" if data.started_by == "bot" else "new")
            return
        if conv is None:
            self.fail(event, "event before started")
            return
        self._transition(event, conv, data)

    def _expect(self, event: Envelope[EventData], conv: _Conv, *phases: str) -> bool:
        if conv.phase in phases:
            return True
        self.fail(event, f"in phase {conv.phase}, expected one of {phases}")
        return False

    def _transition(self, event: Envelope[EventData], conv: _Conv, data: EventData) -> None:
        match data:
            case cv.MessageReceived():
                self._expect(event, conv, "new", "reopened", *OPEN_PHASES)
            case cv.MessageSent(author_type="bot"):
                self._expect(event, conv, "bot")
            case cv.MessageSent(author_id=author):
                if self._expect(event, conv, "assigned") and author != conv.agent:
                    self.fail(event, f"author {author} does not hold it ({conv.agent})")
            case cv.BotHandoffRequested():
                if self._expect(event, conv, "bot"):
                    conv.phase = "requeue"
            case cv.Queued():
                if self._expect(event, conv, "new", "requeue", "reopened"):
                    conv.phase = "waiting"
            case cv.Offered(agent_id=agent):
                if self._expect(event, conv, "waiting"):
                    conv.phase, conv.agent = "offered", agent
            case cv.OfferDeclined(agent_id=agent) | cv.OfferExpired(agent_id=agent):
                if self._expect(event, conv, "offered") and agent == conv.agent:
                    conv.phase, conv.agent = "waiting", None
            case cv.Assigned(agent_id=agent):
                if self._expect(event, conv, "waiting", "offered"):
                    self._hold(event, conv, agent)
            case cv.Transferred() | cv.Escalated():
                if self._expect(event, conv, "assigned"):
                    self._release(conv)
                    conv.phase = "requeue"
            case cv.ConversationStatusChanged():
                self._expect(event, conv, "assigned")
            case cv.Resolved(resolved_by=by):
                if self._expect(event, conv, "bot" if by == "bot" else "assigned"):
                    self._release(conv)
                    conv.phase = "resolved"
            case cv.Reopened():
                if self._expect(event, conv, "resolved"):
                    conv.phase = "reopened"
            case cv.Abandoned():
                if self._expect(event, conv, "waiting", "offered"):
                    conv.phase, conv.agent = "abandoned", None
            case cv.SurveySent(survey_id=sid):
                if self._expect(event, conv, "resolved"):
                    conv.surveys.add(sid)
            case cv.SurveyAnswered(survey_id=sid):
                if sid not in conv.surveys:
                    self.fail(event, f"answer to unsent survey {sid}")

    def _hold(self, event: Envelope[EventData], conv: _Conv, agent_id: str) -> None:
        agent = self.agents.get(agent_id)
        if agent is None:
            self.fail(event, f"assigned to {agent_id}, who is not logged in")
            return
        agent.held[conv.channel] = agent.held.get(conv.channel, 0) + 1
        if agent.held[conv.channel] > agent.capacity.get(conv.channel, 0):
            self.fail(event, f"{agent_id} over capacity: {agent.held} > {agent.capacity}")
        calls, chats = agent.held.get("voice", 0), agent.held.get("chat", 0)
        if calls and chats:
            self.fail(event, f"{agent_id} holds a call and chats at once")
        conv.phase, conv.agent = "assigned", agent_id

    def _release(self, conv: _Conv) -> None:
        if conv.agent is not None and conv.agent in self.agents:
            self.agents[conv.agent].held[conv.channel] -= 1
        conv.agent = None


def lifecycle_violations(events: Iterable[Envelope[EventData]]) -> list[str]:
    """Every lifecycle rule the events break, in order; empty when consistent."""
    checker = LifecycleChecker()
    for event in events:
        checker.check(event)
    return checker.violations
