"""KPI facts and figures on hand-built logs with known answers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from projections.conversations import reducer
from projections.conversations.state import ConversationState
from projections.kpi.definitions import DefinitionsError, parse_definitions
from projections.kpi.facts import Fact, facts_of
from projections.kpi.figures import Rate, figures
from schemas.envelope import new_event
from schemas.events.conversation import (
    Abandoned,
    Assigned,
    BotHandoffRequested,
    ConversationStarted,
    MessageReceived,
    MessageSent,
    Queued,
    Resolved,
    SurveyAnswered,
    SurveySent,
    Transferred,
)

T0 = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
DEFINITIONS = parse_definitions("""
version = "test.1"
[center]
service_level_threshold_s = 20
short_abandon_s = 5
[queues.vip]
service_level_threshold_s = 10
""")


def fold(cid: str, steps: list[tuple[float, Any]]) -> list[Fact]:
    """Fold `steps` (seconds after T0, payload) of one conversation; the facts."""
    state: ConversationState | None = None
    found: list[Fact] = []
    for n, (second, data) in enumerate(steps):
        event = new_event(data, subject=cid, source="test", time=T0 + timedelta(seconds=second),
                          id=f"{cid}-{n}")
        after = reducer.apply(state, event)
        found += facts_of(state, after, event)
        state = after
    return found


def started(queue: str = "billing", channel: str = "chat") -> ConversationStarted:
    return ConversationStarted(channel=channel, mode="sync" if channel == "chat" else "async",
                               customer_id="c1", queue=queue)


def answered_after(cid: str, wait: float, queue: str = "billing") -> list[Fact]:
    return fold(cid, [(0, started(queue)), (0, Queued(queue=queue)),
                      (wait, Assigned(agent_id="a1")), (wait + 60, Resolved(resolved_by="agent"))])


def abandoned_after(cid: str, wait: float) -> list[Fact]:
    return fold(cid, [(0, started()), (0, Queued(queue="billing")), (wait, Abandoned())])


def test_service_level_counts_answers_within_t_over_answers_and_late_abandons() -> None:
    facts = (answered_after("c1", 10) + answered_after("c2", 30) + abandoned_after("c3", 3)
             + abandoned_after("c4", 15) + abandoned_after("c5", 40))
    kpis = figures(facts, DEFINITIONS)
    assert kpis["service_level"] == Rate(1, 3)  # c1 / (c1, c2, c5); c3 short, c4 within T
    assert kpis["service_level_connect"] == Rate(3, 5)  # c1, c3, c4 within T / 5 queued
    assert kpis["abandonment_rate"] == Rate(2, 5)  # c4, c5; c3 is short
    assert kpis["short_abandons"] == 1
    assert kpis["volume"] == 5


def test_the_threshold_is_the_queues_own() -> None:
    assert figures(answered_after("c1", 15, queue="vip"), DEFINITIONS)["service_level"] == Rate(0, 1)
    assert figures(answered_after("c1", 15), DEFINITIONS)["service_level"] == Rate(1, 1)


def test_asa_and_handle_time_are_summaries_of_seconds() -> None:
    kpis = figures(answered_after("c1", 10) + answered_after("c2", 30), DEFINITIONS)
    asa = kpis["asa"]
    assert (asa.n, asa.mean, asa.p50, asa.p90) == (2, 20.0, 20.0, pytest.approx(28.0))
    assert kpis["aht"].mean == 60.0
    assert kpis["resolved"] == 2


def test_first_and_next_responses_ignore_the_bot() -> None:
    facts = fold("c1", [(0, started()), (1, MessageReceived(message_id="m1")),
                        (2, MessageSent(message_id="b1", author_type="bot", author_id="bot")),
                        (3, Queued(queue="billing")), (10, Assigned(agent_id="a1")),
                        (16, MessageSent(message_id="r1", author_id="a1")),
                        (20, MessageReceived(message_id="m2")),
                        (50, MessageSent(message_id="r2", author_id="a1"))])
    kpis = figures(facts, DEFINITIONS)
    assert kpis["first_response_customer"].mean == 15.0  # 1 s -> 16 s
    assert kpis["first_response_agent"].mean == 6.0  # assigned 10 s -> 16 s
    assert kpis["next_response"].mean == 30.0  # 20 s -> 50 s


def test_a_transfer_ends_one_hold_and_counts_per_handled() -> None:
    facts = fold("c1", [(0, started()), (0, Queued(queue="billing")), (5, Assigned(agent_id="a1")),
                        (65, Transferred(from_agent_id="a1", to_agent_id="a2")),
                        (95, Resolved(resolved_by="agent"))])
    kpis = figures(facts, DEFINITIONS)
    assert kpis["aht"].n == 2 and kpis["aht"].mean == 45.0  # 60 s for a1, 30 s for a2
    assert kpis["transfer_rate"] == Rate(1, 2)
    assert {f.agent_id for f in facts if f.kind == "handled"} == {"a1", "a2"}


def test_surveys_give_csat_nps_ces_and_the_response_rate() -> None:
    def surveyed(cid: str, **scores: int) -> list[Fact]:
        steps: list[tuple[float, Any]] = [(0, started()), (1, SurveySent(survey_id=f"s-{cid}"))]
        if scores:
            steps.append((2, SurveyAnswered(survey_id=f"s-{cid}", **scores)))
        return fold(cid, steps)

    facts = (surveyed("c1", csat=5, nps=10, ces=2) + surveyed("c2", csat=3, nps=6, ces=4)
             + surveyed("c3", csat=4, nps=8) + surveyed("c4"))
    kpis = figures(facts, DEFINITIONS)
    assert kpis["csat"] == Rate(2, 3)
    assert kpis["nps"] == Rate(0, 3)  # one promoter, one detractor
    assert kpis["ces"].mean == 3.0
    assert kpis["survey_response_rate"] == Rate(3, 4)


def test_a_redelivered_event_adds_no_fact() -> None:
    first = new_event(started(), subject="c1", source="test", time=T0, id="e1")
    state = reducer.apply(None, first)
    again = reducer.apply(state, first)
    assert facts_of(state, again, first) == []


def test_a_bad_definitions_file_names_every_problem() -> None:
    with pytest.raises(DefinitionsError) as caught:
        parse_definitions("""
[center]
time_zone = "Mars/Olympus"
short_abandon_s = -1
[queues.vip]
colour = "red"
""")
    problems = " | ".join(caught.value.problems)
    assert "version" in problems and "Mars/Olympus" in problems
    assert "short_abandon_s" in problems and "queues.vip.colour" in problems


def test_fcr_counts_one_agent_no_move_and_no_recontact_within_the_window() -> None:
    clean = answered_after("c1", 10)  # customer c1, resolved at 70 s
    moved = fold("c2", [(0, started()), (0, Queued(queue="billing")), (5, Assigned(agent_id="a1")),
                        (30, Transferred(from_agent_id="a1", to_agent_id="a2")),
                        (60, Resolved(resolved_by="agent"))])
    kpis = figures(clean + moved, DEFINITIONS)
    # c2 moved; and its customer ("c1", as every started() here) came back at 0 s of c2,
    # which is not after c1's resolution: c1 counts.
    assert kpis["fcr"] == Rate(1, 2)


def test_a_new_conversation_from_the_customer_inside_the_window_takes_fcr_back() -> None:
    first = answered_after("c1", 10)
    back = fold("c9", [(3600, started())])  # the same customer, an hour later
    assert figures(first + back, DEFINITIONS)["fcr"] == Rate(0, 1)
    far = fold("c9", [(8 * 86400, started())])  # after the 7-day window
    assert figures(first + far, DEFINITIONS)["fcr"] == Rate(1, 1)


def test_containment_counts_bot_resolutions_that_never_reached_a_human() -> None:
    bot = ConversationStarted(channel="chat", mode="sync", customer_id="b1", queue="billing",
                              started_by="bot")
    contained = fold("b1", [(0, bot), (30, Resolved(resolved_by="bot"))])
    handed = fold("b2", [(0, ConversationStarted(channel="chat", mode="sync", customer_id="b2",
                                                 queue="billing", started_by="bot")),
                         (10, BotHandoffRequested(reason="asked for a human")),
                         (11, Queued(queue="billing")), (20, Assigned(agent_id="a1")),
                         (90, Resolved(resolved_by="agent"))])
    assert figures(contained + handed, DEFINITIONS)["containment"] == Rate(1, 2)
