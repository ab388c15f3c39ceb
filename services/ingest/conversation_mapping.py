"""Pure mapping of conversation commands to events (no I/O; time and ids come in a Stamp)."""

from __future__ import annotations

import uuid

from schemas.envelope import Envelope
from schemas.events import EventData
from schemas.events.conversation import (
    Abandoned,
    BotHandoffRequested,
    ConversationStarted,
    ConversationStatusChanged,
    Escalated,
    MessageReceived,
    MessageSent,
    OfferAccepted,
    OfferDeclined,
    Queued,
    Resolved,
    SurveyAnswered,
    Transferred,
)
from schemas.events.vocabulary import mode_of
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
from services.ingest.stamp import Stamp

Events = list[Envelope[EventData]]


def start(body: StartConversation, stamp: Stamp) -> Events:
    """`started`, plus `queued` when a customer started it (bot-started ones queue at handoff)."""
    conversation_id = body.conversation_id or stamp.new_id()
    # A client that names the conversation may retry the call: derive the event ids
    # from the conversation id so a retry is a duplicate, not a second `started`.
    ids = _retry_safe_ids(body.conversation_id)
    started = ConversationStarted(
        channel=body.channel, mode=mode_of(body.channel), customer_id=body.customer_id,
        queue=body.queue, priority=body.priority, language=body.language,
        required_skills=dict(body.required_skills), started_by=body.started_by)
    events = [stamp.event(started, conversation_id, body.time, id=ids[0])]
    if body.started_by == "customer":
        queued = Queued(queue=body.queue, priority=body.priority,
                        required_skills=dict(body.required_skills))
        events.append(stamp.event(queued, conversation_id, body.time, id=ids[1]))
    return events


def _retry_safe_ids(conversation_id: str | None) -> tuple[str | None, str | None]:
    if conversation_id is None:
        return None, None
    return (str(uuid.uuid5(uuid.NAMESPACE_URL, f"switchboard:{conversation_id}:started")),
            str(uuid.uuid5(uuid.NAMESPACE_URL, f"switchboard:{conversation_id}:queued")))


def message(conversation_id: str, body: PostMessage, stamp: Stamp) -> Events:
    """A customer message is received; an agent's or bot's is sent, with its author."""
    message_id = body.message_id or stamp.new_id()
    data: MessageReceived | MessageSent
    if body.sender == "customer":
        data = MessageReceived(message_id=message_id, text=body.text)
    else:
        assert body.author_id is not None  # enforced by PostMessage
        data = MessageSent(message_id=message_id, author_type=body.sender,
                           author_id=body.author_id, text=body.text)
    return [stamp.event(data, conversation_id, body.time)]


def handoff(conversation_id: str, body: Handoff, stamp: Stamp) -> Events:
    """The bot asks for a human, and the conversation enters the queue."""
    return [
        stamp.event(BotHandoffRequested(reason=body.reason, sentiment=body.sentiment),
                    conversation_id, body.time),
        stamp.event(Queued(queue=body.queue, priority=body.priority,
                           required_skills=dict(body.required_skills)), conversation_id, body.time),
    ]


def resolve(conversation_id: str, body: Resolve, stamp: Stamp) -> Events:
    """The conversation is resolved."""
    data = Resolved(resolved_by=body.resolved_by, resolution_code=body.resolution_code)
    return [stamp.event(data, conversation_id, body.time)]


def abandon(conversation_id: str, body: Abandon, stamp: Stamp) -> Events:
    """The customer left before an agent joined."""
    return [stamp.event(Abandoned(reason=body.reason), conversation_id, body.time)]


def set_status(conversation_id: str, body: SetConversationStatus, stamp: Stamp) -> Events:
    """Open, pending on the customer, or on hold."""
    return [stamp.event(ConversationStatusChanged(status=body.status), conversation_id, body.time)]


def transfer(conversation_id: str, body: Transfer, stamp: Stamp) -> Events:
    """The conversation moves to another agent or queue."""
    data = Transferred(from_agent_id=body.from_agent_id, from_queue=body.from_queue,
                       to_agent_id=body.to_agent_id, to_queue=body.to_queue, reason=body.reason)
    return [stamp.event(data, conversation_id, body.time)]


def accept_offer(conversation_id: str, body: AnswerOffer, stamp: Stamp) -> Events:
    """The agent takes the offer; the router then assigns the conversation."""
    return [stamp.event(OfferAccepted(agent_id=body.agent_id), conversation_id, body.time)]


def decline_offer(conversation_id: str, body: AnswerOffer, stamp: Stamp) -> Events:
    """The agent declines the offer; the conversation goes back to the head of its queue."""
    data = OfferDeclined(agent_id=body.agent_id, reason=body.reason)
    return [stamp.event(data, conversation_id, body.time)]


def escalate(conversation_id: str, body: Escalate, stamp: Stamp) -> Events:
    """The conversation goes up a tier."""
    data = Escalated(tier=body.tier, reason=body.reason, to_queue=body.to_queue)
    return [stamp.event(data, conversation_id, body.time)]


def answer_survey(conversation_id: str, body: AnswerSurvey, stamp: Stamp) -> Events:
    """The customer answered the survey."""
    data = SurveyAnswered(survey_id=body.survey_id, csat=body.csat, nps=body.nps, ces=body.ces,
                          comment=body.comment)
    return [stamp.event(data, conversation_id, body.time)]
