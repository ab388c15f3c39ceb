"""The router's model, given events -> then what it knows: who waits, who holds what,
customers' last agents, offer exclusions, pending decisions, rejected events and
finished conversations forgotten after `forget_after_s` of event time."""

from __future__ import annotations

from router_events import ROUTER, agent_events, arrival_events, at, ev, model_of

from schemas.events.agent import AgentStatusChanged
from schemas.events.conversation import (
    Abandoned,
    Assigned,
    OfferDeclined,
    Offered,
    Reopened,
    Resolved,
    SurveyAnswered,
)
from services.router.config import parse_config
from services.router.model import Pending

FORGET = "[routing]\nforget_after_s = 100\n[queues.default]\ndecline_exclusion_s = 30\n"


def test_queued_and_offered_conversations_wait_and_assigned_ones_do_not() -> None:
    model = model_of([*arrival_events("c1"), *arrival_events("c2"), *arrival_events("c3"),
                      ev(Offered(agent_id="a1", expires_at=at(20)), "c2", 1, source=ROUTER),
                      ev(Assigned(agent_id="a1"), "c3", 1, source=ROUTER)])
    assert model.waiting == {"c1", "c2"}
    assert model.agents["a1"].offered == ("c2",)
    assert model.agents["a1"].holding == {"chat": ("c3",)}


def test_the_agent_who_last_held_a_customers_conversation_is_remembered_until_release() -> None:
    model = model_of([*arrival_events("c1", customer="k"),
                      ev(Assigned(agent_id="a1"), "c1", 2, source=ROUTER),
                      ev(Resolved(resolved_by="agent"), "c1", 9)])
    assert model.last_agent == {"k": ("a1", at(9))}


def test_a_declined_offer_excludes_that_agent_for_the_queues_exclusion_time() -> None:
    model = model_of([*arrival_events("c1"),
                      ev(Offered(agent_id="a1", expires_at=at(20)), "c1", 1, source=ROUTER),
                      ev(OfferDeclined(agent_id="a1"), "c1", 4)], FORGET)
    assert model.excluded == {"c1": {"a1": at(34)}}
    model.apply(ev(Abandoned(), "c1", 5))
    assert model.excluded == {} and model.waiting == set()


def test_a_pending_decision_is_cleared_when_its_event_is_read_back() -> None:
    model = model_of(arrival_events("c1"))
    offer = ev(Offered(agent_id="a1", expires_at=at(20)), "c1", 1, source=ROUTER)
    model.expect(offer.id, Pending("c1", "a1", "chat"))
    for event in arrival_events("c2", second=1):
        model.apply(event)
    assert model.pending_for("c1")
    model.apply(offer)
    assert model.pending == {}


def test_an_event_that_breaks_the_lifecycle_is_counted_and_changes_nothing() -> None:
    model = model_of([*agent_events("a1"), *arrival_events("c1"),
                      ev(Assigned(agent_id="a1"), "c1", 1, source=ROUTER)])
    before = model.conversations["c1"]
    assert model.apply(ev(Assigned(agent_id="a2"), "c1", 2, source=ROUTER)) == "already_assigned"
    assert model.apply(ev(Resolved(resolved_by="agent"), "nobody", 2)) == "unknown_conversation"
    assert model.conversations["c1"] is before
    assert model.rejected == {"already_assigned": 1, "unknown_conversation": 1}
    assert (model.applied, model.latest) == (7, at(2))


def test_a_finished_conversation_is_forgotten_after_forget_after_s_of_event_time() -> None:
    model = model_of([*agent_events("a1"), *arrival_events("c1"),
                      ev(Resolved(resolved_by="customer"), "c1", 10),
                      *arrival_events("c2", second=110)], FORGET)
    assert set(model.conversations) == {"c1", "c2"}
    model.apply(ev(AgentStatusChanged(status="away"), "a1", 111))
    assert set(model.conversations) == {"c2"}


def test_a_late_survey_keeps_a_finished_conversation_for_another_horizon() -> None:
    model = model_of([*agent_events("a1"), *arrival_events("c1"),
                      ev(Resolved(resolved_by="customer"), "c1", 10),
                      ev(SurveyAnswered(survey_id="s", csat=4), "c1", 60)], FORGET)
    model.apply(ev(AgentStatusChanged(status="away"), "a1", 111))
    assert set(model.conversations) == {"c1"}
    model.apply(ev(AgentStatusChanged(status="available"), "a1", 161))
    assert set(model.conversations) == set()


def test_by_default_a_finished_conversation_is_kept_for_eight_days() -> None:
    model = model_of([*agent_events("a1"), *arrival_events("c1"),
                      ev(Resolved(resolved_by="customer"), "c1", 10)])
    eight_days = 8 * 86_400
    model.apply(ev(AgentStatusChanged(status="away"), "a1", 10 + eight_days))
    assert set(model.conversations) == {"c1"}
    model.apply(ev(AgentStatusChanged(status="available"), "a1", 11 + eight_days))
    assert set(model.conversations) == set()


def test_a_reopened_conversation_is_not_forgotten() -> None:
    model = model_of([*arrival_events("c1"), ev(Resolved(resolved_by="customer"), "c1", 10),
                      ev(Reopened(), "c1", 20), *arrival_events("c2", second=500)], FORGET)
    assert model.conversations["c1"].phase == "queued"
    assert model.waiting == {"c1", "c2"}


def test_a_domains_roster_follows_agent_events_and_nothing_else() -> None:
    model = model_of([*agent_events("a1", skills={"billing": 3}),
                      *agent_events("a2", skills={"sales": 3}, second=1)])
    roster = model.roster("default")
    assert roster.agents == {"a1", "a2"}
    assert roster.by_skill == {"billing": {"a1"}, "sales": {"a2"}}
    for event in arrival_events("c1", second=2):
        model.apply(event)
    assert roster.agents == {"a1", "a2"}  # a conversation changes nobody's availability
    model.apply(ev(AgentStatusChanged(status="away"), "a1", 3))
    assert (roster.agents, roster.by_skill["billing"]) == ({"a2"}, set())
    model.apply(ev(AgentStatusChanged(status="available"), "a1", 4))
    assert roster.by_skill["billing"] == {"a1"}
    # Logging in again with other skills moves the agent; a newcomer joins.
    for event in [*agent_events("a1", skills={"tech": 2}, second=5),
                  *agent_events("a3", skills={"billing": 1}, second=5)]:
        model.apply(event)
    assert model.roster("default") is roster
    assert roster.by_skill == {"billing": {"a3"}, "sales": {"a2"}, "tech": {"a1"}}


def test_a_new_configuration_rebuilds_the_roster_with_its_agent_filter() -> None:
    model = model_of([*agent_events("a1", skills={"billing": 3}),
                      *agent_events("a2", skills={"sales": 3}, second=1)])
    assert model.roster("default").agents == {"a1", "a2"}
    model.reconfigure(parse_config('[domains.default]\nagent_skills = ["sales"]\n'))
    assert model.roster("default").agents == {"a2"}


def test_the_idle_order_puts_the_longest_idle_first_and_follows_every_agent_change() -> None:
    model = model_of([*agent_events("a1", skills={"billing": 5}, second=2),
                      *agent_events("a2", skills={"billing": 5}, second=1),
                      *agent_events("a3", skills={"sales": 5}, second=3)])
    assert model.idle_order("default", "billing").dated == ("a2", "a1")
    assert model.idle_order("default", None).dated == ("a2", "a1", "a3")
    order = model.idle_order("default", "billing")
    model.apply(ev(Abandoned(), "nobody", 4))  # breaks the lifecycle: no agent changed
    assert model.idle_order("default", "billing") is order
    # A conversation event changes a2's state (assigned at second 5, then released at 6):
    # not an agent event, and still a new place in the order.
    for event in [*arrival_events("c1", second=5), ev(Assigned(agent_id="a2"), "c1", 5, source=ROUTER),
                  ev(Resolved(resolved_by="agent"), "c1", 6)]:
        assert model.apply(event) is None
    assert model.idle_order("default", "billing").dated == ("a1", "a2")
