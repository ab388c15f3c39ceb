"""Agent desktop commands: request bodies 1:1 with `schemas/events/agent.py`, and their pure
mapping to events (no I/O; time and ids come in a Stamp)."""

from __future__ import annotations

from schemas.envelope import Envelope
from schemas.events import EventData
from schemas.events.agent import (
    AgentStatusChanged,
    CapacityChanged,
    LoggedIn,
    LoggedOut,
    SkillsChanged,
)
from schemas.events.vocabulary import AgentStatus
from services.ingest.contract import CommandBody, contract
from services.ingest.stamp import Stamp

Events = list[Envelope[EventData]]


class Login(CommandBody):
    name: str = contract(LoggedIn, "name")
    skills: dict[str, int] = contract(LoggedIn, "skills")
    capacity: dict[str, int] = contract(LoggedIn, "capacity")
    languages: list[str] = contract(LoggedIn, "languages")


class Logout(CommandBody):
    reason: str = contract(LoggedOut, "reason")


class SetAgentStatus(CommandBody):
    status: AgentStatus = contract(AgentStatusChanged, "status")
    aux_code: str = contract(AgentStatusChanged, "aux_code")


class SetCapacity(CommandBody):
    capacity: dict[str, int] = contract(CapacityChanged, "capacity")


class SetSkills(CommandBody):
    skills: dict[str, int] = contract(SkillsChanged, "skills")


def login(agent_id: str, body: Login, stamp: Stamp) -> Events:
    """The agent starts a session."""
    data = LoggedIn(name=body.name, skills=dict(body.skills), capacity=dict(body.capacity),
                    languages=list(body.languages))
    return [stamp.event(data, agent_id, body.time)]


def logout(agent_id: str, body: Logout, stamp: Stamp) -> Events:
    """The agent ends the session."""
    return [stamp.event(LoggedOut(reason=body.reason), agent_id, body.time)]


def set_status(agent_id: str, body: SetAgentStatus, stamp: Stamp) -> Events:
    """Available, busy, away (aux code) or after-contact work."""
    data = AgentStatusChanged(status=body.status, aux_code=body.aux_code)
    return [stamp.event(data, agent_id, body.time)]


def set_capacity(agent_id: str, body: SetCapacity, stamp: Stamp) -> Events:
    """Concurrent conversations per channel."""
    return [stamp.event(CapacityChanged(capacity=dict(body.capacity)), agent_id, body.time)]


def set_skills(agent_id: str, body: SetSkills, stamp: Stamp) -> Events:
    """Skills and proficiencies."""
    return [stamp.event(SkillsChanged(skills=dict(body.skills)), agent_id, body.time)]
