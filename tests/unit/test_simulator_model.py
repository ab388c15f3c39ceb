"""The traffic model: deterministic, valid, lifecycle-consistent, statistically right."""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import replace
from datetime import datetime

import pytest

from schemas.codec import decode, encode
from schemas.envelope import Envelope
from schemas.events import EventData
from schemas.topics import Family, family_of
from services.simulator.config import BOT_CHANNELS, DEFAULT_CHANNEL_MIX, SimulationConfig
from services.simulator.lifecycle import lifecycle_violations
from services.simulator.model import offset_of, simulate

HOUR = SimulationConfig(seed=7, rate=0.3, duration=3600, agents=50)


@pytest.fixture(scope="module")
def hour() -> list[Envelope[EventData]]:
    return list(simulate(HOUR))


def by_type(events: list[Envelope[EventData]], name: str) -> list[Envelope[EventData]]:
    return [e for e in events if e.type == f"cc.{name}.v1"]


def test_same_seed_gives_the_identical_stream() -> None:
    config = SimulationConfig(seed=3, duration=900)
    first = [encode(e) for e in simulate(config)]
    assert first == [encode(e) for e in simulate(config)]
    assert len(first) > 500


def test_another_seed_or_start_gives_another_stream() -> None:
    config = SimulationConfig(seed=3, duration=900)
    ids = [e.id for e in simulate(config)]
    assert ids != [e.id for e in simulate(replace(config, seed=4))]
    later = replace(config, start=datetime.fromisoformat("2025-02-01T00:00:00+00:00"))
    assert set(ids).isdisjoint(e.id for e in simulate(later))


def test_every_event_survives_encode_and_decode(hour: list[Envelope[EventData]]) -> None:
    for event in hour:
        assert decode(encode(event)) == event
    assert len({e.id for e in hour}) == len(hour)


def test_events_come_in_time_order_within_the_duration(hour: list[Envelope[EventData]]) -> None:
    offsets = [offset_of(HOUR, e) for e in hour]
    assert offsets == sorted(offsets)
    assert 0 <= offsets[0] and offsets[-1] <= HOUR.duration


def test_an_hour_with_fifty_agents_is_lifecycle_consistent(
        hour: list[Envelope[EventData]]) -> None:
    assert lifecycle_violations(hour) == []
    types = Counter(e.type.split(".")[2] for e in hour)
    for expected in ("started", "queued", "offered", "assigned", "resolved", "abandoned",
                     "message_received", "message_sent", "bot_handoff_requested",
                     "offer_declined", "offer_expired", "transferred", "escalated",
                     "status_changed", "survey_sent", "survey_answered", "logged_in",
                     "logged_out"):
        assert types[expected] > 0, expected


@pytest.mark.parametrize("overrides", [
    {"drain": True}, {"abandonment": 5.0, "rate": 0.8}, {"agents": 5, "rate": 0.5},
    {"route": False}, {"transfer_share": 0.3, "escalation_share": 0.3, "reopen_share": 0.5},
])
def test_stressed_runs_stay_lifecycle_consistent(overrides: dict[str, object]) -> None:
    config = replace(HOUR, seed=11, duration=1800, **overrides)  # type: ignore[arg-type]
    assert lifecycle_violations(simulate(config)) == []


def test_drained_run_ends_every_conversation() -> None:
    events = list(simulate(replace(HOUR, duration=1200, drain=True)))
    last: dict[str, str] = {}
    for event in events:
        if family_of(event.type) is Family.CONVERSATION and not event.type.startswith(
                "cc.conversation.survey"):
            last[event.subject] = event.type
    stuck = [t for t in last.values() if t not in (
        "cc.conversation.resolved.v1", "cc.conversation.abandoned.v1")]
    assert len(stuck) <= 0.01 * len(last)
    assert len(by_type(events, "agent.logged_out")) == HOUR.agents


def test_without_routing_nothing_is_offered_or_assigned() -> None:
    events = list(simulate(replace(HOUR, duration=900, route=False)))
    assert not by_type(events, "conversation.offered")
    assert not by_type(events, "conversation.assigned")
    assert by_type(events, "conversation.queued")


def test_arrivals_are_poisson_at_the_configured_rate() -> None:
    config = SimulationConfig(seed=5, rate=2.0, duration=5000, agents=0, abandonment=0)
    starts = [offset_of(config, e) for e in simulate(config)
              if e.type == "cc.conversation.started.v1"]
    expected = config.rate * config.duration
    assert abs(len(starts) - expected) < 4 * expected ** 0.5
    gaps = [b - a for a, b in zip(starts, starts[1:], strict=False)]
    # An exponential distribution has its standard deviation equal to its mean.
    assert statistics.mean(gaps) == pytest.approx(1 / config.rate, rel=0.05)
    assert statistics.stdev(gaps) / statistics.mean(gaps) == pytest.approx(1.0, abs=0.06)


def test_channel_mix_and_bot_shares_match_the_config() -> None:
    config = SimulationConfig(seed=9, rate=2.0, duration=5000, agents=0, abandonment=0,
                              drain=True)
    events = list(simulate(config))
    started = by_type(events, "conversation.started")
    mix = Counter(e.data.channel for e in started)  # type: ignore[attr-defined]
    total = sum(DEFAULT_CHANNEL_MIX.values())
    for channel, weight in DEFAULT_CHANNEL_MIX.items():
        assert mix[channel] / len(started) == pytest.approx(weight / total, abs=0.015), channel
    on_bot_channels = [e for e in started if e.data.channel in BOT_CHANNELS]  # type: ignore[attr-defined]
    bot_first = {e.subject for e in on_bot_channels
                 if e.data.started_by == "bot"}  # type: ignore[attr-defined]
    assert len(bot_first) / len(on_bot_channels) == pytest.approx(
        config.bot_first_share, abs=0.03)
    contained = {e.subject for e in by_type(events, "conversation.resolved")
                 if e.data.resolved_by == "bot"}  # type: ignore[attr-defined]
    assert contained <= bot_first
    assert len(contained) / len(bot_first) == pytest.approx(config.containment_share, abs=0.03)


def test_agents_log_in_with_skills_and_per_channel_capacity(
        hour: list[Envelope[EventData]]) -> None:
    logins = [e.data for e in by_type(hour, "agent.logged_in")]
    assert len(logins) == HOUR.agents
    for login in logins:
        cap = login.capacity  # type: ignore[attr-defined]
        assert cap.get("voice", 1) == 1 and 2 <= cap["chat"] <= 3
        assert cap.get("messaging", 8) <= 8 and cap.get("email", 5) == 5
        assert login.skills and login.languages[0] == "en"  # type: ignore[attr-defined]
    assert sum("messaging" in login.capacity for login in logins) >= HOUR.agents / 2  # type: ignore[attr-defined]


def test_survey_answers_are_in_range_and_mostly_satisfied() -> None:
    events = list(simulate(replace(HOUR, seed=2, survey_share=1.0, survey_response_share=1.0)))
    answers = [e.data for e in by_type(events, "conversation.survey_answered")]
    assert len(answers) > 200
    csat = [a.csat for a in answers]  # type: ignore[attr-defined]
    assert all(1 <= c <= 5 for c in csat) and 3.6 < statistics.mean(csat) < 4.6
    assert all(0 <= a.nps <= 10 for a in answers if a.nps is not None)  # type: ignore[attr-defined]
    assert all(1 <= a.ces <= 7 for a in answers if a.ces is not None)  # type: ignore[attr-defined]


def test_config_refuses_nonsense() -> None:
    with pytest.raises(ValueError, match="timezone"):
        SimulationConfig(start=datetime(2025, 1, 1))  # noqa: DTZ001
    with pytest.raises(ValueError, match="containment_share"):
        SimulationConfig(containment_share=1.5)
    with pytest.raises(ValueError, match="unknown channels"):
        SimulationConfig(channel_mix={"fax": 1.0})
