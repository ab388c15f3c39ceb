"""Request bodies of the conversation endpoints, 1:1 with `schemas/events/conversation.py`."""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field, model_validator

from schemas.events.bounds import ID
from schemas.events.conversation import (
    Abandoned,
    BotHandoffRequested,
    ConversationStarted,
    ConversationStatusChanged,
    Escalated,
    MessageSent,
    OfferDeclined,
    Queued,
    Resolved,
    SurveyAnswered,
    Transferred,
)
from schemas.events.vocabulary import (
    AuthorType,
    Channel,
    ConversationStatus,
    ResolvedBy,
    Sentiment,
    StartedBy,
)
from services.ingest.contract import CommandBody, bounded, contract, field_schema

Skills = dict[str, int]


class StartConversation(CommandBody):
    channel: Channel = contract(ConversationStarted, "channel")
    customer_id: str = contract(ConversationStarted, "customer_id")
    queue: str = contract(ConversationStarted, "queue")
    priority: int = contract(ConversationStarted, "priority")
    language: str = contract(ConversationStarted, "language")
    required_skills: Skills = contract(ConversationStarted, "required_skills")
    started_by: StartedBy = contract(ConversationStarted, "started_by")
    conversation_id: str | None = bounded(ID, default=None, description=(
        "Name the conversation to make the call safe to retry; default: a new UUID"))


class PostMessage(CommandBody):
    """`from` customer is a received message; from agent or bot a sent one (needs author_id)."""

    sender: Literal["customer"] | AuthorType = Field(alias="from")
    author_id: str | None = bounded(field_schema(MessageSent, "author_id"), default=None)
    message_id: str | None = bounded(field_schema(MessageSent, "message_id"), default=None,
                                     description="default: a new UUID")
    text: str = contract(MessageSent, "text")

    # what `_author_for_replies` checks, in the document: a reply names its author
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, json_schema_extra={
        "anyOf": [{"properties": {"from": {"const": "customer"}}},
                  {"required": ["author_id"], "properties": {"author_id": {"type": "string"}}}]})

    @model_validator(mode="after")
    def _author_for_replies(self) -> PostMessage:
        if self.sender != "customer" and not self.author_id:
            raise ValueError("author_id is required when the message is from an agent or a bot")
        return self


class Handoff(CommandBody):
    """The bot hands over to a human: the conversation is then queued."""

    reason: str = contract(BotHandoffRequested, "reason")
    sentiment: Sentiment = contract(BotHandoffRequested, "sentiment")
    queue: str = contract(Queued, "queue")
    priority: int = contract(Queued, "priority")
    required_skills: Skills = contract(Queued, "required_skills")


class Resolve(CommandBody):
    resolved_by: ResolvedBy = contract(Resolved, "resolved_by")
    resolution_code: str = contract(Resolved, "resolution_code")


class Abandon(CommandBody):
    reason: str = contract(Abandoned, "reason")


class SetConversationStatus(CommandBody):
    status: ConversationStatus = contract(ConversationStatusChanged, "status")


class Transfer(CommandBody):
    from_agent_id: str | None = contract(Transferred, "from_agent_id")
    from_queue: str | None = contract(Transferred, "from_queue")
    to_agent_id: str | None = contract(Transferred, "to_agent_id")
    to_queue: str | None = contract(Transferred, "to_queue")
    reason: str = contract(Transferred, "reason")

    # what `_has_target` checks, in the document: a transfer names where it goes
    model_config = ConfigDict(json_schema_extra={"anyOf": [
        {"required": [name], "properties": {name: {"type": "string"}}}
        for name in ("to_agent_id", "to_queue")]})

    @model_validator(mode="after")
    def _has_target(self) -> Transfer:
        if not (self.to_agent_id or self.to_queue):
            raise ValueError("a transfer needs to_agent_id or to_queue")
        return self


class AnswerOffer(CommandBody):
    """The agent's answer to an offer the router made."""

    agent_id: str = contract(OfferDeclined, "agent_id")
    reason: str = contract(OfferDeclined, "reason")


class Escalate(CommandBody):
    tier: int = contract(Escalated, "tier")
    reason: str = contract(Escalated, "reason")
    to_queue: str | None = contract(Escalated, "to_queue")


class AnswerSurvey(CommandBody):
    survey_id: str = contract(SurveyAnswered, "survey_id")
    csat: int | None = contract(SurveyAnswered, "csat")
    nps: int | None = contract(SurveyAnswered, "nps")
    ces: int | None = contract(SurveyAnswered, "ces")
    comment: str = contract(SurveyAnswered, "comment")
