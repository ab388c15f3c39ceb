"""Facts grouped into rows per scope and interval, filed by event time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from projections.kpi.rows import rows
from schemas.events.conversation import Assigned, ConversationStarted, Queued
from tests.unit.test_kpi_figures import DEFINITIONS, T0, answered_after, fold


def test_rows_per_queue_and_quarter_hour_hold_their_own_facts() -> None:
    facts = answered_after("c1", 10) + answered_after("c2", 10, queue="vip")
    got = {(r.scope, r.interval.start): r.kpis["volume"] for r in rows(facts, DEFINITIONS,
                                                                      by="queue", size="15m")}
    assert got == {("queue:billing", T0): 1, ("queue:vip", T0): 1}
    assert {r.definition for r in rows(facts, DEFINITIONS, by="center", size="1h")} == {"test.1"}


def test_a_late_answer_is_filed_in_the_interval_it_happened_in() -> None:
    late = fold("c1", [(0, ConversationStarted(channel="chat", mode="sync", customer_id="u",
                                               queue="billing")),
                       (0, Queued(queue="billing")), (20 * 60, Assigned(agent_id="a1"))])
    by_start = {r.interval.start: r.kpis for r in rows(late, DEFINITIONS, by="center", size="15m")}
    assert by_start[T0]["volume"] == 1 and by_start[T0]["asa"].n == 0
    assert by_start[T0 + timedelta(minutes=15)]["asa"].n == 1


def test_agent_rows_hold_only_facts_that_name_an_agent_and_the_range_filters() -> None:
    facts = answered_after("c1", 10)
    agent_rows = rows(facts, DEFINITIONS, by="agent", size="1d")
    assert [r.scope for r in agent_rows] == ["agent:a1"]
    assert agent_rows[0].kpis["volume"] == 0 and agent_rows[0].kpis["asa"].n == 1
    later = datetime(2026, 5, 5, tzinfo=UTC)
    assert rows(facts, DEFINITIONS, by="center", size="1d", start=later) == []
