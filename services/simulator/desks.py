"""Live traffic for the real router: customers who queue and give up, agents who answer offers.

Pure and deterministic for a seed and the sequence of events it observes: the
shell (`live.py`) feeds it the wall clock and the router's events read back from
`cc.conversations`, and publishes what it returns. Agents accept, decline or
ignore offers (the router then expires them), handle what they are assigned,
and sometimes transfer or escalate; customers abandon when their patience runs
out before an agent joins.
"""

from __future__ import annotations

import heapq
import itertools
import random
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from schemas.envelope import Envelope, new_event
from schemas.events import EventData
from schemas.events import agent as ag
from schemas.events import conversation as cv
from schemas.events.vocabulary import mode_of
from services.simulator.config import DEFAULT_CHANNEL_MIX, DEFAULT_LANGUAGES, DEFAULT_QUEUES, QueueSpec

Event = Envelope[EventData]


@dataclass(frozen=True, slots=True, kw_only=True)
class DeskConfig:
    """Rates and behaviour shares of a live run (times in wall-clock seconds)."""

    seed: int = 0
    run: str = "live"
    """Prefix of every conversation, customer and agent id, so runs never collide."""
    rate: float = 5.0
    """Conversation arrivals per second (Poisson)."""
    conversations: int | None = None
    """Stop arriving after this many (None: run until stopped)."""
    agents: int = 50
    channel_mix: Mapping[str, float] = field(default_factory=lambda: DEFAULT_CHANNEL_MIX)
    languages: Mapping[str, float] = field(default_factory=lambda: DEFAULT_LANGUAGES)
    queues: tuple[QueueSpec, ...] = DEFAULT_QUEUES
    accept_share: float = 0.85
    decline_share: float = 0.08
    """The rest of the offers are ignored and left to expire."""
    think_s: tuple[float, float] = (0.2, 1.5)
    handle_s: Mapping[str, float] = field(default_factory=lambda: {
        "voice": 20.0, "chat": 15.0, "messaging": 30.0, "sms": 30.0, "email": 40.0, "social": 30.0})
    """Mean handling time per channel."""
    patience_s: float = 60.0
    """Mean time a customer waits for an agent before leaving."""
    vip_share: float = 0.05
    transfer_share: float = 0.04
    escalation_share: float = 0.03
    escalation_queue: str = "tier2"
    """Escalations go to this queue; agents with a skill of the same name work it."""
    break_share: float = 0.1
    """Chance a free agent takes a short break after finishing a conversation."""
    break_s: float = 10.0
    missed_offer_back_s: float = 10.0
    """Mean time an agent who let an offer expire takes to be back and set themselves
    available (the router sets such an agent away: RONA)."""
    warmup_s: float = 2.0
    """Customers start arriving this long after the agents log in."""
    source: str = "switchboard/simulator-live"


@dataclass(slots=True)
class _Conversation:
    id: str
    channel: str
    queue: str
    phase: str = "waiting"
    """waiting, offered, accepted, assigned, done."""
    agent: str | None = None
    offers_seen: int = 0


@dataclass(slots=True)
class _Agent:
    id: str
    available: bool = True
    holding: set[str] = field(default_factory=set)


@dataclass(slots=True)
class DeskStats:
    started: int = 0
    offers: int = 0
    accepted: int = 0
    declined: int = 0
    ignored: int = 0
    assigned: int = 0
    resolved: int = 0
    abandoned: int = 0
    transferred: int = 0
    escalated: int = 0


class LiveDesks:
    """Customers and agents of one live run."""

    def __init__(self, config: DeskConfig, start: datetime) -> None:
        self.config = config
        self.rng = random.Random(config.seed)
        self.conversations: dict[str, _Conversation] = {}
        self.agents: dict[str, _Agent] = {}
        self.stats = DeskStats()
        self._queue: list[tuple[datetime, int, Callable[[datetime], None]]] = []
        self._seq = itertools.count()
        self._out: list[Event] = []
        self._next_arrival = start
        self._arrivals = 0

    # --- what the shell calls -------------------------------------------------

    def begin(self, now: datetime) -> list[Event]:
        """Every agent logs in and becomes available."""
        for index in range(self.config.agents):
            agent = _Agent(f"{self.config.run}-agent-{index:04d}")
            self.agents[agent.id] = agent
            self._emit(agent.id, self._login(index), now)
            self._emit(agent.id, ag.AgentStatusChanged(status="available"), now)
        self._next_arrival = now + timedelta(seconds=self.config.warmup_s)
        return self._flush()

    def tick(self, now: datetime) -> list[Event]:
        """Arrivals and scheduled actions due by `now`."""
        while self.arriving() and self._next_arrival <= now:
            self._arrive(self._next_arrival)
            self._next_arrival += timedelta(seconds=self.rng.expovariate(self.config.rate))
        while self._queue and self._queue[0][0] <= now:
            when, _, action = heapq.heappop(self._queue)
            action(when)
        return self._flush()

    def observe(self, event: Event, now: datetime) -> None:
        """React to an event of one of our conversations read back from the log."""
        conv = self.conversations.get(event.subject)
        if conv is None or conv.phase == "done":
            return
        match event.data:
            case cv.Offered(agent_id=agent_id) if agent_id in self.agents:
                conv.phase, conv.agent = "offered", agent_id
                conv.offers_seen += 1
                self.stats.offers += 1
                self._answer_later(conv, agent_id, conv.offers_seen, now)
            case cv.OfferExpired(agent_id=agent_id) if agent_id in self.agents:
                conv.phase, conv.agent = "waiting", None
                self._back_after_missing(agent_id, now)
            case cv.OfferDeclined() | cv.OfferExpired() | cv.Transferred(to_queue=str()) | \
                    cv.Escalated(to_queue=str()):
                self._release(conv)
                conv.phase, conv.agent = "waiting", None
            case cv.Assigned(agent_id=agent_id) if agent_id in self.agents:
                conv.phase, conv.agent = "assigned", agent_id
                self.agents[agent_id].holding.add(conv.id)
                self.stats.assigned += 1
                self._later(now, self._handle_time(conv), lambda t: self._finish(conv, agent_id, t))
            case cv.Abandoned() | cv.Resolved():
                self._release(conv)
                conv.phase = "done"

    def end(self, now: datetime) -> list[Event]:
        """Every agent logs out: the run is over and nothing more should be offered to them."""
        for agent_id in self.agents:
            self._emit(agent_id, ag.LoggedOut(reason="simulation over"), now)
        return self._flush()

    def finished(self) -> bool:
        """True when arrivals are over and every conversation has ended."""
        return not self.arriving() and all(c.phase == "done" for c in self.conversations.values())

    def open_conversations(self) -> int:
        return sum(1 for c in self.conversations.values() if c.phase != "done")

    # --- customers ------------------------------------------------------------

    def arriving(self) -> bool:
        return self.config.conversations is None or self._arrivals < self.config.conversations

    def _arrive(self, now: datetime) -> None:
        cfg, rng = self.config, self.rng
        self._arrivals += 1
        channel: Any = _pick(rng, cfg.channel_mix)
        spec = rng.choices(cfg.queues, weights=[q.weight for q in cfg.queues])[0]
        cid = f"{cfg.run}-conv-{self._arrivals:06d}"
        conv = _Conversation(cid, channel, spec.name)
        self.conversations[cid] = conv
        priority = 5 if rng.random() < cfg.vip_share else 0
        skills = {spec.skill: rng.choice((1, 3, 5))}
        self._emit(cid, cv.ConversationStarted(
            channel=channel, mode=mode_of(channel), customer_id=f"{cfg.run}-cust-{rng.randrange(10**6)}",
            queue=spec.name, priority=priority, language=_pick(rng, cfg.languages),
            required_skills=skills), now)
        self._emit(cid, cv.Queued(queue=spec.name, priority=priority, required_skills=skills), now)
        self.stats.started += 1
        self._later(now, rng.expovariate(1 / cfg.patience_s), lambda t: self._give_up(conv, t))

    def _give_up(self, conv: _Conversation, now: datetime) -> None:
        if conv.phase in ("waiting", "offered"):
            self._emit(conv.id, cv.Abandoned(reason="customer_left"), now)
            self.stats.abandoned += 1
            self._release(conv)
            conv.phase = "done"

    # --- agents ---------------------------------------------------------------

    def _login(self, index: int) -> ag.LoggedIn:
        rng, cfg = self.rng, self.config
        skills = {q.skill: rng.randint(3, 10) for q in cfg.queues if rng.random() < 0.6}
        if not skills:
            skills = {cfg.queues[index % len(cfg.queues)].skill: 7}
        if rng.random() < 0.2:
            skills[cfg.escalation_queue] = rng.randint(5, 10)
        languages = ["en"] + [lang for lang in cfg.languages if lang != "en" and rng.random() < 0.3]
        return ag.LoggedIn(name=f"Agent {index}", skills=skills, languages=languages,
                           capacity={"voice": 1, "chat": 1, "messaging": 6, "sms": 6, "social": 4,
                                     "email": 4})

    def _answer_later(self, conv: _Conversation, agent_id: str, number: int, now: datetime) -> None:
        cfg, roll = self.config, self.rng.random()
        if roll >= cfg.accept_share + cfg.decline_share:
            self.stats.ignored += 1
            return
        accept = roll < cfg.accept_share

        def answer(t: datetime) -> None:
            if conv.phase != "offered" or conv.agent != agent_id or conv.offers_seen != number:
                return
            if accept:
                conv.phase = "accepted"
                self.stats.accepted += 1
                self._emit(conv.id, cv.OfferAccepted(agent_id=agent_id), t)
            else:
                self.stats.declined += 1
                self._emit(conv.id, cv.OfferDeclined(agent_id=agent_id, reason="busy"), t)

        self._later(now, self.rng.uniform(*cfg.think_s), answer)

    def _handle_time(self, conv: _Conversation) -> float:
        return self.rng.expovariate(1 / self.config.handle_s.get(conv.channel, 20.0))

    def _finish(self, conv: _Conversation, agent_id: str, now: datetime) -> None:
        if conv.phase != "assigned" or conv.agent != agent_id:
            return
        cfg, rng = self.config, self.rng
        self._emit(conv.id, cv.MessageSent(message_id=f"{conv.id}-m{rng.randrange(10**9)}",
                                           author_id=agent_id, text="Anything else?"), now)
        roll = rng.random()
        if roll < cfg.transfer_share:
            others = [q.name for q in cfg.queues if q.name != conv.queue] or [conv.queue]
            target = rng.choice(others)
            self._emit(conv.id, cv.Transferred(from_agent_id=agent_id, from_queue=conv.queue,
                                               to_queue=target, reason="wrong queue"), now)
            conv.queue, conv.phase, conv.agent = target, "waiting", None
            self.stats.transferred += 1
        elif roll < cfg.transfer_share + cfg.escalation_share:
            self._emit(conv.id, cv.Escalated(tier=2, reason="needs tier 2",
                                             to_queue=cfg.escalation_queue), now)
            conv.queue, conv.phase, conv.agent = cfg.escalation_queue, "waiting", None
            self.stats.escalated += 1
        else:
            self._emit(conv.id, cv.Resolved(resolved_by="agent"), now)
            conv.phase = "done"
            self.stats.resolved += 1
        self._drop_holding(agent_id, conv.id, now)

    def _release(self, conv: _Conversation) -> None:
        if conv.agent and conv.phase == "assigned":
            self.agents[conv.agent].holding.discard(conv.id)

    def _drop_holding(self, agent_id: str, cid: str, now: datetime) -> None:
        agent = self.agents[agent_id]
        agent.holding.discard(cid)
        if agent.holding or not agent.available or self.rng.random() >= self.config.break_share:
            return
        self._emit(agent_id, ag.AgentStatusChanged(status="away", aux_code="break"), now)
        self._away_for(agent, self.config.break_s, now)

    def _back_after_missing(self, agent_id: str, now: datetime) -> None:
        """The agent was away from the desk when the offer came; back later, they say so."""
        agent = self.agents[agent_id]
        if agent.available:  # on a break, the break's end sets them available
            self._away_for(agent, self.config.missed_offer_back_s, now)

    def _away_for(self, agent: _Agent, mean_s: float, now: datetime) -> None:
        """Away from the desk for a while (exponential, `mean_s`), then available again."""
        agent.available = False

        def back(t: datetime) -> None:
            agent.available = True
            self._emit(agent.id, ag.AgentStatusChanged(status="available"), t)

        self._later(now, self.rng.expovariate(1 / mean_s), back)

    # --- plumbing -------------------------------------------------------------

    def _later(self, now: datetime, seconds: float, action: Callable[[datetime], None]) -> None:
        heapq.heappush(self._queue, (now + timedelta(seconds=seconds), next(self._seq), action))

    def _emit(self, subject: str, data: Any, time: datetime) -> None:
        # Ids from the seeded generator: a run replayed with the same seed and inputs
        # produces the same ids, which the ingest and reducers treat as duplicates.
        event_id = str(uuid.UUID(int=self.rng.getrandbits(128), version=4))
        self._out.append(new_event(data, subject=subject, source=self.config.source, time=time,
                                   id=event_id))

    def _flush(self) -> list[Event]:
        out, self._out = self._out, []
        return out


def _pick(rng: random.Random, weights: Mapping[str, float]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]

