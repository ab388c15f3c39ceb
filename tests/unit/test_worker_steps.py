"""The worker's pure steps: what is applied, what is dead-lettered and why."""

from __future__ import annotations

from event_strategies import T0

from projections.agents.state import AgentState
from projections.queues.reducer import QueueState, summarize
from projections.state_codec import load
from schemas.codec import encode
from schemas.envelope import new_event
from schemas.events.agent import AgentStatusChanged, LoggedIn
from schemas.events.conversation import Assigned, ConversationStarted, Queued
from streams.steps import (
    Applied,
    DeadLetter,
    agent_change_step,
    agent_event_step,
    conversation_step,
    queue_step,
)

START = new_event(ConversationStarted(channel="chat", mode="sync", customer_id="x", queue="billing"),
                  subject="c1", source="t", time=T0)


def applied(outcome: Applied | DeadLetter) -> Applied:
    assert isinstance(outcome, Applied), outcome
    return outcome


def test_undecodable_bytes_are_dead_lettered_with_the_decode_code() -> None:
    assert conversation_step(b"\xff not json", "c1", None) == DeadLetter(
        "malformed_json", conversation_step(b"\xff not json", "c1", None).detail)  # type: ignore[union-attr]


def test_message_for_unknown_conversation_is_dead_lettered() -> None:
    queued = new_event(Queued(queue="billing"), subject="c9", source="t", time=T0)
    out = conversation_step(encode(queued), "c9", None)
    assert isinstance(out, DeadLetter) and out.reason == "unknown_conversation"


def test_key_must_be_the_subject() -> None:
    out = conversation_step(encode(START), "other", None)
    assert isinstance(out, DeadLetter) and out.reason == "key_mismatch"


def test_agent_event_on_the_conversation_topic_is_dead_lettered() -> None:
    login = new_event(LoggedIn(), subject="a1", source="t", time=T0)
    out = conversation_step(encode(login), "a1", None)
    assert isinstance(out, DeadLetter) and out.reason == "wrong_topic"


def test_queueing_fans_out_to_the_queue_and_assignment_to_the_agent() -> None:
    s1 = applied(conversation_step(encode(START), "c1", None))
    assert s1.by_queue == () and s1.by_agent == ()
    queued = new_event(Queued(queue="billing", priority=4), subject="c1", source="t", time=T0)
    s2 = applied(conversation_step(encode(queued), "c1", s1.state))
    assert [r.key for r in s2.by_queue] == ["billing"]
    q = load(QueueState, applied(queue_step(s2.by_queue[0].value, "billing", None)).state)
    assert summarize(q, T0).waiting == 1
    assigned = new_event(Assigned(agent_id="a1"), subject="c1", source="t", time=T0)
    s3 = applied(conversation_step(encode(assigned), "c1", s2.state))
    assert [r.key for r in s3.by_agent] == ["a1"] and [r.key for r in s3.by_queue] == ["billing"]
    agent = load(AgentState, applied(agent_change_step(s3.by_agent[0].value, "a1", None)).state)
    assert agent.holding == {"chat": ("c1",)}


def test_status_for_a_logged_out_agent_is_dead_lettered() -> None:
    status = new_event(AgentStatusChanged(status="available"), subject="a1", source="t", time=T0)
    out = agent_event_step(encode(status), "a1", None)
    assert isinstance(out, DeadLetter) and out.reason == "not_logged_in"


def test_a_corrupt_change_record_is_dead_lettered_not_raised() -> None:
    out = queue_step(b'{"conversation_id": 1}', "billing", None)
    assert isinstance(out, DeadLetter) and out.reason == "invalid_change"
