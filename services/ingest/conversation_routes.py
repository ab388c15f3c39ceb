"""Typed conversation endpoints for channel adapters and agent desktops (thin shells)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from services.ingest import conversation_mapping as mapping
from services.ingest.auth import require_scope
from services.ingest.command_shell import (
    CommandAccepted,
    ConversationStartedBody,
    accepted,
    produce,
    stamp_now,
)
from services.ingest.contract import id_path
from services.ingest.conversation_bodies import (
    Abandon,
    AnswerOffer,
    AnswerSurvey,
    Escalate,
    Handoff,
    PostMessage,
    Resolve,
    SetConversationStatus,
    StartConversation,
    Transfer,
)
from services.ingest.errors import ERROR_RESPONSES

router = APIRouter(prefix="/v1/conversations", tags=["conversations"],
                   dependencies=[Depends(require_scope("conversations:write"))],
                   responses=ERROR_RESPONSES)

ConversationId = Annotated[str, id_path()]


@router.post("", status_code=201, response_model=ConversationStartedBody)
async def start_conversation(body: StartConversation, request: Request) -> ConversationStartedBody:
    """Start a conversation; a customer-started one is queued at once."""
    events = mapping.start(body, stamp_now())
    published = await produce(request, events)
    return ConversationStartedBody(conversation_id=events[0].subject, event_id=events[0].id,
                                   **accepted(published).model_dump())


@router.post("/{conversation_id}/messages", status_code=202, response_model=CommandAccepted)
async def post_message(conversation_id: ConversationId, body: PostMessage,
                       request: Request) -> CommandAccepted:
    """A message from the customer (received) or from an agent or the bot (sent)."""
    return accepted(await produce(request, mapping.message(conversation_id, body, stamp_now())))


@router.post("/{conversation_id}/handoff", status_code=202, response_model=CommandAccepted)
async def handoff(conversation_id: ConversationId, body: Handoff,
                  request: Request) -> CommandAccepted:
    """The bot hands the conversation to a human queue."""
    return accepted(await produce(request, mapping.handoff(conversation_id, body, stamp_now())))


@router.post("/{conversation_id}/resolve", status_code=202, response_model=CommandAccepted)
async def resolve(conversation_id: ConversationId, body: Resolve,
                  request: Request) -> CommandAccepted:
    """Resolve the conversation."""
    return accepted(await produce(request, mapping.resolve(conversation_id, body, stamp_now())))


@router.post("/{conversation_id}/abandon", status_code=202, response_model=CommandAccepted)
async def abandon(conversation_id: ConversationId, body: Abandon,
                  request: Request) -> CommandAccepted:
    """The customer left before an agent joined."""
    return accepted(await produce(request, mapping.abandon(conversation_id, body, stamp_now())))


@router.post("/{conversation_id}/status", status_code=202, response_model=CommandAccepted)
async def set_status(conversation_id: ConversationId, body: SetConversationStatus,
                     request: Request) -> CommandAccepted:
    """Open, pending on the customer (SLA clocks pause) or on hold."""
    return accepted(await produce(request, mapping.set_status(conversation_id, body, stamp_now())))


@router.post("/{conversation_id}/transfer", status_code=202, response_model=CommandAccepted)
async def transfer(conversation_id: ConversationId, body: Transfer,
                   request: Request) -> CommandAccepted:
    """Move the conversation to another agent or queue."""
    return accepted(await produce(request, mapping.transfer(conversation_id, body, stamp_now())))


@router.post("/{conversation_id}/offer/accept", status_code=202, response_model=CommandAccepted)
async def accept_offer(conversation_id: ConversationId, body: AnswerOffer,
                       request: Request) -> CommandAccepted:
    """The agent accepts the router's offer; the router answers with `assigned` if the offer
    is still open (an answer after expiry is dead-lettered as `no_such_offer`)."""
    return accepted(await produce(request, mapping.accept_offer(conversation_id, body, stamp_now())))


@router.post("/{conversation_id}/offer/decline", status_code=202, response_model=CommandAccepted)
async def decline_offer(conversation_id: ConversationId, body: AnswerOffer,
                        request: Request) -> CommandAccepted:
    """The agent declines the offer; the conversation returns to the head of its queue."""
    return accepted(await produce(request, mapping.decline_offer(conversation_id, body, stamp_now())))


@router.post("/{conversation_id}/escalate", status_code=202, response_model=CommandAccepted)
async def escalate(conversation_id: ConversationId, body: Escalate,
                   request: Request) -> CommandAccepted:
    """Escalate to a higher tier."""
    return accepted(await produce(request, mapping.escalate(conversation_id, body, stamp_now())))


@router.post("/{conversation_id}/survey", status_code=202, response_model=CommandAccepted)
async def answer_survey(conversation_id: ConversationId, body: AnswerSurvey,
                        request: Request) -> CommandAccepted:
    """The customer's survey answer."""
    events = mapping.answer_survey(conversation_id, body, stamp_now())
    return accepted(await produce(request, events))
