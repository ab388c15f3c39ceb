"""What a fold drops as already applied: a record read again at or below the last applied
position, or an id among the latest; and states stored by earlier versions still load."""

from __future__ import annotations

from datetime import timedelta

import orjson
from event_strategies import T0

from projections.agents import reducer as agents
from projections.agents.state import AgentState
from projections.conversations import reducer as conversations
from projections.conversations.state import RECENT_IDS, ConversationState
from projections.dedupe import Position, already_applied, applied
from projections.state_codec import dump, load
from schemas.envelope import Envelope, new_event
from schemas.events import EventData
from schemas.events.agent import AgentStatusChanged, LoggedIn
from schemas.events.conversation import ConversationStarted, MessageReceived, Queued

START = ConversationStarted(channel="chat", mode="sync", customer_id="x", queue="billing")


def ev(data: EventData, second: int = 0, subject: str = "c1") -> Envelope[EventData]:
    return new_event(data, subject=subject, source="t", time=T0 + timedelta(seconds=second))


def messages(n: int) -> list[Envelope[EventData]]:
    return [ev(MessageReceived(message_id=f"m{i}"), i) for i in range(n)]


def folded(events: list[Envelope[EventData]], partition: int = 2,
           first: int = 100) -> ConversationState:
    state = None
    for offset, event in enumerate(events, start=first):
        state = conversations.apply(state, event, Position(partition, offset))
    assert state is not None
    return state


def test_a_record_at_or_below_the_last_applied_position_was_applied() -> None:
    state = folded([ev(START), *messages(3)])  # offsets 100..103
    assert state.position == Position(2, 103)
    assert already_applied(state, "never-seen", Position(2, 103))
    assert already_applied(state, "never-seen", Position(2, 0))
    assert not already_applied(state, "never-seen", Position(2, 104))


def test_without_a_comparable_position_only_the_latest_ids_count() -> None:
    state = folded([ev(START), *messages(RECENT_IDS + 1)])
    latest, evicted = state.recent_ids[-1], state.recent_ids[0]
    assert already_applied(state, latest, None)
    assert already_applied(state, evicted, Position(5, 0))  # another partition: by id
    assert not already_applied(state, "never-seen", None)
    assert not already_applied(state, "never-seen", Position(5, 0))


def test_the_id_window_is_bounded_and_keeps_the_latest_in_order() -> None:
    events = [ev(START), *messages(3 * RECENT_IDS)]
    state = folded(events)
    assert state.recent_ids == tuple(e.id for e in events[-RECENT_IDS:])
    assert state.events == 3 * RECENT_IDS + 1


def test_applied_keeps_the_position_when_the_new_one_is_unknown() -> None:
    state = folded([ev(START)])
    assert applied(state, "e2", None, 4)["position"] == Position(2, 100)
    assert applied(state, "e2", Position(2, 101), 4)["position"] == Position(2, 101)
    assert applied(None, "e1", None, 4) == {"position": None, "recent_ids": ("e1",)}
    assert applied(state, "e2", None, 1)["recent_ids"] == ("e2",)


def test_a_resend_at_a_new_offset_within_the_window_changes_nothing() -> None:
    msg = ev(MessageReceived(message_id="m"), 1)
    state = folded([ev(START), msg, *messages(RECENT_IDS - 2), msg])
    assert state.messages_in == RECENT_IDS - 1
    assert state.position == Position(2, 100 + RECENT_IDS - 1)  # the resend moved nothing


def test_a_rejected_record_does_not_move_the_position() -> None:
    state = folded([ev(START)])
    queued = ev(Queued(queue="billing"), 1)
    after = conversations.apply(state, queued, Position(2, 101))
    assert conversations.apply(after, ev(START), Position(2, 90)) is after  # a redelivery
    assert after.position == Position(2, 101)


def test_agent_events_are_deduplicated_by_position_too() -> None:
    login = ev(LoggedIn(skills={"billing": 3}), 0, "a1")
    available = ev(AgentStatusChanged(status="available"), 1, "a1")
    state: AgentState | None = None
    for offset, event in enumerate([login, available]):
        state = agents.apply(state, event, Position(0, offset))
    assert state is not None and state.position == Position(0, 1)
    away = ev(AgentStatusChanged(status="away"), 2, "a1")
    assert agents.apply(state, away, Position(0, 1)) is state
    assert agents.apply(state, away, Position(0, 2)).status == "away"


def test_a_state_stored_with_every_seen_id_and_no_position_loads_and_still_dedupes() -> None:
    events = [ev(START), *messages(RECENT_IDS + 8)]
    current = folded(events)
    stored = orjson.loads(dump(current))
    del stored["position"], stored["recent_ids"]
    stored["seen_ids"] = [e.id for e in events]  # what earlier versions kept
    stored["a_field_from_elsewhere"] = 1
    old = load(ConversationState, orjson.dumps(stored))
    assert old.position is None and len(old.recent_ids) == len(events)
    assert conversations.apply(old, events[0], Position(2, 100)) is old  # a redelivery
    newer = conversations.apply(old, ev(MessageReceived(message_id="new"), 99), Position(2, 500))
    assert len(newer.recent_ids) == RECENT_IDS and newer.position == Position(2, 500)
    assert load(ConversationState, dump(newer)) == newer
