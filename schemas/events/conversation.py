"""Conversation lifecycle events (`cc.conversation.*`), keyed by conversation id.

The conversation id is the envelope `subject`; payloads do not repeat it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from schemas.events.registry import catalog, constrained, event_type
from schemas.events.vocabulary import (
    AuthorType,
    Channel,
    ConversationStatus,
    Mode,
    ResolvedBy,
    Sentiment,
    StartedBy,
)

Skills = dict[str, int]
"""Skill name -> minimum proficiency (1..10)."""


@event_type("cc.conversation.started.v1")
@dataclass(frozen=True, slots=True, kw_only=True)
class ConversationStarted:
    """A customer (or a bot on their behalf) opened a conversation on a channel."""

    channel: Channel
    mode: Mode
    customer_id: str = constrained(minLength=1, maxLength=200)
    queue: str = constrained(minLength=1, maxLength=100)
    priority: int = constrained(0, minimum=0, maximum=10)
    language: str = constrained("en", minLength=2, maxLength=16)
    required_skills: Skills = field(default_factory=dict)
    started_by: StartedBy = "customer"


@event_type("cc.conversation.message_received.v1")
@dataclass(frozen=True, slots=True, kw_only=True)
class MessageReceived:
    """The customer sent a message."""

    message_id: str = constrained(minLength=1, maxLength=200)
    text: str = constrained("", maxLength=20000)


@event_type("cc.conversation.message_sent.v1")
@dataclass(frozen=True, slots=True, kw_only=True)
class MessageSent:
    """An agent or a bot replied to the customer."""

    message_id: str = constrained(minLength=1, maxLength=200)
    author_type: AuthorType = "agent"
    author_id: str = constrained(minLength=1, maxLength=200)
    text: str = constrained("", maxLength=20000)


@event_type("cc.conversation.bot_handoff_requested.v1")
@dataclass(frozen=True, slots=True, kw_only=True)
class BotHandoffRequested:
    """The bot asked for a human, with why and how the customer feels."""

    reason: str = constrained(maxLength=500)
    sentiment: Sentiment = "neutral"


@event_type("cc.conversation.queued.v1")
@dataclass(frozen=True, slots=True, kw_only=True)
class Queued:
    """The conversation entered a queue to wait for an agent."""

    queue: str = constrained(minLength=1, maxLength=100)
    priority: int = constrained(0, minimum=0, maximum=10)
    required_skills: Skills = field(default_factory=dict)


@event_type("cc.conversation.offered.v1")
@dataclass(frozen=True, slots=True, kw_only=True)
class Offered:
    """The router offered the conversation to an agent until expires_at."""

    agent_id: str = constrained(minLength=1, maxLength=200)
    expires_at: datetime


@event_type("cc.conversation.offer_declined.v1")
@dataclass(frozen=True, slots=True, kw_only=True)
class OfferDeclined:
    """The agent declined the offer; the conversation goes back to the head of its queue."""

    agent_id: str = constrained(minLength=1, maxLength=200)
    reason: str = constrained("", maxLength=500)


@event_type("cc.conversation.offer_accepted.v1")
@dataclass(frozen=True, slots=True, kw_only=True)
class OfferAccepted:
    """The agent took the offer; the router answers with `assigned` while the offer is open."""

    agent_id: str = constrained(minLength=1, maxLength=200)


@event_type("cc.conversation.offer_expired.v1")
@dataclass(frozen=True, slots=True, kw_only=True)
class OfferExpired:
    """Nobody answered the offer in time; the conversation goes back to its queue."""

    agent_id: str = constrained(minLength=1, maxLength=200)


@event_type("cc.conversation.assigned.v1")
@dataclass(frozen=True, slots=True, kw_only=True)
class Assigned:
    """An agent now holds the conversation."""

    agent_id: str = constrained(minLength=1, maxLength=200)


@event_type("cc.conversation.transferred.v1")
@dataclass(frozen=True, slots=True, kw_only=True)
class Transferred:
    """The conversation moved from an agent or queue to another agent or queue."""

    from_agent_id: str | None = None
    from_queue: str | None = None
    to_agent_id: str | None = None
    to_queue: str | None = None
    reason: str = constrained("", maxLength=500)


@event_type("cc.conversation.escalated.v1")
@dataclass(frozen=True, slots=True, kw_only=True)
class Escalated:
    """The conversation went up a support tier."""

    tier: int = constrained(minimum=1, maximum=5)
    reason: str = constrained("", maxLength=500)
    to_queue: str | None = None


@event_type("cc.conversation.status_changed.v1")
@dataclass(frozen=True, slots=True, kw_only=True)
class ConversationStatusChanged:
    """Open, waiting on the customer (SLA clocks pause) or on hold."""

    status: ConversationStatus


@event_type("cc.conversation.resolved.v1")
@dataclass(frozen=True, slots=True, kw_only=True)
class Resolved:
    """The conversation is resolved, by an agent, the bot or the customer."""

    resolved_by: ResolvedBy
    resolution_code: str = constrained("resolved", minLength=1, maxLength=100)


@event_type("cc.conversation.reopened.v1")
@dataclass(frozen=True, slots=True, kw_only=True)
class Reopened:
    """A resolved conversation is open again."""

    reason: str = constrained("", maxLength=500)


@event_type("cc.conversation.abandoned.v1")
@dataclass(frozen=True, slots=True, kw_only=True)
class Abandoned:
    """The customer left before an agent joined."""

    reason: str = constrained("customer_left", maxLength=200)


@event_type("cc.conversation.survey_sent.v1")
@dataclass(frozen=True, slots=True, kw_only=True)
class SurveySent:
    """A satisfaction survey went to the customer."""

    survey_id: str = constrained(minLength=1, maxLength=200)


@event_type("cc.conversation.survey_answered.v1")
@dataclass(frozen=True, slots=True, kw_only=True)
class SurveyAnswered:
    """The customer answered: CSAT 1-5, NPS 0-10, CES 1-7, comment."""

    survey_id: str = constrained(minLength=1, maxLength=200)
    csat: int | None = constrained(None, minimum=1, maximum=5)
    nps: int | None = constrained(None, minimum=0, maximum=10)
    ces: int | None = constrained(None, minimum=1, maximum=7)
    comment: str = constrained("", maxLength=5000)


CONVERSATION_EVENTS = catalog(
    ConversationStarted, MessageReceived, MessageSent, BotHandoffRequested, Queued,
    Offered, OfferAccepted, OfferDeclined, OfferExpired, Assigned, Transferred, Escalated,
    ConversationStatusChanged, Resolved, Reopened, Abandoned, SurveySent, SurveyAnswered,
)
