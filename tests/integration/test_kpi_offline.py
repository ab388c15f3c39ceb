"""`switchboard kpi` against the real broker: the log's facts, a period and scope chosen,
and the same period under two definitions."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from log_support import produce

from schemas.envelope import Envelope, new_event
from schemas.events import EventData
from schemas.events.agent import AgentStatusChanged, LoggedIn, LoggedOut
from schemas.events.conversation import Abandoned, Assigned, ConversationStarted, Queued
from services.kpi.offline import main
from services.runtime.settings import Settings

T0 = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)


def _events(cid: str, queue: str, answered_after: float | None,
            abandoned_after: float | None) -> list[Envelope[EventData]]:
    def at(s: float) -> datetime:
        return T0 + timedelta(seconds=s)
    started = ConversationStarted(channel="chat", mode="sync", customer_id=f"u-{cid}", queue=queue)
    steps: list[Envelope[EventData]] = [
        new_event(started, subject=cid, source="t", time=at(0)),
        new_event(Queued(queue=queue), subject=cid, source="t", time=at(0))]
    if answered_after is not None:
        steps.append(new_event(Assigned(agent_id="a1"), subject=cid, source="t",
                               time=at(answered_after)))
    if abandoned_after is not None:
        steps.append(new_event(Abandoned(), subject=cid, source="t", time=at(abandoned_after)))
    return steps


def test_the_report_folds_the_log_for_a_period_under_each_definition(
        settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    produce(settings, [*_events("k1", "kpi-q", 10, None), *_events("k2", "kpi-q", 25, None),
                       *_events("k3", "kpi-q", None, 40),
                       *_events("k4", "kpi-other", 5, None)])
    strict = tmp_path / "strict.toml"
    strict.write_text('version = "strict"\n[center]\nservice_level_threshold_s = 20\n')
    lenient = tmp_path / "lenient.toml"
    lenient.write_text('version = "lenient"\n[center]\nservice_level_threshold_s = 30\n')

    assert main(settings, ["--from", "2026-05-04T09:00:00Z", "--to", "2026-05-04T10:00:00Z",
                           "--by", "queue", "--interval", "1h", "--format", "json",
                           "--definitions", str(strict)]) == 0
    rows = {r["scope"]: r for r in json.loads(capsys.readouterr().out)}
    q = rows["queue:kpi-q"]
    assert q["definition"] == "strict" and q["kpis"]["volume"] == 3
    assert q["kpis"]["service_level"] == {"value": 1 / 3, "numerator": 1, "denominator": 3}
    assert q["kpis"]["asa"]["n"] == 2 and q["kpis"]["asa"]["mean"] == 17.5

    assert main(settings, ["--from", "2026-05-04T09:00:00Z", "--to", "2026-05-04T10:00:00Z",
                           "--by", "queue", "--format", "json", "--definitions", str(lenient)]) == 0
    lenient_rows = {r["scope"]: r for r in json.loads(capsys.readouterr().out)}
    assert lenient_rows["queue:kpi-q"]["kpis"]["service_level"]["numerator"] == 2

    assert main(settings, ["--from", "2026-05-05T00:00:00Z", "--to", "2026-05-06T00:00:00Z",
                           "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == []


def test_agent_time_comes_from_the_agents_topic_with_the_conversations(
        settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    """An agent available from 11:00, answering a chat at 11:10, logged out at 11:30:
    30 minutes logged in, handling 20 of them (the chat is still held)."""
    day = T0 + timedelta(hours=2)
    agent = "kpi-agent-1"
    produce(settings, [
        new_event(LoggedIn(name=agent, capacity={"chat": 2}), subject=agent, source="t", time=day),
        new_event(AgentStatusChanged(status="available"), subject=agent, source="t", time=day),
        new_event(ConversationStarted(channel="chat", mode="sync", customer_id="u-k9",
                                      queue="kpi-agent-q"), subject="k9", source="t", time=day),
        new_event(Queued(queue="kpi-agent-q"), subject="k9", source="t", time=day),
        new_event(Assigned(agent_id=agent), subject="k9", source="t",
                  time=day + timedelta(minutes=10)),
        new_event(LoggedOut(), subject=agent, source="t", time=day + timedelta(minutes=30))])
    assert main(settings, ["--from", "2026-05-04T11:00:00Z", "--to", "2026-05-04T12:00:00Z",
                           "--by", "agent", "--format", "json"]) == 0
    rows = {r["scope"]: r["kpis"] for r in json.loads(capsys.readouterr().out)}
    kpis = rows[f"agent:{agent}"]
    assert kpis["logged_in_time"] == 1800.0
    assert kpis["occupancy"] == {"value": 2 / 3, "numerator": 1200.0, "denominator": 1800.0}
    assert kpis["slot_utilization"]["chat"]["value"] == 1200.0 / 3600.0


def test_a_bad_definitions_file_is_refused_with_its_problems(
        settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[center]\nshort_abandon_s = -3\n")
    assert main(settings, ["--from", "2026-05-04T09:00:00Z", "--to", "2026-05-04T10:00:00Z",
                           "--definitions", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "bad.toml" in err and "version" in err and "short_abandon_s" in err
