"""The worker's pure batch folds: what is applied, stored, published and
dead-lettered, and why."""

from __future__ import annotations

import orjson
from event_strategies import T0

from projections.agents.state import AgentState
from projections.conversations.state import RECENT_IDS, ConversationState
from projections.dedupe import Position
from projections.queues.reducer import QueueState, summarize
from projections.state_codec import load
from schemas.codec import encode
from schemas.envelope import new_event
from schemas.events.agent import AgentStatusChanged, LoggedIn
from schemas.events.conversation import Assigned, ConversationStarted, MessageReceived, Queued
from streams.batches import (
    BatchOutcome,
    Lookup,
    Record,
    agent_change_batch,
    agent_event_batch,
    conversation_batch,
    queue_batch,
)
from streams.steps import DeadLetter

START = new_event(ConversationStarted(channel="chat", mode="sync", customer_id="x", queue="billing"),
                  subject="c1", source="t", time=T0)
QUEUED = new_event(Queued(queue="billing", priority=4), subject="c1", source="t", time=T0)
ASSIGNED = new_event(Assigned(agent_id="a1"), subject="c1", source="t", time=T0)


def nothing(key: bytes) -> bytes | None:
    return None


def table(states: dict[bytes, bytes]) -> Lookup:
    return states.get


def only_dead(out: BatchOutcome) -> DeadLetter:
    assert out.applied == 0 and out.states == {} and len(out.dead) == 1, out
    return out.dead[0][1]


def test_undecodable_bytes_are_dead_lettered_with_the_decode_code() -> None:
    out = conversation_batch([Record(b"c1", b"\xff not json")], nothing)
    assert only_dead(out).reason == "malformed_json"


def test_message_for_unknown_conversation_is_dead_lettered() -> None:
    queued = new_event(Queued(queue="billing"), subject="c9", source="t", time=T0)
    out = conversation_batch([Record(b"c9", encode(queued))], nothing)
    assert only_dead(out).reason == "unknown_conversation"


def test_key_must_be_the_subject() -> None:
    assert only_dead(conversation_batch([Record(b"other", encode(START))], nothing)).reason == "key_mismatch"


def test_unkeyed_records_and_tombstones_are_dead_lettered() -> None:
    assert only_dead(conversation_batch([Record(None, encode(START))], nothing)).reason == "missing_key"
    assert only_dead(agent_event_batch([Record(b"a1", None)], nothing)).reason == "empty_value"


def test_agent_event_on_the_conversation_topic_is_dead_lettered() -> None:
    login = new_event(LoggedIn(), subject="a1", source="t", time=T0)
    assert only_dead(conversation_batch([Record(b"a1", encode(login))], nothing)).reason == "wrong_topic"


def test_stored_state_this_version_cannot_read_is_dead_lettered_not_raised() -> None:
    out = conversation_batch([Record(b"c1", encode(QUEUED))], table({b"c1": b'{"no": "fields"}'}))
    assert only_dead(out).reason == "invalid_state"


def test_a_batch_stores_each_key_once_with_its_last_record() -> None:
    other = new_event(ConversationStarted(channel="sms", mode="async", customer_id="y", queue="billing"),
                      subject="c2", source="t", time=T0)
    out = conversation_batch([Record(b"c1", encode(START)), Record(b"c2", encode(other)),
                              Record(b"c1", encode(QUEUED))], nothing)
    assert out.applied == 3 and out.dead == []
    assert [(k, i) for k, (_, i) in out.states.items()] == [(b"c1", 2), (b"c2", 1)]
    assert load(ConversationState, out.states[b"c1"][0]).waiting_in == "billing"


def test_a_bad_record_in_a_batch_leaves_the_others_applied() -> None:
    out = conversation_batch([Record(b"c1", encode(START)), Record(b"c1", b"{}"),
                              Record(b"c1", encode(QUEUED))], nothing)
    assert out.applied == 2 and [i for i, _ in out.dead] == [1]
    assert load(ConversationState, out.states[b"c1"][0]).waiting_in == "billing"


def test_a_redelivered_event_stores_nothing_but_resends_its_placement() -> None:
    first = conversation_batch([Record(b"c1", encode(START)), Record(b"c1", encode(QUEUED))], nothing)
    again = conversation_batch([Record(b"c1", encode(QUEUED))], table({b"c1": first.states[b"c1"][0]}))
    assert again.applied == 1 and again.states == {}
    assert list(again.by_queue) == ["billing"]


def test_a_record_redelivered_at_its_position_long_after_its_id_left_the_window_changes_nothing(
        ) -> None:
    messages = [new_event(MessageReceived(message_id=f"m{n}"), subject="c1", source="t", time=T0)
                for n in range(RECENT_IDS + 5)]
    log = [Record(b"c1", encode(e), Position(3, n))
           for n, e in enumerate([START, QUEUED, *messages])]
    first = conversation_batch(log, nothing)
    stored = first.states[b"c1"][0]
    again = conversation_batch(log[:4], table({b"c1": stored}))  # a rebalance: from offset 0
    assert again.applied == 4 and again.states == {} and again.dead == []
    assert list(again.by_queue) == ["billing"]  # the current placement, sent again
    assert load(ConversationState, stored).messages_in == RECENT_IDS + 5


def test_a_resent_event_at_a_new_offset_is_recognised_by_its_id() -> None:
    msg = new_event(MessageReceived(message_id="m"), subject="c1", source="t", time=T0)
    log = [Record(b"c1", encode(e), Position(0, n)) for n, e in enumerate([START, msg, msg])]
    state = load(ConversationState, conversation_batch(log, nothing).states[b"c1"][0])
    assert state.messages_in == 1 and state.position == Position(0, 1)


def test_changes_leave_as_one_array_per_queue_and_agent_in_log_order() -> None:
    chat = conversation_batch([Record(b"c1", encode(START)), Record(b"c1", encode(QUEUED)),
                               Record(b"c1", encode(ASSIGNED))], nothing)
    by_queue, by_agent = chat.rekeyed()
    assert [r.key for r in by_queue] == ["billing"] and [r.key for r in by_agent] == ["a1"]
    assert [c["after"]["phase"] for c in orjson.loads(by_queue[0].value)] == ["queued", "assigned"]
    q = load(QueueState, queue_batch([Record(b"billing", by_queue[0].value)], nothing).states[b"billing"][0])
    assert summarize(q, T0).waiting == 0
    agent = agent_change_batch([Record(b"a1", by_agent[0].value)], nothing).states[b"a1"][0]
    assert load(AgentState, agent).holding == {"chat": ("c1",)}


def test_a_lone_change_object_from_an_earlier_version_is_still_folded() -> None:
    queued = conversation_batch([Record(b"c1", encode(START)), Record(b"c1", encode(QUEUED))], nothing)
    (array,) = queued.rekeyed()[0]
    (lone,) = orjson.loads(array.value)
    q = load(QueueState, queue_batch([Record(b"billing", orjson.dumps(lone))], nothing).states[b"billing"][0])
    assert summarize(q, T0).waiting == 1


def test_messages_change_no_placement_and_publish_nothing() -> None:
    started = conversation_batch([Record(b"c1", encode(START))], nothing)
    msg = new_event(MessageReceived(message_id="m1", text="hi"), subject="c1", source="t", time=T0)
    out = conversation_batch([Record(b"c1", encode(msg))], table({b"c1": started.states[b"c1"][0]}))
    assert out.applied == 1 and out.by_queue == {} and out.by_agent == {}


def test_status_for_a_logged_out_agent_is_dead_lettered() -> None:
    status = new_event(AgentStatusChanged(status="available"), subject="a1", source="t", time=T0)
    assert only_dead(agent_event_batch([Record(b"a1", encode(status))], nothing)).reason == "not_logged_in"


def test_corrupt_or_empty_change_records_are_dead_lettered_not_raised() -> None:
    for corrupt in (b'{"conversation_id": 1}', b"[]", b"not json"):
        assert only_dead(queue_batch([Record(b"billing", corrupt)], nothing)).reason == "invalid_change"


def test_one_corrupt_change_in_an_array_rejects_the_whole_record() -> None:
    queued = conversation_batch([Record(b"c1", encode(START)), Record(b"c1", encode(QUEUED))], nothing)
    good = queued.rekeyed()[0][0].value
    mixed = b"[" + good[1:-1] + b',{"conversation_id": 1}]'
    assert only_dead(queue_batch([Record(b"billing", mixed)], nothing)).reason == "invalid_change"
