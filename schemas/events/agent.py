"""Agent events (`cc.agent.*`), keyed by agent id (the envelope `subject`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from schemas.events.registry import catalog, constrained, event_type
from schemas.events.vocabulary import AgentStatus

Capacity = dict[str, int]
"""Channel -> concurrent conversations (voice 1, chat 3, messaging 8, email 5)."""

Proficiencies = dict[str, int]
"""Skill -> proficiency 1..10."""


@event_type("cc.agent.logged_in.v1")
@dataclass(frozen=True, slots=True, kw_only=True)
class LoggedIn:
    """The agent started a session with skills, capacity per channel and languages."""

    name: str = constrained("", maxLength=200)
    skills: Proficiencies = field(default_factory=dict)
    capacity: Capacity = field(default_factory=dict)
    languages: list[str] = field(default_factory=lambda: ["en"])


@event_type("cc.agent.logged_out.v1")
@dataclass(frozen=True, slots=True, kw_only=True)
class LoggedOut:
    """The agent ended the session."""

    reason: str = constrained("", maxLength=200)


@event_type("cc.agent.status_changed.v1")
@dataclass(frozen=True, slots=True, kw_only=True)
class AgentStatusChanged:
    """Available, busy, away (with aux code) or in after-contact work."""

    status: AgentStatus
    aux_code: str = constrained("", maxLength=100)


@event_type("cc.agent.capacity_changed.v1")
@dataclass(frozen=True, slots=True, kw_only=True)
class CapacityChanged:
    """How many conversations the agent may hold at once, per channel."""

    capacity: Capacity


@event_type("cc.agent.skills_changed.v1")
@dataclass(frozen=True, slots=True, kw_only=True)
class SkillsChanged:
    """The agent's skills and proficiencies (1-10) changed."""

    skills: Proficiencies


AGENT_EVENTS = catalog(LoggedIn, LoggedOut, AgentStatusChanged, CapacityChanged, SkillsChanged)
