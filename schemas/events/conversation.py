"""Conversation lifecycle events (`cc.conversation.*`), keyed by conversation id.

The conversation id is the envelope `subject`; payloads do not repeat it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from schemas.events.bounds import (
    CODE,
    ID,
    LANGUAGE_TAG,
    PRIORITY,
    QUEUE,
    SKILLS,
    integer,
    text,
)
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
    customer_id: str = constrained(**ID)
    queue: str = constrained(**QUEUE)
    priority: int = constrained(0, **PRIORITY)
    language: str = constrained("en", **LANGUAGE_TAG)
    required_skills: Skills = constrained(factory=dict, **SKILLS)
    started_by: StartedBy = "customer"


@event_type("cc.conversation.message_received.v1")
@dataclass(frozen=True, slots=True, kw_only=True)
class MessageReceived:
    """The customer sent a message."""

    message_id: str = constrained(**ID)
    text: str = constrained("", **text(20000))


@event_type("cc.conversation.message_sent.v1")
@dataclass(frozen=True, slots=True, kw_only=True)
class MessageSent:
    """An agent or a bot replied to the customer."""

    message_id: str = constrained(**ID)
    author_type: AuthorType = "agent"
    author_id: str = constrained(**ID)
    text: str = constrained("", **text(20000))


@event_type("cc.conversation.bot_handoff_requested.v1")
@dataclass(frozen=True, slots=True, kw_only=True)
class BotHandoffRequested:
    """The bot asked for a human, with why and how the customer feels."""

    reason: str = constrained(**text(500))
    sentiment: Sentiment = "neutral"


@event_type("cc.conversation.queued.v1")
@dataclass(frozen=True, slots=True, kw_only=True)
class Queued:
    """The conversation entered a queue to wait for an agent."""

    queue: str = constrained(**QUEUE)
    priority: int = constrained(0, **PRIORITY)
    required_skills: Skills = constrained(factory=dict, **SKILLS)


@event_type("cc.conversation.offered.v1")
@dataclass(frozen=True, slots=True, kw_only=True)
class Offered:
    """The router offered the conversation to an agent until expires_at."""

    agent_id: str = constrained(**ID)
    expires_at: datetime


@event_type("cc.conversation.offer_declined.v1")
@dataclass(frozen=True, slots=True, kw_only=True)
class OfferDeclined:
    """The agent declined the offer; the conversation goes back to the head of its queue."""

    agent_id: str = constrained(**ID)
    reason: str = constrained("", **text(500))


@event_type("cc.conversation.offer_accepted.v1")
@dataclass(frozen=True, slots=True, kw_only=True)
class OfferAccepted:
    """The agent took the offer; the router answers with `assigned` while the offer is open."""

    agent_id: str = constrained(**ID)


@event_type("cc.conversation.offer_expired.v1")
@dataclass(frozen=True, slots=True, kw_only=True)
class OfferExpired:
    """Nobody answered the offer in time; the conversation goes back to its queue."""

    agent_id: str = constrained(**ID)


@event_type("cc.conversation.assigned.v1")
@dataclass(frozen=True, slots=True, kw_only=True)
class Assigned:
    """An agent now holds the conversation."""

    agent_id: str = constrained(**ID)


@event_type("cc.conversation.transferred.v1")
@dataclass(frozen=True, slots=True, kw_only=True)
class Transferred:
    """The conversation moved from an agent or queue to another agent or queue."""

    from_agent_id: str | None = constrained(None, **ID)
    from_queue: str | None = constrained(None, **QUEUE)
    to_agent_id: str | None = constrained(None, **ID)
    to_queue: str | None = constrained(None, **QUEUE)
    reason: str = constrained("", **text(500))


@event_type("cc.conversation.escalated.v1")
@dataclass(frozen=True, slots=True, kw_only=True)
class Escalated:
    """The conversation went up a support tier."""

    tier: int = constrained(**integer(1, 5))
    reason: str = constrained("", **text(500))
    to_queue: str | None = constrained(None, **QUEUE)


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
    resolution_code: str = constrained("resolved", **CODE)


@event_type("cc.conversation.reopened.v1")
@dataclass(frozen=True, slots=True, kw_only=True)
class Reopened:
    """A resolved conversation is open again."""

    reason: str = constrained("", **text(500))


@event_type("cc.conversation.abandoned.v1")
@dataclass(frozen=True, slots=True, kw_only=True)
class Abandoned:
    """The customer left before an agent joined."""

    reason: str = constrained("customer_left", **text(200))


@event_type("cc.conversation.survey_sent.v1")
@dataclass(frozen=True, slots=True, kw_only=True)
class SurveySent:
    """A satisfaction survey went to the customer."""

    survey_id: str = constrained(**ID)


@event_type("cc.conversation.survey_answered.v1")
@dataclass(frozen=True, slots=True, kw_only=True)
class SurveyAnswered:
    """The customer answered: CSAT 1-5, NPS 0-10, CES 1-7, comment."""

    survey_id: str = constrained(**ID)
    csat: int | None = constrained(None, **integer(1, 5))
    nps: int | None = constrained(None, **integer(0, 10))
    ces: int | None = constrained(None, **integer(1, 7))
    comment: str = constrained("", **text(5000))


CONVERSATION_EVENTS = catalog(
    ConversationStarted, MessageReceived, MessageSent, BotHandoffRequested, Queued,
    Offered, OfferAccepted, OfferDeclined, OfferExpired, Assigned, Transferred, Escalated,
    ConversationStatusChanged, Resolved, Reopened, Abandoned, SurveySent, SurveyAnswered,
)
