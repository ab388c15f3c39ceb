"""'Waiting since' has one definition, `ConversationState.waiting_since`: the queues, the
`queue_waiting` rows and the router's waits all read it."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from event_strategies import T0, data_of
from hypothesis import given, settings
from hypothesis import strategies as st

from projections.changes import change_between
from projections.conversations.state import ConversationState
from projections.postgres.rows import waiting_row
from projections.queues import reducer as queues
from projections.replay import ReadModels, apply_event, fold
from projections.state_codec import dump
from schemas.envelope import Envelope, new_event
from schemas.events import EventData
from schemas.events.conversation import (
    CONVERSATION_EVENTS,
    Assigned,
    ConversationStarted,
    MessageReceived,
    OfferDeclined,
    Offered,
    Queued,
    Transferred,
)
from services.router.policy import waited
from streams.batches import Record, queue_batch

STARTED = ConversationStarted(channel="chat", mode="sync", customer_id="x", queue="billing")


def at(s: int) -> timedelta:
    return timedelta(seconds=s)


def events(*datas: EventData) -> list[Envelope[EventData]]:
    """One conversation `c1`: a started event at T0, then `datas` a second apart."""
    return [new_event(d, subject="c1", source="t", time=T0 + at(i))
            for i, d in enumerate((STARTED, *datas))]


def state_after(*datas: EventData) -> ConversationState:
    return fold(events(*datas)).conversations["c1"]


def test_it_waits_since_it_entered_the_queue_and_a_declined_offer_keeps_its_place() -> None:
    queued = (MessageReceived(message_id="m1"), Queued(queue="billing"))
    assert state_after(*queued).waiting_since == T0 + at(2)
    offered = Offered(agent_id="a1", expires_at=T0 + at(60))
    later = (MessageReceived(message_id="m2"), offered,
             OfferDeclined(agent_id="a1"), Queued(queue="billing", priority=5))
    assert state_after(*queued, *later).waiting_since == T0 + at(2)


def test_a_move_to_another_queue_starts_the_wait_again() -> None:
    queued = Queued(queue="billing")
    assert state_after(queued, Queued(queue="tech")).waiting_since == T0 + at(2)
    assert state_after(queued, Transferred(to_queue="tech")).waiting_since == T0 + at(2)


def test_a_conversation_that_does_not_wait_has_no_waiting_since() -> None:
    assert state_after().waiting_since is None
    held = state_after(Queued(queue="billing"), Assigned(agent_id="a1"))
    assert (held.queued_at, held.waiting_since) == (T0 + at(1), None)
    change = change_between(None, held, "e", T0 + at(3))
    assert change is not None and change.waiting_since is None


def test_a_waiting_state_without_queued_at_waits_since_it_started_everywhere() -> None:
    # The copies disagreed here: the queue used the change's time, the queue_waiting row
    # the last event's time, the router the start. Only the start stays put as events come.
    state = replace(state_after(MessageReceived(message_id="m1"), Queued(queue="billing"),
                                MessageReceived(message_id="m2")), queued_at=None)
    assert state.waiting_since == T0
    change = change_between(None, state, "e", T0 + at(9))
    assert change is not None
    assert [w.since for w in queues.apply_change(None, "billing", change).waiting] == [T0]
    row = waiting_row(state)
    assert row is not None and row.since == T0
    assert waited(state, T0 + at(60)) == 60.0


def test_a_change_into_a_queue_with_no_waiting_since_is_parked_as_invalid() -> None:
    change = change_between(None, state_after(Queued(queue="billing")), "e", T0 + at(2))
    assert change is not None
    out = queue_batch([Record(b"billing", dump(replace(change, waiting_since=None)))],
                      lambda _: None)
    assert [d.reason for _, d in out.dead] == ["invalid_change"]


conversation_data = st.one_of(*(data_of(c) for c in CONVERSATION_EVENTS.values()
                                if c is not ConversationStarted))


@given(st.lists(st.tuples(st.sampled_from(("c1", "c2")), conversation_data), max_size=25))
@settings(max_examples=200, deadline=None)
def test_queues_rows_and_router_agree_on_waiting_since_after_every_event(
        steps: list[tuple[str, EventData]]) -> None:
    models = ReadModels()
    datas = [("c1", STARTED), ("c2", STARTED), *steps]
    for i, (cid, data) in enumerate(datas):
        now = T0 + at(i)
        apply_event(models, new_event(data, subject=cid, source="t", time=now))
        for queue in models.queues.values():
            for w in queue.waiting:
                conv = models.conversations[w.conversation_id]
                assert conv.queued_at is not None  # the log never needs the fallback
                assert (conv.waiting_in, conv.waiting_since) == (queue.queue, w.since)
                row = waiting_row(conv)
                assert row is not None and row.since == w.since
                assert waited(conv, now) == max(0.0, (now - w.since).total_seconds())
        for conv in models.conversations.values():
            listed = conv.waiting_in is not None and any(
                w.conversation_id == conv.conversation_id
                for w in models.queues[conv.waiting_in].waiting)
            assert listed == (conv.waiting_since is not None)
