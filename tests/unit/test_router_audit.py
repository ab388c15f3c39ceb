"""The routing audit over a log: a clean log has no violations; over capacity, a late
decision, a decision owed at the end, rejected and duplicate decisions are each
reported; takeover windows excuse lateness; partitions merge by time in log order."""

from __future__ import annotations

from datetime import timedelta

from router_events import ROUTER, Event, agent_events, arrival_events, at, ev

from schemas.events.conversation import Assigned, OfferAccepted, Offered
from services.router.audit import audit, merged
from services.router.config import default_config

CONFIG = default_config()


def routed_log() -> list[Event]:
    """c1 offered at once, accepted and assigned; c2 waits for a1's one chat slot."""
    return [*agent_events("a1"), *arrival_events("c1", second=1),
            ev(Offered(agent_id="a1", expires_at=at(21)), "c1", 1, source=ROUTER),
            ev(OfferAccepted(agent_id="a1"), "c1", 3),
            ev(Assigned(agent_id="a1"), "c1", 3, source=ROUTER),
            *arrival_events("c2", second=4)]


def test_a_log_routed_on_time_has_no_violations() -> None:
    report = audit(routed_log(), CONFIG, "default", bound_s=0.5, end=at(10))
    assert report.violations() == []
    assert (report.events, report.decisions, report.conversations) == (9, 2, 2)
    assert report.sources == {ROUTER: 2}


def test_an_agent_given_more_than_its_capacity_is_reported() -> None:
    log = [*routed_log(), ev(Assigned(agent_id="a1"), "c2", 5, source=ROUTER)]
    report = audit(log, CONFIG, "default", bound_s=0.5, end=at(10))
    assert report.violations() == [f"agent over capacity: a1 holds 2 on chat at {at(5).isoformat()}"]


def test_a_conversation_left_routable_past_the_bound_is_late_and_owed() -> None:
    log = [*agent_events("a1"), *arrival_events("c1", second=1),
           ev(Offered(agent_id="a1", expires_at=at(30)), "c1", 4, source=ROUTER)]
    report = audit(log, CONFIG, "default", bound_s=2, end=at(10))
    assert report.late == [("c1", 3.0)]
    assert report.owed == []
    unplaced = audit(log[:-1], CONFIG, "default", bound_s=2, end=at(10))
    assert unplaced.owed == ["Offer c1"]
    assert unplaced.late == [("c1", 9.0)]


def test_an_offer_left_open_past_its_expiry_is_owed() -> None:
    log = [*agent_events("a1"), *arrival_events("c1", second=1),
           ev(Offered(agent_id="a1", expires_at=at(5)), "c1", 1, source=ROUTER)]
    assert audit(log, CONFIG, "default", bound_s=2, end=at(7)).owed == []
    assert audit(log, CONFIG, "default", bound_s=2, end=at(8)).owed == ["Expire c1"]


def test_lateness_inside_a_takeover_window_is_excused() -> None:
    log = [*agent_events("a1"), *arrival_events("c1", second=1),
           ev(Offered(agent_id="a1", expires_at=at(30)), "c1", 6, source=ROUTER)]
    report = audit(log, CONFIG, "default", bound_s=1, end=at(10), exempt=[(at(2), at(4))])
    assert report.violations() == [] and report.delays == [5.0]


def test_rejected_and_repeated_decisions_are_counted() -> None:
    offer = ev(Offered(agent_id="a1", expires_at=at(30)), "c1", 1, source=ROUTER)
    log = [*agent_events("a1"), *agent_events("a2"), *arrival_events("c1", second=1), offer, offer,
           ev(Offered(agent_id="a2", expires_at=at(30)), "c1", 2, source=ROUTER)]
    report = audit(log, CONFIG, "default", bound_s=1, end=at(3))
    assert report.duplicate_decisions == 1
    assert report.rejected_decisions == {"not_queued": 1}


def test_partitions_merge_by_time_keeping_each_partitions_order() -> None:
    one = [ev(Assigned(agent_id="a1"), "c1", s) for s in (1, 4, 6)]
    two = [ev(Assigned(agent_id="a1"), "c2", s) for s in (2, 3, 7)]
    assert [e.time for e in merged([one, two])] == [at(s) for s in (1, 2, 3, 4, 6, 7)]
    assert [e.id for e in merged([one, []])] == [e.id for e in one]


def test_a_conversation_queued_in_the_instant_of_a_throttled_look_is_timed_from_then() -> None:
    """Started and queued in the same instant: the throttle skips the look after `queued`,
    and takes it at its own time before the next event changes the picture."""
    log = [*agent_events("a1"), *arrival_events("c1", second=1),
           ev(Offered(agent_id="a1", expires_at=at(30)), "c1", 4, source=ROUTER)]
    for check_every in (timedelta(0), timedelta(milliseconds=20), timedelta(seconds=2)):
        report = audit(log, CONFIG, "default", bound_s=2, end=at(10), check_every=check_every)
        assert (report.late, report.delays) == ([("c1", 3.0)], [3.0]), check_every
