"""Check the routing invariants over a whole log (pure): the tests' and operators' referee.

Folds the events in log order per partition, merged by time, with the router's own
model, and checks after each event:
1. no conversation is held by two agents at once;
2. no agent holds more than its capacity on a channel;
3. no conversation stays routable (the policy would place it now) longer than
   `bound_s` without a decision: the routing tick plus the time a decision takes to
   travel the log;
4. every queued conversation ends assigned, resolved, abandoned or still waiting;
and, at `end`, that no decision is owed: no accepted offer unassigned, no offer
past its expiry, nothing routable left waiting. Router events the lifecycle
rejects (a decision made twice, or on a stale picture) are counted by reason.
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from projections.changes import agents_of, placement
from projections.dedupe import already_applied
from schemas.envelope import Envelope
from schemas.events import EventData
from services.router.config import RoutingConfig
from services.router.model import RoutingModel
from services.router.policy import Assign, Expire, Offer, decide

Event = Envelope[EventData]
ROUTER_SOURCE = "switchboard/router/"
CHECK_EVERY = timedelta(milliseconds=20)
EXEMPT_CHECK_EVERY = timedelta(seconds=1)
"""Inside an exempt window no delay counts, so routability is looked at less often there
(each look is a whole routing pass: with thousands waiting after an outage, looking at
every arrival took the chaos run's audit many minutes)."""


@dataclass(slots=True)
class AuditReport:
    events: int = 0
    decisions: int = 0
    conversations: int = 0
    double_holds: list[str] = field(default_factory=list)
    over_capacity: list[str] = field(default_factory=list)
    late: list[tuple[str, float]] = field(default_factory=list)
    """Conversations routable for longer than the bound: (id, seconds)."""
    delays: list[float] = field(default_factory=list)
    arrival_delays: list[float] = field(default_factory=list)
    """The same, for conversations routable the moment they were queued: queued -> decided."""
    """Seconds from routable to decided, for every decision measured."""
    owed: list[str] = field(default_factory=list)
    vanished: list[str] = field(default_factory=list)
    rejected_decisions: Counter[str] = field(default_factory=Counter)
    duplicate_decisions: int = 0
    sources: Counter[str] = field(default_factory=Counter)
    """Router events by source (which instance decided)."""

    def violations(self) -> list[str]:
        """Every broken invariant, described; empty when the log is clean."""
        found = [f"conversation {c} held by two agents" for c in self.double_holds]
        found += [f"agent over capacity: {a}" for a in self.over_capacity]
        found += [f"conversation {c} routable for {s:.3f}s without a decision" for c, s in self.late]
        found += [f"decision owed at the end: {o}" for o in self.owed]
        found += [f"conversation {c} vanished" for c in self.vanished]
        return found


def merged(partitions: Iterable[Sequence[Event]]) -> Iterable[Event]:
    """One stream: each partition in log order, partitions interleaved by event time."""
    return heapq.merge(*partitions, key=lambda e: e.time)


def audit(events: Iterable[Event], config: RoutingConfig, domain: str, *, bound_s: float,
          end: datetime, exempt: Sequence[tuple[datetime, datetime]] = (),
          check_every: timedelta = CHECK_EVERY) -> AuditReport:
    """The invariants over `events` (already merged), with decisions owed judged at `end`.

    Delays that overlap an `exempt` window (a takeover) are measured but not counted late.
    Routability is re-checked at most every `check_every` of event time (0: after every
    event, exact but slower)."""
    model, report = RoutingModel(config), AuditReport()
    checker = _Timeliness(model, domain, bound_s, exempt, report, check_every)
    held_by: dict[str, set[str]] = {}
    for event in events:
        checker.catch_up(event.time)
        report.events += 1
        by_router = event.source.startswith(ROUTER_SOURCE)
        before = model.conversations.get(event.subject)
        if by_router:
            report.decisions += 1
            report.sources[event.source] += 1
            if before is not None and already_applied(before, event.id, None):
                report.duplicate_decisions += 1
        reason = model.apply(event)
        if reason is not None and by_router:
            report.rejected_decisions[reason] += 1
        after = model.conversations.get(event.subject)
        if after is not None:
            touched = agents_of(placement(after), placement(before) if before else None)
            _check_agents(model, touched, held_by, config, report, event.time)
            checker.left(after, event.time)
        checker.look(event.time, arrived=event.subject if event.type.endswith(".queued.v1") else None)
    checker.catch_up(end)
    checker.look(end, force=True)
    checker.close(end)
    report.owed = [f"{type(d).__name__} {d.conversation_id}"
                   for d in decide(model, domain, end) if _owed(d, model, end, bound_s)]
    report.conversations = len(model.conversations)
    report.vanished = sorted(c for c, s in model.conversations.items()
                             if s.first_queued_at and s.phase in ("bot", "new"))
    return report


def _owed(decision: object, model: RoutingModel, end: datetime, bound_s: float) -> bool:
    if isinstance(decision, Expire):
        expires = model.conversations[decision.conversation_id].offer_expires_at
        return expires is not None and (end - expires).total_seconds() > bound_s
    return isinstance(decision, (Offer, Assign))


def _check_agents(model: RoutingModel, touched: Iterable[str], held_by: dict[str, set[str]],
                  config: RoutingConfig, report: AuditReport, t: datetime) -> None:
    for agent_id in touched:
        agent = model.agents.get(agent_id)
        if agent is None:
            continue
        now_held = {c for convs in agent.holding.values() for c in convs}
        for cid, holders in held_by.items():
            if agent_id in holders and cid not in now_held:
                holders.discard(agent_id)
        for cid in now_held:
            holders = held_by.setdefault(cid, set())
            holders.add(agent_id)
            if len(holders) > 1:
                report.double_holds.append(f"{cid} by {sorted(holders)} at {t.isoformat()}")
        for channel, convs in agent.holding.items():
            if len(convs) > config.capacity(agent.capacity, channel):
                report.over_capacity.append(
                    f"{agent_id} holds {len(convs)} on {channel} at {t.isoformat()}")


class _Timeliness:
    """When each conversation became routable, and how long until it was placed."""

    def __init__(self, model: RoutingModel, domain: str, bound_s: float,
                 exempt: Sequence[tuple[datetime, datetime]], report: AuditReport,
                 check_every: timedelta) -> None:
        self.model, self.domain, self.bound_s = model, domain, bound_s
        self.check_every = check_every
        self.exempt, self.report = exempt, report
        self.since: dict[str, datetime] = {}
        self.on_arrival: set[str] = set()
        self.last_look: datetime | None = None
        self.skipped: datetime | None = None
        """When the last look the throttle skipped was due."""

    def look(self, t: datetime, force: bool = False, arrived: str | None = None) -> None:
        """Note what is routable at `t`; `arrived` is a conversation queued by the event at `t`,
        whose wait, if it is routable now, is also a queued -> decided latency."""
        exempt = self._exempt(t)
        if arrived is not None and not exempt:
            force = True
        if not force and self.last_look is not None and t - self.last_look < self._every(t):
            self.skipped = t
            return
        self.last_look, self.skipped = t, None
        routable = {d.conversation_id for d in decide(self.model, self.domain, t)
                    if isinstance(d, (Offer, Assign))
                    and self.model.conversations[d.conversation_id].phase == "queued"}
        for cid in routable:
            self.since.setdefault(cid, t)
        if arrived in routable and self.since.get(arrived) == t:
            self.on_arrival.add(arrived)
        for cid in [c for c in self.since if c not in routable]:
            self._settle(cid, t, decided=False)

    def _exempt(self, t: datetime) -> bool:
        return any(a <= t <= b for a, b in self.exempt)

    def _every(self, t: datetime) -> timedelta:
        return max(self.check_every, EXEMPT_CHECK_EVERY) if self._exempt(t) else self.check_every

    def catch_up(self, t: datetime) -> None:
        """Take a skipped look, at its own time, before an event at `t` (a whole throttle
        interval later) changes the picture: what became routable then counts from then."""
        if self.skipped is not None and self.last_look is not None and (
                t - self.last_look >= self._every(self.skipped)):
            self.look(self.skipped, force=True)

    def left(self, conv: object, t: datetime) -> None:
        cid = getattr(conv, "conversation_id", "")
        if cid in self.since and getattr(conv, "phase", "") != "queued":
            self._settle(cid, t, decided=True)

    def close(self, end: datetime) -> None:
        for cid in list(self.since):
            self._settle(cid, end, decided=False)

    def _settle(self, cid: str, t: datetime, *, decided: bool) -> None:
        since = self.since.pop(cid)
        delay = (t - since).total_seconds()
        arrival = cid in self.on_arrival
        self.on_arrival.discard(cid)
        if decided:
            self.report.delays.append(delay)
            if arrival:
                self.report.arrival_delays.append(delay)
        if delay > self.bound_s and not any(a <= t and since <= b for a, b in self.exempt):
            self.report.late.append((cid, delay))
