"""Typed command bodies map 1:1 to catalog events, and every event honours its schema."""

from datetime import UTC, datetime, timedelta
from itertools import count

import pytest
from pydantic import ValidationError

from schemas.codec import decode, encode
from schemas.events.agent import (
    AgentStatusChanged,
    CapacityChanged,
    LoggedIn,
    LoggedOut,
    SkillsChanged,
)
from schemas.events.conversation import (
    BotHandoffRequested,
    ConversationStarted,
    MessageReceived,
    MessageSent,
    Queued,
    Resolved,
    SurveyAnswered,
    Transferred,
)
from services.ingest import agent_commands as agents
from services.ingest import conversation_mapping as conv
from services.ingest.conversation_bodies import (
    Abandon,
    AnswerSurvey,
    Escalate,
    Handoff,
    PostMessage,
    Resolve,
    SetConversationStatus,
    StartConversation,
    Transfer,
)
from services.ingest.stamp import SOURCE, Stamp

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def stamp() -> Stamp:
    ids = count(1)
    return Stamp(now=NOW, new_id=lambda: f"id-{next(ids)}")


def start_body(**overrides: object) -> StartConversation:
    fields: dict[str, object] = {"channel": "chat", "customer_id": "cust-1", "queue": "billing",
                                 "priority": 3, "required_skills": {"billing": 2}}
    fields.update(overrides)
    return StartConversation.model_validate(fields)


def test_customer_start_is_started_then_queued_for_the_same_queue() -> None:
    events = conv.start(start_body(conversation_id="c-9"), stamp())
    assert [type(e.data) for e in events] == [ConversationStarted, Queued]
    started, queued = events
    assert started.data == ConversationStarted(
        channel="chat", mode="sync", customer_id="cust-1", queue="billing", priority=3,
        language="en", required_skills={"billing": 2}, started_by="customer")
    assert queued.data == Queued(queue="billing", priority=3, required_skills={"billing": 2})
    assert {e.subject for e in events} == {"c-9"}
    assert started.id != queued.id
    assert started.source == SOURCE and started.time == NOW


def test_bot_start_is_not_queued_and_async_channels_are_async() -> None:
    events = conv.start(start_body(started_by="bot", channel="sms"), stamp())
    assert len(events) == 1
    assert events[0].data.mode == "async"  # type: ignore[attr-defined]


def test_start_without_conversation_id_gets_a_fresh_one() -> None:
    events = conv.start(start_body(), stamp())
    assert events[0].subject == "id-1"
    assert events[0].id == "id-2"


def test_client_time_wins_over_now() -> None:
    earlier = NOW - timedelta(minutes=5)
    events = conv.start(start_body(time=earlier.isoformat()), stamp())
    assert {e.time for e in events} == {earlier}


def test_naive_time_is_refused() -> None:
    with pytest.raises(ValidationError):
        start_body(time="2025-03-01T12:00:00")


def test_customer_message_is_received() -> None:
    body = PostMessage.model_validate({"from": "customer", "text": "hi", "message_id": "m1"})
    [event] = conv.message("c1", body, stamp())
    assert event.data == MessageReceived(message_id="m1", text="hi")
    assert event.subject == "c1"


def test_agent_and_bot_messages_are_sent_with_their_author() -> None:
    for sender in ("agent", "bot"):
        body = PostMessage.model_validate({"from": sender, "author_id": "a1", "text": "hello"})
        [event] = conv.message("c1", body, stamp())
        assert event.data == MessageSent(message_id="id-1", author_type=sender,
                                         author_id="a1", text="hello")


def test_agent_message_needs_an_author() -> None:
    with pytest.raises(ValidationError):
        PostMessage.model_validate({"from": "agent", "text": "hello"})


def test_handoff_requests_a_human_then_queues() -> None:
    body = Handoff(reason="wants human", sentiment="negative", queue="support", priority=5)
    events = conv.handoff("c1", body, stamp())
    assert [e.data for e in events] == [
        BotHandoffRequested(reason="wants human", sentiment="negative"),
        Queued(queue="support", priority=5, required_skills={}),
    ]


def test_lifecycle_commands_map_to_their_events() -> None:
    assert conv.resolve("c1", Resolve(resolved_by="agent"), stamp())[0].data == Resolved(
        resolved_by="agent", resolution_code="resolved")
    assert conv.transfer("c1", Transfer(to_queue="q2", from_agent_id="a1"), stamp())[0].data == (
        Transferred(from_agent_id="a1", to_queue="q2"))
    survey = AnswerSurvey(survey_id="s1", csat=5, nps=9)
    assert conv.answer_survey("c1", survey, stamp())[0].data == SurveyAnswered(
        survey_id="s1", csat=5, nps=9)


def test_transfer_needs_a_target() -> None:
    with pytest.raises(ValidationError):
        Transfer(from_agent_id="a1")


def test_out_of_range_values_are_refused_by_the_bodies() -> None:
    with pytest.raises(ValidationError):
        start_body(priority=11)
    with pytest.raises(ValidationError):
        AnswerSurvey(survey_id="s1", csat=6)
    with pytest.raises(ValidationError):
        Escalate(tier=0)
    with pytest.raises(ValidationError):
        start_body(unknown_field=1)


def test_agent_commands_map_to_agent_events() -> None:
    login = agents.Login(name="Ann", skills={"billing": 7}, capacity={"chat": 3},
                         languages=["en", "fr"])
    assert agents.login("a1", login, stamp())[0].data == LoggedIn(
        name="Ann", skills={"billing": 7}, capacity={"chat": 3}, languages=["en", "fr"])
    assert agents.logout("a1", agents.Logout(), stamp())[0].data == LoggedOut()
    status = agents.SetAgentStatus(status="away", aux_code="lunch")
    assert agents.set_status("a1", status, stamp())[0].data == AgentStatusChanged(
        status="away", aux_code="lunch")
    assert agents.set_capacity("a1", agents.SetCapacity(capacity={"voice": 1}), stamp())[0].data \
        == CapacityChanged(capacity={"voice": 1})
    assert agents.set_skills("a1", agents.SetSkills(skills={"x": 1}), stamp())[0].data \
        == SkillsChanged(skills={"x": 1})


def test_every_command_event_round_trips_through_the_codec() -> None:
    s = stamp()
    events = [
        *conv.start(start_body(), s),
        *conv.message("c1", PostMessage.model_validate({"from": "bot", "author_id": "b"}), s),
        *conv.handoff("c1", Handoff(reason="r", queue="q"), s),
        *conv.resolve("c1", Resolve(resolved_by="bot"), s),
        *conv.abandon("c1", Abandon(), s),
        *conv.set_status("c1", SetConversationStatus(status="on_hold"), s),
        *conv.transfer("c1", Transfer(to_agent_id="a2"), s),
        *conv.escalate("c1", Escalate(tier=2, to_queue="t2"), s),
        *conv.answer_survey("c1", AnswerSurvey(survey_id="s", ces=3), s),
        *agents.login("a1", agents.Login(), s),
        *agents.set_status("a1", agents.SetAgentStatus(status="available"), s),
    ]
    for event in events:
        assert decode(encode(event)) == event
