"""Agent events (`cc.agent.*`), keyed by agent id (the envelope `subject`)."""

from __future__ import annotations

from dataclasses import dataclass

from schemas.events.bounds import CAPACITY, LANGUAGES, SKILLS, text
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

    name: str = constrained("", **text(200))
    skills: Proficiencies = constrained(factory=dict, **SKILLS)
    capacity: Capacity = constrained(factory=dict, **CAPACITY)
    languages: list[str] = constrained(factory=lambda: ["en"], **LANGUAGES)


@event_type("cc.agent.logged_out.v1")
@dataclass(frozen=True, slots=True, kw_only=True)
class LoggedOut:
    """The agent ended the session."""

    reason: str = constrained("", **text(200))


@event_type("cc.agent.status_changed.v1")
@dataclass(frozen=True, slots=True, kw_only=True)
class AgentStatusChanged:
    """Available, busy, away (with aux code) or in after-contact work."""

    status: AgentStatus
    aux_code: str = constrained("", **text(100))


@event_type("cc.agent.capacity_changed.v1")
@dataclass(frozen=True, slots=True, kw_only=True)
class CapacityChanged:
    """How many conversations the agent may hold at once, per channel."""

    capacity: Capacity = constrained(**CAPACITY)


@event_type("cc.agent.skills_changed.v1")
@dataclass(frozen=True, slots=True, kw_only=True)
class SkillsChanged:
    """The agent's skills and proficiencies (1-10) changed."""

    skills: Proficiencies = constrained(**SKILLS)


AGENT_EVENTS = catalog(LoggedIn, LoggedOut, AgentStatusChanged, CapacityChanged, SkillsChanged)
