"""The conversation lifecycle, given events -> then state (or a lifecycle error)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from event_strategies import T0

from projections.conversations.reducer import apply
from projections.conversations.state import ConversationState
from projections.errors import LifecycleError
from schemas.envelope import Envelope, new_event
from schemas.events import EventData
from schemas.events.conversation import (
    Abandoned,
    Assigned,
    BotHandoffRequested,
    ConversationStarted,
    MessageReceived,
    MessageSent,
    OfferDeclined,
    Offered,
    Queued,
    Reopened,
    Resolved,
    SurveyAnswered,
    Transferred,
)

CHAT = ConversationStarted(channel="chat", mode="sync", customer_id="cust", queue="billing")
BOT = ConversationStarted(channel="chat", mode="sync", customer_id="cust", queue="billing",
                          started_by="bot")


def ev(data: EventData, second: int = 0, subject: str = "c1") -> Envelope[EventData]:
    return new_event(data, subject=subject, source="test", time=T0 + timedelta(seconds=second))


def fold(*datas: EventData) -> ConversationState:
    state = None
    for i, data in enumerate(datas):
        state = apply(state, ev(data, i))
    assert state is not None
    return state


def test_customer_conversation_is_queued_assigned_and_resolved_with_milestones() -> None:
    s = fold(CHAT, Queued(queue="billing", priority=2), Offered(agent_id="a1", expires_at=T0),
             Assigned(agent_id="a1"), MessageReceived(message_id="m1"),
             MessageSent(message_id="m2", author_id="a1"), Resolved(resolved_by="agent"))
    assert (s.phase, s.agent_id, s.priority, s.offers) == ("resolved", "a1", 2, 1)
    assert s.first_queued_at == T0 + timedelta(seconds=1)
    assert s.first_assigned_at == T0 + timedelta(seconds=3)
    assert s.first_human_reply_at == T0 + timedelta(seconds=5)
    assert s.unanswered_since is None
    assert s.resolved_at == T0 + timedelta(seconds=6)


def test_bot_replies_do_not_stop_the_first_response_clock() -> None:
    s = fold(BOT, MessageReceived(message_id="m1"),
             MessageSent(message_id="m2", author_type="bot", author_id="bot"))
    assert s.first_human_reply_at is None
    assert s.unanswered_since == T0 + timedelta(seconds=1)
    assert s.messages_out_bot == 1


def test_bot_handoff_then_queue() -> None:
    s = fold(BOT, BotHandoffRequested(reason="billing", sentiment="negative"),
             Queued(queue="billing", priority=5))
    assert (s.phase, s.sentiment, s.priority) == ("queued", "negative", 5)


def test_declined_offer_keeps_the_place_in_the_queue() -> None:
    s = fold(CHAT, Queued(queue="billing"), Offered(agent_id="a1", expires_at=T0),
             OfferDeclined(agent_id="a1"))
    assert (s.phase, s.queued_at) == ("queued", T0 + timedelta(seconds=1))


def test_transfer_to_a_queue_releases_the_agent() -> None:
    s = fold(CHAT, Queued(queue="billing"), Assigned(agent_id="a1"),
             Transferred(from_agent_id="a1", to_queue="tech"))
    assert (s.phase, s.queue, s.agent_id, s.transfers) == ("queued", "tech", None, 1)


def test_reopen_puts_the_conversation_back_in_its_queue() -> None:
    s = fold(CHAT, Queued(queue="billing"), Assigned(agent_id="a1"), Resolved(resolved_by="agent"),
             Reopened(), SurveyAnswered(survey_id="s", csat=5))
    assert (s.phase, s.reopens, s.csat, s.resolved_at) == ("queued", 1, 5, None)


def test_the_same_event_twice_changes_nothing() -> None:
    once = apply(None, ev(CHAT))
    event = ev(MessageReceived(message_id="m1"), 1)
    after = apply(once, event)
    assert apply(after, event) is after
    assert after.messages_in == 1


@pytest.mark.parametrize(("history", "bad", "reason"), [
    ((), MessageReceived(message_id="m"), "unknown_conversation"),
    ((CHAT,), CHAT, "already_started"),
    ((CHAT, Queued(queue="billing"), Assigned(agent_id="a1"), Resolved(resolved_by="agent")),
     Resolved(resolved_by="agent"), "already_resolved"),
    ((CHAT, Queued(queue="billing"), Assigned(agent_id="a1")), Assigned(agent_id="a2"),
     "already_assigned"),
    ((CHAT, Queued(queue="billing"), Offered(agent_id="a1", expires_at=T0)),
     Assigned(agent_id="a2"), "offered_elsewhere"),
    ((CHAT, Queued(queue="billing"), Assigned(agent_id="a1")), Abandoned(), "already_assigned"),
    ((CHAT,), OfferDeclined(agent_id="a1"), "no_such_offer"),
    ((CHAT, Abandoned()), MessageReceived(message_id="m"), "already_abandoned"),
    ((CHAT,), BotHandoffRequested(reason="x"), "not_with_bot"),
])
def test_impossible_events_raise_lifecycle_errors(
        history: tuple[EventData, ...], bad: EventData, reason: str) -> None:
    state = None
    for i, data in enumerate(history):
        state = apply(state, ev(data, i))
    with pytest.raises(LifecycleError) as err:
        apply(state, ev(bad, 99))
    assert err.value.reason == reason
