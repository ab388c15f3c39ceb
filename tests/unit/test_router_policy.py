"""The routing policy, given a model folded from events -> then the decisions of one pass:
who may get an offer, capacity and mixing, order, boosts, strategies, previous agent,
exclusions, bullseye relaxation, overflow, auto-accept, offer answers, pending decisions,
domains, and the deterministic ids of the events that carry the decisions."""

from __future__ import annotations

from typing import Any

import pytest
from router_events import ROUTER, Event, agent_events, arrival_events, at, ev, model_of

from schemas.events.agent import AgentStatusChanged, LoggedOut
from schemas.events.conversation import (
    Assigned,
    BotHandoffRequested,
    ConversationStarted,
    Escalated,
    MessageReceived,
    OfferAccepted,
    OfferDeclined,
    Offered,
    OfferExpired,
    Queued,
    Resolved,
    Transferred,
)
from schemas.events.vocabulary import AgentStatus, Channel, Sentiment
from schemas.topics import Family, family_of
from services.router.config import parse_config
from services.router.emitted import decision_event
from services.router.model import Pending, RoutingModel, domains_serving, serves, shared_with
from services.router.policy import (
    Assign,
    Decision,
    Expire,
    Offer,
    Overflow,
    SetAway,
    decide,
    effective_priority,
    required_skills,
)


def placed(model: RoutingModel, second: float, domain: str = "default") -> dict[str, str]:
    """Conversation -> agent for every Offer and Assign of one pass at `second`."""
    return {d.conversation_id: d.agent_id for d in decide(model, domain, at(second))
            if isinstance(d, (Offer, Assign))}


def carry_out(model: RoutingModel, decisions: list[Decision], second: float) -> list[Event]:
    """Write `decisions` as the router would and read them back into the model."""
    events = [decision_event(d, model, source=ROUTER, now=at(second))[0] for d in decisions]
    for event in events:
        assert model.apply(event) is None
    return events


def holding(conversation_id: str, agent_id: str, channel: Channel = "chat",
            second: float = 1) -> list[Event]:
    """A conversation that arrives and is assigned to `agent_id`."""
    return [*arrival_events(conversation_id, channel=channel, second=second),
            ev(Assigned(agent_id=agent_id), conversation_id, second, source=ROUTER)]


# Who may get an offer.

@pytest.mark.parametrize(("agent", "offered"), [
    (dict(skills={"billing": 5}), True),
    (dict(skills={"billing": 9, "tech": 2}), True),
    (dict(skills={"billing": 4}), False),
    (dict(skills={"tech": 9}), False),
    (dict(skills={"billing": 5}, status="away"), False),
    (dict(skills={"billing": 5}, status="busy"), False),
    (dict(skills={"billing": 5}, status="after_contact_work"), False),
    (dict(skills={"billing": 5}, languages=("fr",)), False),
    (dict(skills={"billing": 5}, languages=("fr", "en")), True),
], ids=["skill-at-minimum", "skill-above", "skill-below", "skill-missing", "away", "busy",
        "after-contact-work", "other-language", "one-of-languages"])
def test_only_available_agents_with_the_skills_and_language_get_the_offer(
        agent: dict[str, Any], offered: bool) -> None:
    model = model_of([*agent_events("a1", **agent), *arrival_events("c1", skills={"billing": 5})])
    assert placed(model, 1) == ({"c1": "a1"} if offered else {})


def test_a_logged_out_agent_gets_no_offer() -> None:
    model = model_of([*agent_events("a1"), ev(LoggedOut(), "a1", 1), *arrival_events("c1", second=2)])
    assert placed(model, 3) == {}


@pytest.mark.parametrize(("language", "agent"), [("en", "a1"), ("fr", "a2"), ("de", None)])
def test_the_conversation_language_picks_the_agent(language: str, agent: str | None) -> None:
    model = model_of([*agent_events("a1", languages=("en",)),
                      *agent_events("a2", languages=("fr",), second=1),
                      *arrival_events("c1", language=language, second=2)])
    assert placed(model, 3) == ({"c1": agent} if agent else {})


# Capacity.

@pytest.mark.parametrize(("config", "capacity", "channel", "arrivals", "offers"), [
    ("", {"chat": 3}, "chat", 3, 1),
    ("", {"voice": 2}, "voice", 2, 1),
    ("", {"messaging": 3}, "messaging", 5, 3),
    ("", {"messaging": 20}, "messaging", 10, 8),
    ("[routing]\nmax_async = 2\n", {"messaging": 5}, "messaging", 4, 2),
    ("", {}, "email", 7, 5),
    ("", {"email": 0}, "email", 2, 0),
], ids=["chat-one-at-a-time", "voice-one-at-a-time", "async-stated", "async-max", "configured-max",
        "default-capacity", "zero-capacity"])
def test_one_pass_fills_an_agent_up_to_its_capacity(config: str, capacity: dict[str, int], channel: Channel,
                                                   arrivals: int, offers: int) -> None:
    events = [e for n in range(arrivals) for e in arrival_events(f"c{n}", channel=channel, second=1 + n)]
    model = model_of([*agent_events("a1", capacity=capacity), *events], config)
    assert list(placed(model, 20).values()) == ["a1"] * offers


@pytest.mark.parametrize("answer", ["open", "accepted", "assigned"])
def test_open_offers_and_held_conversations_count_against_capacity(answer: str) -> None:
    model = model_of([*agent_events("a1", capacity={"messaging": 2}),
                      *arrival_events("c1", channel="messaging", second=1),
                      *arrival_events("c2", channel="messaging", second=2)])
    carry_out(model, decide(model, "default", at(3)), 3)
    if answer != "open":
        model.apply(ev(OfferAccepted(agent_id="a1"), "c1", 4))
        model.apply(ev(OfferAccepted(agent_id="a1"), "c2", 4))
    if answer == "assigned":
        carry_out(model, decide(model, "default", at(5)), 5)
        assert {c: s.phase for c, s in model.conversations.items()} == {"c1": "assigned", "c2": "assigned"}
    for event in arrival_events("c3", channel="messaging", second=6):
        model.apply(event)
    assert "c3" not in placed(model, 7)


def test_a_released_conversation_frees_the_slot() -> None:
    model = model_of([*agent_events("a1"), *holding("c1", "a1"), *arrival_events("c2", second=2)])
    assert placed(model, 3) == {}
    model.apply(ev(Resolved(resolved_by="agent"), "c1", 4))
    assert placed(model, 5) == {"c2": "a1"}


# Mixing channels.

@pytest.mark.parametrize(("mixing", "held", "new", "offered"), [
    ("", "voice", "chat", False),
    ("", "chat", "voice", False),
    ("", "voice", "messaging", True),
    ("", "messaging", "voice", True),
    ("", "messaging", "chat", True),
    ("mixing = { voice = ['voice'] }", "voice", "chat", True),
    ("mixing = { messaging = ['voice'] }", "messaging", "voice", False),
    ("mixing = { voice = ['voice', 'chat', 'messaging'] }", "voice", "messaging", False),
], ids=["no-chat-on-a-call", "no-call-in-a-chat", "messaging-on-a-call", "call-while-messaging",
        "chat-while-messaging", "chat-on-a-call-allowed", "no-call-while-messaging",
        "no-messaging-on-a-call"])
def test_what_an_agent_holds_decides_which_channels_may_be_added(
        mixing: str, held: Channel, new: Channel, offered: bool) -> None:
    capacity = {"voice": 1, "chat": 1, "messaging": 4}
    model = model_of([*agent_events("a1", capacity=capacity), *holding("c1", "a1", held),
                      *arrival_events("c2", channel=new, second=2)], f"[routing]\n{mixing}\n")
    assert placed(model, 3) == ({"c2": "a1"} if offered else {})


# Order: priority, then wait.

@pytest.mark.parametrize(("first", "second", "winner"), [
    (dict(priority=1, second=1), dict(priority=5, second=2), "c2"),
    (dict(priority=3, second=1), dict(priority=3, second=2), "c1"),
    (dict(priority=3, second=2), dict(priority=3, second=1), "c2"),
    (dict(priority=3, second=1), dict(priority=3, second=1), "c1"),
], ids=["higher-priority", "longer-wait", "longer-wait-later-id", "tie-by-id"])
def test_the_highest_priority_then_the_longest_wait_goes_first(
        first: dict[str, Any], second: dict[str, Any], winner: str) -> None:
    model = model_of([*agent_events("a1"), *arrival_events("c1", **first),
                      *arrival_events("c2", **second)])
    assert placed(model, 10) == {winner: "a1"}


def test_negative_sentiment_raises_the_priority() -> None:
    bot = ConversationStarted(channel="chat", mode="sync", customer_id="k", queue="billing",
                              started_by="bot")
    upset = [ev(bot, "c2", 2), ev(BotHandoffRequested(reason="angry", sentiment="negative"), "c2", 2),
             ev(Queued(queue="billing", priority=0), "c2", 2)]
    model = model_of([*agent_events("a1"), *arrival_events("c1", priority=1, second=1), *upset])
    assert effective_priority(model.conversations["c2"], model.config, at(3)) == 2
    assert placed(model, 3) == {"c2": "a1"}


@pytest.mark.parametrize(("now", "winner"), [(59, "c1"), (60, "c2"), (89, "c2"), (90, "c1")])
def test_a_wait_at_sla_risk_raises_the_priority(now: float, winner: str) -> None:
    config = "[queues.default]\nsla_at_risk_after_s = 60\n"
    model = model_of([*agent_events("a1"), *arrival_events("c2", priority=0, second=0),
                      *arrival_events("c1", priority=2, second=30)], config)
    assert placed(model, now) == {winner: "a1"}


@pytest.mark.parametrize(("sentiment", "waited", "expected"), [
    ("neutral", 0, 4), ("negative", 0, 6), ("neutral", 100, 7), ("negative", 100, 9),
])
def test_effective_priority_adds_the_configured_boosts(sentiment: Sentiment, waited: float,
                                                       expected: int) -> None:
    config = parse_config("[queues.default]\nsla_at_risk_after_s = 100\n")
    bot = ConversationStarted(channel="chat", mode="sync", customer_id="k", queue="billing",
                              started_by="bot")
    model = model_of([ev(bot, "c1"), ev(BotHandoffRequested(reason="", sentiment=sentiment), "c1"),
                      ev(Queued(queue="billing", priority=4), "c1")], config)
    assert effective_priority(model.conversations["c1"], config, at(waited)) == expected


# Strategies.

def strategy_world(strategy: str) -> RoutingModel:
    """a1 idle longest, a2 most proficient, a3 least occupied; one messaging conversation."""
    capacity = {"messaging": 4}
    return model_of([
        *agent_events("a1", skills={"billing": 2}, capacity=capacity, second=0),
        *agent_events("a2", skills={"billing": 9}, capacity=capacity, second=10),
        *agent_events("a3", skills={"billing": 5}, capacity=capacity, second=20),
        *holding("h1", "a1", "messaging", 0), *holding("h2", "a1", "messaging", 0),
        *holding("h3", "a2", "messaging", 10),
        *arrival_events("c1", channel="messaging", skills={"billing": 1}, second=30),
    ], f"[queues.default]\nstrategy = '{strategy}'\n")


@pytest.mark.parametrize(("strategy", "agent"), [
    ("longest_idle", "a1"), ("most_proficient", "a2"), ("least_occupied", "a3"),
])
def test_each_strategy_picks_its_agent(strategy: str, agent: str) -> None:
    assert placed(strategy_world(strategy), 31) == {"c1": agent}


def test_longest_idle_counts_from_the_last_release() -> None:
    model = model_of([*agent_events("a1", second=0), *agent_events("a2", second=10),
                      *holding("h1", "a1", second=11), ev(Resolved(resolved_by="agent"), "h1", 20),
                      *arrival_events("c1", second=30)])
    assert placed(model, 31) == {"c1": "a2"}


@pytest.mark.parametrize("strategy", ["longest_idle", "least_occupied", "most_proficient"])
def test_ties_go_to_the_agent_idle_longest_then_by_id(strategy: str) -> None:
    config = f"[queues.default]\nstrategy = '{strategy}'\n"
    same = model_of([*agent_events("a2"), *agent_events("a1"), *arrival_events("c1", second=1)], config)
    assert placed(same, 2) == {"c1": "a1"}
    earlier = model_of([*agent_events("a1", second=1), *agent_events("a2", second=0),
                        *arrival_events("c1", second=2)], config)
    assert placed(earlier, 3) == {"c1": "a2"}


def test_least_occupied_counts_an_idle_agent_on_default_capacity_as_free() -> None:
    """a1 stated no capacity (the defaults apply); a2 holds one of eight."""
    model = model_of([*agent_events("a1", second=0), *agent_events("a2", capacity={"messaging": 8}, second=5),
                      *holding("h1", "a2", "messaging", 6),
                      *arrival_events("c1", channel="messaging", second=7)],
                     "[queues.default]\nstrategy = 'least_occupied'\n")
    assert placed(model, 8) == {"c1": "a1"}


# The previous agent.

def previous_agent_world(config: str = "") -> RoutingModel:
    """Customer k talked to a2 until second 10; a1 has been idle longer."""
    return model_of([*agent_events("a1", second=0), *agent_events("a2", second=1),
                     *arrival_events("old", customer="k", second=2),
                     ev(Assigned(agent_id="a2"), "old", 2, source=ROUTER),
                     ev(Resolved(resolved_by="agent"), "old", 10),
                     *arrival_events("c1", customer="k", second=20)], config)


@pytest.mark.parametrize(("window", "now", "agent"), [
    (3600, 21, "a2"), (30, 21, "a2"), (30, 40, "a2"), (30, 41, "a1"), (0, 21, "a1"),
], ids=["default-window", "inside", "at-the-edge", "after", "disabled"])
def test_the_previous_agent_is_preferred_within_the_window(window: float, now: float, agent: str) -> None:
    model = previous_agent_world(f"[routing]\nprefer_previous_agent_s = {window}\n")
    assert placed(model, now) == {"c1": agent}


def test_an_unavailable_previous_agent_is_not_waited_for() -> None:
    model = previous_agent_world()
    model.apply(ev(AgentStatusChanged(status="away"), "a2", 15))
    assert placed(model, 21) == {"c1": "a1"}


def test_another_customers_previous_agent_does_not_matter() -> None:
    model = previous_agent_world()
    for event in arrival_events("c2", customer="other", second=20):
        model.apply(event)
    assert placed(model, 21) == {"c1": "a2", "c2": "a1"}


# Declined and expired offers.

def offered_then(answer: str, config: str = "[queues.default]\ndecline_exclusion_s = 10\n") -> RoutingModel:
    """c1 (queued at 1) offered to a1 at 3, then declined or expired at 5; c2 queued at 2."""
    model = model_of([*agent_events("a1"), *arrival_events("c1", second=1),
                      *arrival_events("c2", second=2)], config)
    assert carry_out(model, decide(model, "default", at(3)), 3)
    assert model.conversations["c1"].offered_agent_id == "a1"
    data = OfferDeclined(agent_id="a1") if answer == "declined" else OfferExpired(agent_id="a1")
    assert model.apply(ev(data, "c1", 5, source="test" if answer == "declined" else ROUTER)) is None
    return model


@pytest.mark.parametrize("answer", ["declined", "expired"])
@pytest.mark.parametrize(("now", "expected"), [
    (6, {"c2": "a1"}), (14.9, {"c2": "a1"}), (15, {"c1": "a1"}), (60, {"c1": "a1"}),
])
def test_an_agent_who_let_an_offer_go_is_not_offered_it_again_for_a_while(
        answer: str, now: float, expected: dict[str, str]) -> None:
    assert placed(offered_then(answer), now) == expected


@pytest.mark.parametrize("answer", ["declined", "expired"])
def test_a_conversation_whose_offer_was_let_go_keeps_its_place_at_the_head(answer: str) -> None:
    """c1 goes back ahead of c2 (queued after it, but before the offer was let go)."""
    model = offered_then(answer)
    assert model.conversations["c1"].queued_at == at(1)
    model.apply(ev(AgentStatusChanged(status="away"), "a1", 5))
    for event in agent_events("a2", second=6):
        model.apply(event)
    assert placed(model, 7) == {"c1": "a2"}


def test_an_exclusion_is_dropped_once_the_conversation_is_placed() -> None:
    model = offered_then("declined")
    for event in agent_events("a2", second=6):
        model.apply(event)
    carry_out(model, decide(model, "default", at(7)), 7)
    model.apply(ev(OfferAccepted(agent_id="a2"), "c1", 8))
    carry_out(model, decide(model, "default", at(8)), 8)
    assert model.conversations["c1"].holder == "a2"
    assert "c1" not in model.excluded


# Skills a queue asks of everything in it.

TIER2 = "[queues.tier2]\nrequired_skills = { tier2 = 3, billing = 7 }\n"


@pytest.mark.parametrize(("queue", "own", "needed"), [
    ("tier2", {}, {"tier2": 3, "billing": 7}),
    ("tier2", {"billing": 5, "french": 4}, {"tier2": 3, "billing": 7, "french": 4}),
    ("tier2", {"billing": 9}, {"tier2": 3, "billing": 9}),
    ("billing", {"billing": 5}, {"billing": 5}),
], ids=["queue-only", "merged-queue-higher", "merged-own-higher", "queue-without-skills"])
def test_a_queue_adds_its_skills_to_the_conversations_own(
        queue: str, own: dict[str, int], needed: dict[str, int]) -> None:
    config = parse_config(TIER2)
    model = model_of(arrival_events("c1", queue=queue, skills=own), config)
    assert required_skills(model.conversations["c1"], config.policy(queue), at(1)) == needed


def test_a_conversation_escalated_into_a_tier_queue_goes_to_an_agent_with_its_skill() -> None:
    model = model_of([
        *agent_events("a1", skills={"billing": 9}), *agent_events("a2", skills={"billing": 9}),
        *agent_events("a3", skills={"billing": 7, "tier2": 3}),
        *holding("c1", "a1"),
    ], TIER2)
    model.apply(ev(Escalated(tier=2, to_queue="tier2"), "c1", 5))
    assert placed(model, 6) == {"c1": "a3"}


# Bullseye relaxation.

RELAX = """
[[queues.default.relax]]
after_s = 30
lower_by = 2
[[queues.default.relax]]
after_s = 60
drop = ["french"]
[[queues.default.relax]]
after_s = 90
lower_by = 9
"""


@pytest.mark.parametrize(("waited", "skills"), [
    (0, {"billing": 8, "french": 5}),
    (29.9, {"billing": 8, "french": 5}),
    (30, {"billing": 6, "french": 3}),
    (60, {"billing": 6}),
    (90, {"billing": 1}),
])
def test_required_skills_relax_ring_by_ring(waited: float, skills: dict[str, int]) -> None:
    config = parse_config(RELAX)
    model = model_of(arrival_events("c1", skills={"billing": 8, "french": 5}), config)
    assert required_skills(model.conversations["c1"], config.policy("billing"), at(waited)) == skills


@pytest.mark.parametrize(("now", "agent"), [(10, None), (40, None), (59, None), (60, "a1")])
def test_a_long_wait_reaches_an_agent_with_fewer_skills(now: float, agent: str | None) -> None:
    model = model_of([*agent_events("a1", skills={"billing": 6}),
                      *arrival_events("c1", skills={"billing": 8, "french": 5})], RELAX)
    assert placed(model, now) == ({"c1": agent} if agent else {})


def test_relaxation_counts_the_wait_in_the_current_queue() -> None:
    model = model_of([*agent_events("a1", skills={"billing": 6}),
                      *arrival_events("c1", skills={"billing": 8}),
                      ev(Transferred(from_queue="billing", to_queue="tech"), "c1", 50)], RELAX)
    assert placed(model, 70) == {}
    assert placed(model, 80) == {"c1": "a1"}


# Overflow.

OVERFLOW = "[queues.billing]\noverflow = { after_s = 30, to = 'tier2' }\n"


@pytest.mark.parametrize(("now", "expected"), [
    (29, []), (30, [Overflow("c1", "billing", "tier2")]), (100, [Overflow("c1", "billing", "tier2")]),
])
def test_a_long_wait_overflows_to_the_configured_queue(now: float, expected: list[Decision]) -> None:
    model = model_of(arrival_events("c1", queue="billing"), OVERFLOW)
    assert decide(model, "default", at(now)) == expected


def test_an_overflowed_conversation_waits_afresh_in_the_new_queue() -> None:
    model = model_of(arrival_events("c1", queue="billing"), OVERFLOW)
    (event,) = carry_out(model, decide(model, "default", at(30)), 30)
    assert event.data == Transferred(from_queue="billing", to_queue="tier2", reason="overflow")
    assert (model.conversations["c1"].queue, model.conversations["c1"].queued_at) == ("tier2", at(30))
    assert decide(model, "default", at(100)) == []
    for e in agent_events("a1", second=101):
        model.apply(e)
    assert placed(model, 101) == {"c1": "a1"}


def test_an_overflow_into_another_domain_hands_the_conversation_over() -> None:
    config = OVERFLOW + """
[domains.care]
queues = ["billing"]
agent_skills = ["billing"]
[domains.escalations]
queues = ["tier2"]
"""
    model = model_of([*agent_events("a1", skills={"escalations": 5}),
                      *arrival_events("c1", queue="billing")], config)
    assert decide(model, "escalations", at(30)) == []
    carry_out(model, decide(model, "care", at(30)), 30)
    assert decide(model, "care", at(31)) == []
    assert placed(model, 31, "escalations") == {"c1": "a1"}


# RONA: an agent who lets an offer expire is set away.

def missed(config: str = "") -> RoutingModel:
    """a1 (messaging, room for eight) let the offer of c1 expire (offered at 1, timeout 20);
    c2 arrived meanwhile and a1 could take it too."""
    model = model_of([*agent_events("a1", capacity={"messaging": 8}),
                      *arrival_events("c1", channel="messaging", second=1)], config)
    carry_out(model, decide(model, "default", at(1)), 1)
    for event in arrival_events("c2", channel="messaging", second=2):
        model.apply(event)
    return model


def test_an_agent_who_lets_an_offer_expire_is_set_away_and_offered_nothing_meanwhile() -> None:
    model = missed()
    decisions = decide(model, "default", at(21))
    assert decisions == [Expire("c1", "a1"), SetAway("c1", "a1")]
    carry_out(model, decisions, 21)
    assert (model.agents["a1"].status, model.agents["a1"].aux_code) == ("away", "missed_offer")
    assert decide(model, "default", at(22)) == []
    model.apply(ev(AgentStatusChanged(status="available"), "a1", 30))
    assert placed(model, 30) == {"c2": "a1"}  # c1 keeps a1 excluded for a while


def test_an_agent_being_set_away_is_offered_nothing_until_it_is_read_back() -> None:
    model = missed()
    for decision in (Expire("c1", "a1"), SetAway("c1", "a1")):
        event, pending = decision_event(decision, model, source=ROUTER, now=at(21))
        model.expect(event.id, pending)
    assert decide(model, "default", at(21.5)) == []


@pytest.mark.parametrize(("config", "status"), [
    ("[routing]\naway_on_missed_offer = false\n", "available"),
    ("", "away"),
], ids=["rona-off", "already-away"])
def test_only_an_expiry_when_rona_is_off_or_the_agent_already_away(config: str,
                                                                     status: AgentStatus) -> None:
    model = missed(config)
    if status == "away":
        model.apply(ev(AgentStatusChanged(status="away", aux_code="lunch"), "a1", 10))
    assert decide(model, "default", at(21))[:2] == [Expire("c1", "a1")] + (
        [Offer("c2", "a1", at(41))] if status == "available" else [])


def test_setting_away_is_the_agents_event_with_the_configured_code() -> None:
    model = model_of([*agent_events("a1"), *arrival_events("c1")],
                     "[routing]\nmissed_offer_aux_code = \"rona\"\n")
    event, pending = decision_event(SetAway("c1", "a1"), model, source=ROUTER, now=at(2))
    assert (event.data, event.subject) == (AgentStatusChanged(status="away", aux_code="rona"), "a1")
    assert family_of(event.type) is Family.AGENT
    assert pending == Pending("c1", "a1", None)


# Auto-accept, accepted and expired offers.

def test_an_auto_accept_queue_assigns_without_an_offer() -> None:
    model = model_of([*agent_events("a1"), *arrival_events("c1", queue="email", channel="email")],
                     "[queues.email]\nauto_accept = true\n")
    assert decide(model, "default", at(1)) == [Assign("c1", "a1")]
    carry_out(model, decide(model, "default", at(1)), 1)
    assert model.conversations["c1"].holder == "a1"
    assert model.agents["a1"].holding == {"email": ("c1",)}


def test_an_offer_lasts_the_queues_offer_timeout() -> None:
    model = model_of([*agent_events("a1"), *arrival_events("c1")], "[queues.default]\noffer_timeout_s = 7\n")
    assert decide(model, "default", at(1)) == [Offer("c1", "a1", at(8))]


@pytest.mark.parametrize(("answer", "now", "expected"), [
    (None, 20, []),
    (None, 21, [Expire("c1", "a1"), SetAway("c1", "a1")]),
    (None, 500, [Expire("c1", "a1"), SetAway("c1", "a1")]),
    ("accepted", 2, [Assign("c1", "a1")]),
    ("accepted", 500, [Assign("c1", "a1")]),
], ids=["open", "expired-on-time", "expired-long-ago", "accepted", "accepted-then-expired"])
def test_an_open_offer_is_assigned_once_accepted_and_expired_once_stale(
        answer: str | None, now: float, expected: list[Decision]) -> None:
    model = model_of([*agent_events("a1"), *arrival_events("c1")])
    carry_out(model, decide(model, "default", at(1)), 1)
    if answer == "accepted":
        model.apply(ev(OfferAccepted(agent_id="a1"), "c1", 2))
    assert decide(model, "default", at(now)) == expected


def test_a_conversation_placed_by_an_accepted_offer_is_held_by_the_agent() -> None:
    model = model_of([*agent_events("a1"), *arrival_events("c1")])
    carry_out(model, decide(model, "default", at(1)), 1)
    model.apply(ev(OfferAccepted(agent_id="a1"), "c1", 2))
    (event,) = carry_out(model, decide(model, "default", at(2)), 2)
    assert event.data == Assigned(agent_id="a1")
    assert (model.agents["a1"].holding, model.agents["a1"].offered) == ({"chat": ("c1",)}, ())
    assert decide(model, "default", at(3)) == []


# Pending decisions.

def test_a_pending_decision_keeps_its_conversation_out_of_the_next_pass() -> None:
    model = model_of([*agent_events("a1"), *arrival_events("c1")])
    (offer,) = decide(model, "default", at(1))
    event, pending = decision_event(offer, model, source=ROUTER, now=at(1))
    model.expect(event.id, pending)
    assert model.pending_for("c1")
    for e in agent_events("a2", second=2):
        model.apply(e)
    assert decide(model, "default", at(2)) == []
    model.apply(event)
    assert model.pending == {} and not model.pending_for("c1")
    assert model.conversations["c1"].offered_agent_id == "a1"


def test_a_pending_offer_reserves_the_agents_capacity() -> None:
    model = model_of([*agent_events("a1", second=0), *agent_events("a2", second=1),
                      *arrival_events("c1", second=2)])
    (offer,) = decide(model, "default", at(3))
    event, pending = decision_event(offer, model, source=ROUTER, now=at(3))
    assert pending == Pending("c1", "a1", "chat")
    model.expect(event.id, pending)
    for e in arrival_events("c2", second=4):
        model.apply(e)
    assert placed(model, 5) == {"c2": "a2"}


def test_a_pending_overflow_also_keeps_its_conversation_out_of_the_next_pass() -> None:
    model = model_of([*agent_events("a1"), *arrival_events("c1", queue="billing")], OVERFLOW)
    (overflow,) = decide(model, "default", at(40))
    event, pending = decision_event(overflow, model, source=ROUTER, now=at(40))
    assert pending == Pending("c1", None, "chat")
    model.expect(event.id, pending)
    assert decide(model, "default", at(41)) == []


# Domains.

DOMAINS = """
[domains.care]
queues = ["billing"]
agent_skills = ["billing"]
[domains.sales]
queues = ["*"]
"""


@pytest.mark.parametrize(("skills", "domains", "shared"), [
    ({"billing": 3}, ["care", "sales"], ["care", "sales"]),
    ({"sales": 3}, ["sales"], []),
], ids=["shared", "one-domain"])
def test_the_domains_serving_an_agent_and_sharing_it_are_named(
        skills: dict[str, int], domains: list[str], shared: list[str]) -> None:
    model = model_of(agent_events("a1", skills=skills), DOMAINS)
    agent = model.agents["a1"]
    assert domains_serving(model.config, agent) == domains
    assert shared_with(model.config, "sales", agent) == shared
    # A domain that does not serve the agent shares nothing with the others.
    assert shared_with(model.config, "care", agent) == (shared if "care" in domains else [])


def test_a_domain_routes_only_its_queues_to_agents_with_its_skills() -> None:
    model = model_of([*agent_events("a1", skills={"sales": 5}, second=0),
                      *agent_events("a2", skills={"billing": 1}, second=1),
                      *arrival_events("c1", queue="billing", second=2),
                      *arrival_events("c2", queue="upgrades", second=3)], DOMAINS)
    assert placed(model, 4, "care") == {"c1": "a2"}
    assert placed(model, 4, "sales") == {"c2": "a1"}


def test_a_domain_serves_the_agents_with_one_of_its_skills_or_every_agent_without_a_filter() -> None:
    model = model_of([*agent_events("a1", skills={"sales": 5}, second=0),
                      *agent_events("a2", skills={"billing": 1, "sales": 2}, second=1)], DOMAINS)
    care, sales = model.config.domains["care"], model.config.domains["sales"]
    assert [serves(care, model.agents[a]) for a in ("a1", "a2")] == [False, True]
    assert [serves(sales, model.agents[a]) for a in ("a1", "a2")] == [True, True]


# Decision events.

def test_the_same_decision_at_the_same_log_position_has_the_same_id() -> None:
    events = [*agent_events("a1", second=0), *arrival_events("c1", second=1)]
    first, second = model_of(events), model_of(events)
    (a,) = decide(first, "default", at(2))
    (b,) = decide(second, "default", at(3))
    assert a != b
    made_a = decision_event(a, first, source="switchboard/router/default/one", now=at(2))[0]
    made_b = decision_event(b, second, source="switchboard/router/default/two", now=at(3))[0]
    assert made_a.id == made_b.id


def test_a_decision_made_twice_is_applied_once() -> None:
    model = model_of([*agent_events("a1"), *arrival_events("c1", second=1)])
    (offer,) = decide(model, "default", at(2))
    event = decision_event(offer, model, source=ROUTER, now=at(2))[0]
    model.apply(event)
    state = model.conversations["c1"]
    assert model.apply(event) is None
    assert model.conversations["c1"] is state


@pytest.mark.parametrize("change", ["later-position", "other-agent", "other-kind"])
def test_another_decision_or_log_position_has_another_id(change: str) -> None:
    model = model_of([*agent_events("a1"), *arrival_events("c1", second=1)])
    base = decision_event(Offer("c1", "a1", at(30)), model, source=ROUTER, now=at(2))[0]
    other: Decision = Offer("c1", "a1", at(30))
    if change == "later-position":
        model.apply(ev(MessageReceived(message_id="m1"), "c1", 2))
    elif change == "other-agent":
        other = Offer("c1", "a2", at(30))
    else:
        other = Assign("c1", "a1")
    assert decision_event(other, model, source=ROUTER, now=at(2))[0].id != base.id


@pytest.mark.parametrize(("decision", "data", "reserves"), [
    (Offer("c1", "a1", at(9)), Offered(agent_id="a1", expires_at=at(9)), "a1"),
    (Assign("c1", "a1"), Assigned(agent_id="a1"), "a1"),
    (Expire("c1", "a1"), OfferExpired(agent_id="a1"), None),
    (Overflow("c1", "billing", "tier2"), Transferred(from_queue="billing", to_queue="tier2",
                                                     reason="overflow"), None),
], ids=["offer", "assign", "expire", "overflow"])
def test_each_decision_becomes_its_event_from_the_router(decision: Decision, data: object,
                                                         reserves: str | None) -> None:
    model = model_of(arrival_events("c1", channel="messaging"))
    event, pending = decision_event(decision, model, source=ROUTER, now=at(2))
    assert (event.data, event.subject, event.source, event.time) == (data, "c1", ROUTER, at(2))
    assert pending == Pending("c1", reserves, "messaging")


def test_assigning_an_offered_conversation_reserves_nothing_more() -> None:
    model = model_of([*agent_events("a1"), *arrival_events("c1")])
    carry_out(model, decide(model, "default", at(1)), 1)
    model.apply(ev(OfferAccepted(agent_id="a1"), "c1", 2))
    assert decision_event(Assign("c1", "a1"), model, source=ROUTER, now=at(2))[1].agent_id is None
