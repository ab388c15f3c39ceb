"""When a closed conversation may leave the live tables: past the horizon after its last
event, known closed from its stored bytes, and only once its records are all committed."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from event_strategies import T0

from projections.conversations import reducer
from projections.conversations.retention import behind, expired, may_be_closed, may_have_expired
from projections.conversations.state import ConversationState
from projections.dedupe import Position
from projections.state_codec import dump
from schemas.envelope import new_event
from schemas.events import EventData
from schemas.events.conversation import (
    Abandoned,
    ConversationStarted,
    Queued,
    Reopened,
    Resolved,
    SurveyAnswered,
)

HORIZON = timedelta(days=8)
# A queue and a customer whose names spell a closed phase: inside a JSON string the
# quotes are escaped, so the bytes check cannot be fooled by them.
START = ConversationStarted(channel="chat", mode="sync", customer_id='"phase":"resolved"',
                            queue='"phase":"abandoned"')


def conversation(*datas: EventData) -> ConversationState:
    """A conversation started at T0, then one event an hour."""
    state = None
    for n, data in enumerate((START, *datas)):
        event = new_event(data, subject="c1", source="t", time=T0 + timedelta(hours=n))
        state = reducer.apply(state, event, Position(4, 10 + n))
    assert state is not None
    return state


def test_a_resolved_conversation_expires_a_horizon_after_its_last_event() -> None:
    state = conversation(Queued(queue="q"), Resolved(resolved_by="agent"))
    assert not expired(state, state.last_event_at + HORIZON, HORIZON)
    assert expired(state, state.last_event_at + HORIZON + timedelta(seconds=1), HORIZON)


def test_an_abandoned_conversation_expires_too() -> None:
    state = conversation(Queued(queue="q"), Abandoned())
    assert expired(state, state.last_event_at + HORIZON * 2, HORIZON)


def test_a_late_survey_answer_restarts_the_horizon() -> None:
    resolved = conversation(Resolved(resolved_by="agent"))
    answered = conversation(Resolved(resolved_by="agent"), SurveyAnswered(survey_id="s", csat=5))
    now = resolved.last_event_at + HORIZON + timedelta(minutes=30)  # the answer came 1 h later
    assert expired(resolved, now, HORIZON)
    assert not expired(answered, now, HORIZON)


@pytest.mark.parametrize("datas", [(), (Queued(queue="q"),),
                                   (Resolved(resolved_by="agent"), Reopened())])
def test_an_open_conversation_never_expires(datas: tuple[EventData, ...]) -> None:
    state = conversation(*datas)
    assert not expired(state, state.last_event_at + HORIZON * 100, HORIZON)
    assert not may_be_closed(dump(state))


@pytest.mark.parametrize("closing", [Resolved(resolved_by="agent"), Abandoned()])
def test_the_bytes_of_a_closed_conversation_say_so(closing: EventData) -> None:
    assert may_be_closed(dump(conversation(Queued(queue="q"), closing)))


@pytest.mark.parametrize("datas", [(), (Queued(queue="q"),), (Resolved(resolved_by="agent"),),
                                   (Abandoned(),), (Resolved(resolved_by="agent"), Reopened()),
                                   (Resolved(resolved_by="agent"), SurveyAnswered(survey_id="s"))])
@pytest.mark.parametrize("after", [timedelta(0), HORIZON, HORIZON + timedelta(microseconds=1),
                                   HORIZON * 3])
def test_the_bytes_tell_expiry_as_the_decoded_state_does(datas: tuple[EventData, ...],
                                                         after: timedelta) -> None:
    state = conversation(*datas)
    now = state.last_event_at + after
    assert may_have_expired(dump(state), now, HORIZON) == expired(state, now, HORIZON)


def test_bytes_the_quick_look_cannot_read_are_left_to_the_decoder() -> None:
    assert may_have_expired(b'{"phase":"resolved"}', T0, HORIZON)
    assert may_have_expired(b'{"phase":"resolved","last_event_at":"soon"}', T0, HORIZON)


def test_only_a_conversation_whose_records_are_all_committed_may_go() -> None:
    state = conversation(Resolved(resolved_by="agent"))  # last record at offset 11
    assert behind(state, 12)
    assert not behind(state, 11)
    assert not behind(state, None)  # nothing committed on the partition yet


def test_a_state_stored_before_positions_is_judged_by_age_alone() -> None:
    state = conversation(Resolved(resolved_by="agent"))
    assert behind(replace(state, position=None), None)
