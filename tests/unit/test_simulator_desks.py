"""The live desks' agents: one who let an offer expire is set away by the router (RONA) and
comes back available on their own a while later."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from schemas.envelope import new_event
from schemas.events import agent as ag
from schemas.events import conversation as cv
from services.simulator.desks import DeskConfig, LiveDesks

T0 = datetime(2026, 3, 1, 9, tzinfo=UTC)


def desks_with_one_waiting() -> tuple[LiveDesks, str, str]:
    desks = LiveDesks(DeskConfig(seed=3, rate=50.0, conversations=1, agents=2, warmup_s=0,
                                 missed_offer_back_s=5.0, patience_s=10_000.0), T0)
    desks.begin(T0)
    started = desks.tick(T0 + timedelta(seconds=1))
    conversation = next(e.subject for e in started if isinstance(e.data, cv.Queued))
    return desks, conversation, next(iter(desks.agents))


def statuses(desks: LiveDesks, agent_id: str, until_s: float) -> list[str]:
    out = []
    for second in range(2, int(until_s)):
        out += [e.data.status for e in desks.tick(T0 + timedelta(seconds=second))
                if e.subject == agent_id and isinstance(e.data, ag.AgentStatusChanged)]
    return out


def test_an_agent_who_missed_an_offer_sets_themselves_available_again_later() -> None:
    desks, conversation, agent_id = desks_with_one_waiting()
    expired = new_event(cv.OfferExpired(agent_id=agent_id), subject=conversation,
                        source="router", time=T0 + timedelta(seconds=1))
    desks.observe(expired, T0 + timedelta(seconds=1))
    assert not desks.agents[agent_id].available
    assert statuses(desks, agent_id, 120) == ["available"]
    assert desks.agents[agent_id].available


def test_an_offer_expiring_for_someone_else_leaves_our_agents_alone() -> None:
    desks, conversation, agent_id = desks_with_one_waiting()
    expired = new_event(cv.OfferExpired(agent_id="not-ours"), subject=conversation,
                        source="router", time=T0 + timedelta(seconds=1))
    desks.observe(expired, T0 + timedelta(seconds=1))
    assert all(a.available for a in desks.agents.values())
    assert statuses(desks, agent_id, 120) == []
