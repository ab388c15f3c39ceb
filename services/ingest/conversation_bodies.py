"""Request bodies of the conversation endpoints, 1:1 with `schemas/events/conversation.py`."""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from schemas.events.vocabulary import (
    AuthorType,
    Channel,
    ConversationStatus,
    ResolvedBy,
    Sentiment,
    StartedBy,
)

Skills = dict[str, int]


class Body(BaseModel):
    """Every command may say when it happened (RFC 3339 with offset); default: now."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    time: AwareDatetime | None = None


class StartConversation(Body):
    channel: Channel
    customer_id: str = Field(min_length=1, max_length=200)
    queue: str = Field(min_length=1, max_length=100)
    priority: int = Field(default=0, ge=0, le=10)
    language: str = Field(default="en", min_length=2, max_length=16)
    required_skills: Skills = Field(default_factory=dict)
    started_by: StartedBy = "customer"
    conversation_id: str | None = Field(default=None, min_length=1, max_length=200)


class PostMessage(Body):
    """`from` customer is a received message; from agent or bot a sent one (needs author_id)."""

    sender: Literal["customer"] | AuthorType = Field(alias="from")
    author_id: str | None = Field(default=None, min_length=1, max_length=200)
    message_id: str | None = Field(default=None, min_length=1, max_length=200)
    text: str = Field(default="", max_length=20000)

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @model_validator(mode="after")
    def _author_for_replies(self) -> PostMessage:
        if self.sender != "customer" and not self.author_id:
            raise ValueError("author_id is required when the message is from an agent or a bot")
        return self


class Handoff(Body):
    """The bot hands over to a human: the conversation is then queued."""

    reason: str = Field(max_length=500)
    sentiment: Sentiment = "neutral"
    queue: str = Field(min_length=1, max_length=100)
    priority: int = Field(default=0, ge=0, le=10)
    required_skills: Skills = Field(default_factory=dict)


class Resolve(Body):
    resolved_by: ResolvedBy
    resolution_code: str = Field(default="resolved", min_length=1, max_length=100)


class Abandon(Body):
    reason: str = Field(default="customer_left", max_length=200)


class SetConversationStatus(Body):
    status: ConversationStatus


class Transfer(Body):
    from_agent_id: str | None = None
    from_queue: str | None = None
    to_agent_id: str | None = None
    to_queue: str | None = None
    reason: str = Field(default="", max_length=500)

    @model_validator(mode="after")
    def _has_target(self) -> Transfer:
        if not (self.to_agent_id or self.to_queue):
            raise ValueError("a transfer needs to_agent_id or to_queue")
        return self


class AnswerOffer(Body):
    """The agent's answer to an offer the router made."""

    agent_id: str = Field(min_length=1, max_length=200)
    reason: str = Field(default="", max_length=500)


class Escalate(Body):
    tier: int = Field(ge=1, le=5)
    reason: str = Field(default="", max_length=500)
    to_queue: str | None = None


class AnswerSurvey(Body):
    survey_id: str = Field(min_length=1, max_length=200)
    csat: int | None = Field(default=None, ge=1, le=5)
    nps: int | None = Field(default=None, ge=0, le=10)
    ces: int | None = Field(default=None, ge=1, le=7)
    comment: str = Field(default="", max_length=5000)
