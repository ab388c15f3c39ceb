"""The lifecycle checker catches what an inconsistent log does."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from schemas.envelope import Envelope, new_event
from schemas.events import EventData
from schemas.events import agent as ag
from schemas.events import conversation as cv
from services.simulator.lifecycle import lifecycle_violations

T0 = datetime(2025, 1, 6, 8, tzinfo=UTC)


def log(*items: tuple[str, object]) -> list[Envelope[EventData]]:
    return [new_event(data, subject=subject, source="test", time=T0 + timedelta(seconds=i))  # type: ignore[arg-type]
            for i, (subject, data) in enumerate(items)]


AGENT = ("a1", ag.LoggedIn(capacity={"chat": 1, "voice": 1}))
START = ("c1", cv.ConversationStarted(channel="chat", mode="sync", customer_id="u", queue="q"))
QUEUED = ("c1", cv.Queued(queue="q"))
ASSIGNED = ("c1", cv.Assigned(agent_id="a1"))
RESOLVED = ("c1", cv.Resolved(resolved_by="agent"))


def test_a_clean_lifecycle_passes() -> None:
    assert lifecycle_violations(log(
        AGENT, START, QUEUED, ASSIGNED, ("c1", cv.MessageSent(message_id="m", author_id="a1")),
        RESOLVED, ("c1", cv.SurveySent(survey_id="s")),
        ("c1", cv.SurveyAnswered(survey_id="s", csat=5)), ("a1", ag.LoggedOut()))) == []


def test_events_before_started_are_caught() -> None:
    assert "before started" in lifecycle_violations(log(QUEUED, START))[0]


def test_a_message_after_resolution_is_caught() -> None:
    problems = lifecycle_violations(log(
        AGENT, START, QUEUED, ASSIGNED, RESOLVED, ("c1", cv.MessageReceived(message_id="m"))))
    assert len(problems) == 1 and "phase resolved" in problems[0]


def test_a_second_assignment_is_caught() -> None:
    assert lifecycle_violations(log(AGENT, START, QUEUED, ASSIGNED, ASSIGNED))


def test_an_agent_over_capacity_is_caught() -> None:
    second = ("c2", cv.ConversationStarted(channel="chat", mode="sync", customer_id="u", queue="q"))
    problems = lifecycle_violations(log(
        AGENT, START, QUEUED, ASSIGNED, second, ("c2", cv.Queued(queue="q")),
        ("c2", cv.Assigned(agent_id="a1"))))
    assert len(problems) == 1 and "over capacity" in problems[0]


def test_logging_out_while_holding_work_is_caught() -> None:
    problems = lifecycle_violations(log(AGENT, START, QUEUED, ASSIGNED, ("a1", ag.LoggedOut())))
    assert "while holding" in problems[0]


def test_time_going_backwards_is_caught() -> None:
    events = log(AGENT, START)
    assert lifecycle_violations(reversed(events))
