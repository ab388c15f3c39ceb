"""Typed agent endpoints for agent desktops (thin shells)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from services.ingest import agent_commands as commands
from services.ingest.agent_commands import Login, Logout, SetAgentStatus, SetCapacity, SetSkills
from services.ingest.auth import require_scope
from services.ingest.command_shell import CommandAccepted, accepted, produce, stamp_now
from services.ingest.contract import id_path
from services.ingest.errors import ERROR_RESPONSES

router = APIRouter(prefix="/v1/agents", tags=["agents"],
                   dependencies=[Depends(require_scope("agents:write"))],
                   responses=ERROR_RESPONSES)

AgentId = Annotated[str, id_path()]


@router.post("/{agent_id}/login", status_code=202, response_model=CommandAccepted)
async def login(agent_id: AgentId, body: Login, request: Request) -> CommandAccepted:
    """The agent logs in with skills, capacity per channel and languages."""
    return accepted(await produce(request, commands.login(agent_id, body, stamp_now())))


@router.post("/{agent_id}/logout", status_code=202, response_model=CommandAccepted)
async def logout(agent_id: AgentId, request: Request,
                 body: Logout | None = None) -> CommandAccepted:
    """The agent logs out (the body is optional)."""
    events = commands.logout(agent_id, body or Logout(), stamp_now())
    return accepted(await produce(request, events))


@router.post("/{agent_id}/status", status_code=202, response_model=CommandAccepted)
async def set_status(agent_id: AgentId, body: SetAgentStatus, request: Request) -> CommandAccepted:
    """Available, busy, away (aux code) or after-contact work."""
    return accepted(await produce(request, commands.set_status(agent_id, body, stamp_now())))


@router.put("/{agent_id}/capacity", status_code=202, response_model=CommandAccepted)
async def set_capacity(agent_id: AgentId, body: SetCapacity, request: Request) -> CommandAccepted:
    """Concurrent conversations per channel."""
    return accepted(await produce(request, commands.set_capacity(agent_id, body, stamp_now())))


@router.put("/{agent_id}/skills", status_code=202, response_model=CommandAccepted)
async def set_skills(agent_id: AgentId, body: SetSkills, request: Request) -> CommandAccepted:
    """Skills and proficiencies."""
    return accepted(await produce(request, commands.set_skills(agent_id, body, stamp_now())))
