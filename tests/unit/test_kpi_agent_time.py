"""Agent-time KPIs, backlog and async engagement on a hand-built log with known answers.

One agent logs in at 9:00 offering 3 messaging slots and 1 chat slot, available. It
gets messaging conversation m1 at 9:10 and m2 at 9:20, resolves m1 at 9:40 and logs
out at 10:00 still holding m2. In m1 it answers at 9:15 (5 minutes after the
assignment) and, to a customer message at 9:20, at 9:22.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from projections.kpi.definitions import parse_definitions
from projections.kpi.figures import Rate
from projections.kpi.log_fold import KpiInputs, fold_log
from projections.kpi.rows import Row, rows
from schemas.envelope import Envelope, new_event
from schemas.events import EventData
from schemas.events.agent import (
    AgentStatusChanged,
    CapacityChanged,
    LoggedIn,
    LoggedOut,
    SkillsChanged,
)
from schemas.events.conversation import (
    Assigned,
    ConversationStarted,
    MessageReceived,
    MessageSent,
    Queued,
    Resolved,
    Transferred,
)
from tests.unit.test_kpi_figures import T0

MIN = 60.0
DEFINITIONS = parse_definitions("""
version = "cost.1"
[center]
agent_hourly_cost = 30
""")


def _ev(minute: float, subject: str, data: Any, n: int) -> Envelope[EventData]:
    event: Envelope[EventData] = new_event(data, subject=subject, source="test",
                                           time=T0 + timedelta(minutes=minute), id=f"{subject}-{n}")
    return event


def _started() -> ConversationStarted:
    return ConversationStarted(channel="messaging", mode="async", customer_id="u", queue="care")


AGENT = [(0, LoggedIn(name="a1", capacity={"messaging": 3, "chat": 1})),
         (0, AgentStatusChanged(status="available")), (60, LoggedOut())]
M1 = [(0, _started()), (0, Queued(queue="care")), (10, Assigned(agent_id="a1")),
      (12, MessageReceived(message_id="x1")), (15, MessageSent(message_id="r1", author_id="a1")),
      (20, MessageReceived(message_id="x2")), (22, MessageSent(message_id="r2", author_id="a1")),
      (40, Resolved(resolved_by="agent"))]
M2 = [(0, _started()), (0, Queued(queue="care")), (20, Assigned(agent_id="a1"))]


def _log(order: str) -> list[tuple[Envelope[EventData], None]]:
    streams = {"a": [_ev(m, "a1", d, n) for n, (m, d) in enumerate(AGENT)],
               "1": [_ev(m, "m1", d, n) for n, (m, d) in enumerate(M1)],
               "2": [_ev(m, "m2", d, n) for n, (m, d) in enumerate(M2)]}
    merged: list[Envelope[EventData]] = []
    for key in order:  # each subject's own events stay in order, the topics interleave
        merged.append(streams[key].pop(0))
    return [(event, None) for event in merged]


IN_ORDER = "a" + "12" + "a" + "1" * 7 + "22" + "a"
AGENT_LAST = "1" * 8 + "222" + "aaa"


def _inputs(order: str = IN_ORDER) -> KpiInputs:
    return fold_log(_log(order))


def test_the_hour_holds_the_agent_time_known_by_hand() -> None:
    (row,) = rows(_inputs().facts, DEFINITIONS, by="agent", size="1h", points=_inputs().points)
    k = row.kpis
    assert k["logged_in_time"] == 60 * MIN
    assert k["occupancy"] == Rate(50 * MIN, 60 * MIN)  # handling 9:10-10:00, idle 9:00-9:10
    assert k["slot_utilization"] == {
        "chat": Rate(0.0, 60 * MIN),
        "messaging": Rate(10 * MIN * 1 + 20 * MIN * 2 + 20 * MIN * 1, 3 * 60 * MIN)}
    assert k["conversations_per_agent_hour"] == Rate(1, 1.0)  # m1's hold ended
    assert k["cost_per_resolved"] == Rate(30.0, 1)


def test_agent_time_is_cut_at_interval_boundaries() -> None:
    by_start = {r.interval.start: r.kpis for r in rows(_inputs().facts, DEFINITIONS,
                                                         by="center", size="15m",
                                                         points=_inputs().points)}
    assert by_start[T0]["occupancy"] == Rate(5 * MIN, 15 * MIN)
    assert by_start[T0 + timedelta(minutes=45)]["logged_in_time"] == 15 * MIN
    assert sum(k["logged_in_time"] for k in by_start.values()) == 60 * MIN


def test_agent_time_does_not_depend_on_how_the_two_topics_interleaved() -> None:
    def agent_rows(order: str) -> list[Row]:
        inputs = _inputs(order)
        return rows(inputs.facts, DEFINITIONS, by="agent", size="15m", points=inputs.points)
    assert agent_rows(AGENT_LAST) == agent_rows(IN_ORDER)
    assert len(agent_rows(IN_ORDER)) == 4


def test_backlog_counts_what_is_open_at_each_interval_end() -> None:
    by_start = {r.interval.start: r.kpis["backlog"]
                for r in rows(_inputs().facts, DEFINITIONS, by="queue", size="15m")}
    assert by_start[T0] == 2 and by_start[T0 + timedelta(minutes=30)] == 1  # m1 resolved 9:40
    assert all("backlog" not in r.kpis for r in rows(_inputs().facts, DEFINITIONS, by="agent",
                                                        size="1h"))


def test_async_engagement_sums_the_agent_turns_of_the_hold() -> None:
    (row,) = rows(_inputs().facts, DEFINITIONS, by="center", size="1h")
    engaged = row.kpis["async_engagement"]
    assert engaged.n == 1 and engaged.mean == 5 * MIN + 2 * MIN  # 9:10->9:15, 9:20->9:22
    assert row.kpis["aht"].mean == 30 * MIN


def test_a_transfer_at_one_instant_moves_the_load_and_counts_once() -> None:
    """a1 holds t1 from 9:00, transfers it to a2 at 9:30 (both logged in, available)."""
    log = [_ev(0, a, d, n) for a in ("a1", "a2")
           for n, d in enumerate([LoggedIn(name=a, capacity={"chat": 1}),
                                  AgentStatusChanged(status="available")])]
    log += [_ev(m, "t1", d, n) for n, (m, d) in enumerate([
        (0, ConversationStarted(channel="chat", mode="sync", customer_id="u", queue="care")),
        (0, Queued(queue="care")), (0, Assigned(agent_id="a1")),
        (30, Transferred(to_agent_id="a2")), (30, Assigned(agent_id="a2"))])]
    inputs = fold_log([(e, None) for e in log])
    got = {r.scope: r.kpis for r in rows(inputs.facts, DEFINITIONS, by="agent", size="1h",
                                          points=inputs.points,
                                          end=T0 + timedelta(hours=1))}
    # logged in with no logout: time counts up to each agent's last known moment
    assert got["agent:a1"]["occupancy"] == Rate(30 * MIN, 30 * MIN)
    assert got["agent:a1"]["conversations_per_agent_hour"].numerator == 1
    assert got["agent:a2"]["logged_in_time"] == 30 * MIN
    assert got["agent:a2"]["occupancy"] == Rate(0.0, 30 * MIN)


def test_a_change_of_skills_makes_no_point_and_a_change_of_capacity_does() -> None:
    log = [_ev(0, "a1", LoggedIn(name="a1", capacity={"chat": 1}), 0),
           _ev(1, "a1", SkillsChanged(skills={"billing": 3}), 1),
           _ev(2, "a1", CapacityChanged(capacity={"chat": 2}), 2)]
    points = fold_log([(e, None) for e in log]).points
    assert [(p.at - T0, p.capacity) for p in points] == [
        (timedelta(0), (("chat", 1),)), (timedelta(minutes=2), (("chat", 2),))]


def test_an_agents_points_of_one_instant_keep_its_log_order_not_their_ids() -> None:
    login = new_event(LoggedIn(name="a9", capacity={"chat": 1}), subject="a9", source="test",
                      time=T0, id="zz-login")  # sorts after the status change by id
    ready = new_event(AgentStatusChanged(status="available"), subject="a9", source="test",
                      time=T0, id="aa-ready")
    out = new_event(LoggedOut(), subject="a9", source="test", time=T0 + timedelta(minutes=10),
                    id="mm-out")
    inputs = fold_log([(login, None), (ready, None), (out, None)])
    (row,) = rows(inputs.facts, DEFINITIONS, by="agent", size="1h", points=inputs.points)
    assert row.kpis["occupancy"] == Rate(0.0, 10 * MIN)  # available, idle, all ten minutes
