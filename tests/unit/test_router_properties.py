"""The router's invariants over random traffic, as a pure loop: random agents and
configurations, conversations arriving, agents changing status and answering offers,
customers leaving, agents resolving; after every routing round no conversation is held
twice, no agent is over capacity or mixes channels it may not, nothing routable is
left waiting, and every queued conversation is somewhere; the audit of the whole log
agrees."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from unittest.mock import patch

from hypothesis import given, settings
from hypothesis import strategies as st
from router_events import ROUTER, Event, agent_events, arrival_events, at, ev

from schemas.events.agent import AgentStatusChanged, LoggedIn, LoggedOut
from schemas.events.conversation import Abandoned, OfferAccepted, OfferDeclined, Resolved
from schemas.events.vocabulary import AgentStatus, Channel
from services.router.audit import audit
from services.router.config import RoutingConfig, parse_config
from services.router.emitted import decision_event
from services.router.model import RoutingModel
from services.router.policy import Assign, Decision, Expire, Offer, Overflow, _Desks, decide, pick

SKILLS = ("billing", "tech", "french")
CHANNELS: tuple[Channel, ...] = ("chat", "voice", "messaging", "email")
QUEUES = ("billing", "tech", "email")
LANGUAGES = ("en", "fr")
STATUSES: tuple[AgentStatus, ...] = ("available", "available", "available", "away", "busy")
ANSWER = "switchboard/ingest/test"
PLACED_PHASES = frozenset({"queued", "offered", "assigned", "resolved", "abandoned"})


@st.composite
def configs(draw: st.DrawFn) -> RoutingConfig:
    """A valid configuration with drawn strategies, timeouts, rings, overflow and mixing."""
    lines = ["[routing]", f"max_async = {draw(st.integers(1, 8))}"]
    if draw(st.booleans()):
        lines.append("mixing = { voice = ['voice'], chat = ['chat', 'voice'] }")
    lines += ["[queues.default]",
              f"strategy = {draw(st.sampled_from(['longest_idle', 'least_occupied', 'most_proficient']))!r}",
              f"offer_timeout_s = {draw(st.sampled_from([3, 10, 30]))}",
              f"decline_exclusion_s = {draw(st.sampled_from([0, 8, 60]))}"]
    if draw(st.booleans()):
        lines.append("sla_at_risk_after_s = 20")
    if draw(st.booleans()):
        lines += ["[[queues.default.relax]]", "after_s = 15", "lower_by = 3",
                  "[[queues.default.relax]]", "after_s = 40", "drop = ['french']"]
    lines += ["[queues.email]", f"auto_accept = {str(draw(st.booleans())).lower()}"]
    if draw(st.booleans()):
        lines += ["[queues.billing]", "overflow = { after_s = 45, to = 'tech' }"]
    return parse_config("\n".join(lines))


skills = st.dictionaries(st.sampled_from(SKILLS), st.integers(1, 10), max_size=3)
agents = st.fixed_dictionaries({
    "skills": skills,
    "capacity": st.dictionaries(st.sampled_from(CHANNELS), st.integers(0, 10), max_size=4),
    "languages": st.lists(st.sampled_from(LANGUAGES), min_size=1, max_size=2, unique=True),
    "status": st.sampled_from(STATUSES),
})
arrivals = st.fixed_dictionaries({
    "channel": st.sampled_from(CHANNELS),
    "queue": st.sampled_from(QUEUES),
    "skills": st.dictionaries(st.sampled_from(SKILLS), st.integers(1, 6), max_size=2),
    "priority": st.integers(0, 5),
    "language": st.sampled_from(LANGUAGES),
    "customer": st.sampled_from(("k1", "k2", "k3", "k4")),
})
steps = st.lists(st.tuples(st.integers(1, 12), st.lists(arrivals, max_size=3)), min_size=1, max_size=14)


@dataclass
class Run:
    """The model, the log written so far, and every conversation ever queued."""

    config: RoutingConfig
    model: RoutingModel
    log: list[Event] = field(default_factory=list)
    queued: set[str] = field(default_factory=set)

    def write(self, event: Event) -> None:
        """Append `event` to the log and fold it; the loop only writes valid events."""
        self.log.append(event)
        assert self.model.apply(event) is None, event

    def route(self, now: datetime) -> None:
        """One routing round: passes until one makes no expiry or overflow (those put a
        conversation back in a queue, for the next pass to place)."""
        for _ in range(3):
            decisions = decide(self.model, "default", now)
            assert decisions == decide_weighing_everyone(self.model, now)
            made = [decision_event(d, self.model, source=ROUTER, now=now) for d in decisions]
            for event, pending in made:
                self.model.expect(event.id, pending)
            for decision, (event, _) in zip(decisions, made, strict=True):
                if isinstance(decision, (Offer, Assign)):
                    check_mixing(self.model, self.config, decision.conversation_id, decision.agent_id)
                self.write(event)
            assert self.model.pending == {}
            if not any(isinstance(d, (Expire, Overflow)) for d in decisions):
                return
        raise AssertionError("a round did not settle in three passes")


def decide_weighing_everyone(model: RoutingModel, now: datetime) -> list[Decision]:
    """The pass with longest-idle choosing by weighing every candidate (the plain
    definition), instead of walking the cached idle order to the first who fits."""
    def weigh_all(desks: _Desks, conv: Any, skills: dict[str, int], skill: str | None,
                  excluded: set[str], now: datetime) -> str | None:
        fits = [a for a in desks._candidates(skill)
                if a.agent_id not in excluded and desks._fits(a, conv, skills)]
        return pick(fits, desks.config.policy(conv.queue), conv, desks, now) if fits else None

    with patch.object(_Desks, "_longest_idle", weigh_all):
        return decide(model, "default", now)


def load_of(model: RoutingModel, agent_id: str) -> list[tuple[str, str]]:
    """(conversation, channel) for everything the agent holds or has been offered."""
    agent = model.agents[agent_id]
    held = [(cid, channel) for channel, convs in agent.holding.items() for cid in convs]
    return held + [(cid, model.conversations[cid].channel) for cid in agent.offered]


def check_mixing(model: RoutingModel, config: RoutingConfig, cid: str, agent_id: str) -> None:
    """A new conversation goes to an agent only if nothing the agent has forbids its channel."""
    load = load_of(model, agent_id)
    if cid in {c for c, _ in load}:
        return
    channel = model.conversations[cid].channel
    for other, held in load:
        assert channel not in config.routing.mixing.get(held, ()), (agent_id, cid, other)


def check_invariants(run: Run, now: datetime) -> None:
    """After a round: nobody held twice, nobody over capacity (offers count), nothing
    routable left, every queued conversation somewhere."""
    model, config = run.model, run.config
    holders: dict[str, str] = {}
    for agent in model.agents.values():
        for held in agent.holding.values():
            for cid in held:
                assert cid not in holders, f"{cid} held by {holders[cid]} and {agent.agent_id}"
                holders[cid] = agent.agent_id
                assert model.conversations[cid].holder == agent.agent_id
        load = Counter(channel for _, channel in load_of(model, agent.agent_id))
        for channel, used in load.items():
            assert used <= config.capacity(agent.capacity, channel), (agent, channel)
    again = [d for d in decide(model, "default", now) if isinstance(d, (Offer, Assign))]
    assert again == [], f"routable but left waiting: {again}"
    for cid in run.queued:
        assert model.conversations[cid].phase in PLACED_PHASES, model.conversations[cid]


def answer(run: Run, data: st.DataObject, second: float) -> None:
    """Agents accept or decline some open offers; customers leave and agents resolve some."""
    for cid, conv in sorted(run.model.conversations.items()):
        if conv.phase == "offered" and not conv.offer_accepted and conv.offered_agent_id:
            choice = data.draw(st.sampled_from(("accept", "decline", "wait", "leave")))
            agent = conv.offered_agent_id
            if choice == "accept":
                run.write(ev(OfferAccepted(agent_id=agent), cid, second, source=ANSWER))
            elif choice == "decline":
                run.write(ev(OfferDeclined(agent_id=agent), cid, second, source=ANSWER))
            elif choice == "leave":
                run.write(ev(Abandoned(), cid, second, source=ANSWER))
        elif conv.phase == "assigned" and data.draw(st.integers(0, 3)) == 0:
            run.write(ev(Resolved(resolved_by="agent"), cid, second, source=ANSWER))
        elif conv.phase == "queued" and data.draw(st.integers(0, 19)) == 0:
            run.write(ev(Abandoned(), cid, second, source=ANSWER))


def change_an_agent(run: Run, data: st.DataObject, second: float) -> None:
    """Maybe one agent changes status, logs out or logs back in with the same profile."""
    agent_id = data.draw(st.sampled_from(sorted(run.model.agents)))
    agent = run.model.agents[agent_id]
    if not agent.logged_in:
        run.write(ev(LoggedIn(name=agent_id, skills=agent.skills, capacity=agent.capacity,
                              languages=list(agent.languages)), agent_id, second, source=ANSWER))
        return
    move = data.draw(st.sampled_from(("stay", "log out", "status", "status")))
    if move == "log out":
        run.write(ev(LoggedOut(), agent_id, second, source=ANSWER))
    elif move == "status":
        status = data.draw(st.sampled_from(STATUSES))
        run.write(ev(AgentStatusChanged(status=status), agent_id, second, source=ANSWER))


@settings(max_examples=100, deadline=None)
@given(configs(), st.lists(agents, min_size=1, max_size=5), steps, st.data())
def test_routing_keeps_its_invariants_over_random_traffic(
        config: RoutingConfig, desks: list[dict[str, Any]], traffic: list[tuple[int, list[dict[str, Any]]]],
        data: st.DataObject) -> None:
    run = Run(config, RoutingModel(config))
    for n, desk in enumerate(desks):
        for event in agent_events(f"a{n}", **desk):
            run.write(event)
    second, arrived = 0, 0
    for dt, arriving in traffic:
        second += dt
        change_an_agent(run, data, second)
        for arrival in arriving:
            cid = f"c{arrived}"
            arrived += 1
            for event in arrival_events(cid, second=second, **arrival):
                run.write(event)
            run.queued.add(cid)
        answer(run, data, second)
        run.route(at(second))
        check_invariants(run, at(second))
    report = audit(run.log, config, "default", bound_s=0.0, end=at(second), check_every=timedelta(0))
    assert report.violations() == []
    assert report.rejected_decisions == {} and report.duplicate_decisions == 0
    assert report.decisions == sum(1 for e in run.log if e.source == ROUTER)
