"""The routing policy: which waiting conversation goes to which agent, now (pure).

`decide(model, domain, now)` reads the model and returns the decisions one pass
makes, in order: assign accepted offers, expire stale ones, overflow long waits,
then match waiting conversations to agents, highest priority and longest wait
first. It never mutates the model; the shell produces the decisions and the model
learns them back from the log.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from projections.agents.state import AgentState
from projections.conversations.state import ConversationState
from services.router.config import ANY_QUEUE, QueuePolicy, RoutingConfig
from services.router.model import RoutingModel


@dataclass(frozen=True, slots=True)
class Offer:
    conversation_id: str
    agent_id: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class Assign:
    conversation_id: str
    agent_id: str


@dataclass(frozen=True, slots=True)
class Expire:
    conversation_id: str
    agent_id: str


@dataclass(frozen=True, slots=True)
class Overflow:
    conversation_id: str
    from_queue: str
    to_queue: str


@dataclass(frozen=True, slots=True)
class SetAway:
    """RONA: the agent let the offer of `conversation_id` expire and is set away."""

    conversation_id: str
    agent_id: str


Decision = Offer | Assign | Expire | Overflow | SetAway


def decide(model: RoutingModel, domain: str, now: datetime) -> list[Decision]:
    """Every decision due at `now` for the queues of `domain`."""
    config = model.config
    in_flight = {p.conversation_id for p in model.pending.values()}
    queues = config.domains[domain].queues
    waiting = model.waiting if ANY_QUEUE in queues else (
        cid for q in queues for cid in model.waiting_by_queue.get(q, ()))
    mine = [model.conversations[c] for c in sorted(
        c for c in waiting
        if c not in in_flight and config.domain_of(model.conversations[c].queue) == domain)]
    decisions: list[Decision] = []
    queued: list[ConversationState] = []
    away: set[str] = set()
    """Agents set away in this pass: offered nothing more in it."""
    for conv in mine:
        if conv.phase == "offered":
            due = _offer_due(conv, now)
            decisions.extend(due)
            decisions.extend(_missed(model, due, away))
        elif (overflow := _overflow_due(conv, config.policy(conv.queue), now)) is not None:
            decisions.append(overflow)
        else:
            queued.append(conv)
    if not queued:
        return decisions  # nothing to place: no need to weigh every agent's load
    queued.sort(key=lambda c: (-effective_priority(c, config, now), c.waiting_since,
                               c.conversation_id))
    desks = _Desks(model, domain, away)
    for conv in queued:
        agent = desks.choose(conv, now)
        if agent is None:
            continue
        policy = config.policy(conv.queue)
        if policy.auto_accept:
            decisions.append(Assign(conv.conversation_id, agent))
        else:
            expires = now + timedelta(seconds=policy.offer_timeout_s)
            decisions.append(Offer(conv.conversation_id, agent, expires))
        desks.reserve(agent, conv.channel)
        desks.given[agent] = now
    return decisions


def _offer_due(conv: ConversationState, now: datetime) -> list[Decision]:
    agent = conv.offered_agent_id
    if agent is None:
        return []
    if conv.offer_accepted:
        return [Assign(conv.conversation_id, agent)]
    if conv.offer_expires_at is not None and conv.offer_expires_at <= now:
        return [Expire(conv.conversation_id, agent)]
    return []


def _missed(model: RoutingModel, due: list[Decision], away: set[str]) -> list[Decision]:
    """SetAway for each agent whose offer expires while they are still available, unless
    already in `away` (the pass's agents set away, which this adds to)."""
    if not model.config.routing.away_on_missed_offer:
        return []
    missed: list[Decision] = []
    for d in due:
        agent = model.agents.get(d.agent_id) if isinstance(d, Expire) else None
        if agent is not None and agent.logged_in and agent.status == "available" \
                and agent.agent_id not in away:
            missed.append(SetAway(d.conversation_id, agent.agent_id))
            away.add(agent.agent_id)
    return missed


def _overflow_due(conv: ConversationState, policy: QueuePolicy, now: datetime) -> Overflow | None:
    if policy.overflow is None or waited(conv, now) < policy.overflow.after_s:
        return None
    return Overflow(conv.conversation_id, conv.queue, policy.overflow.to)


def waited(conv: ConversationState, now: datetime) -> float:
    """Seconds the conversation has waited in its current queue (0 when it does not wait)."""
    since = conv.waiting_since
    return 0.0 if since is None else max(0.0, (now - since).total_seconds())


def effective_priority(conv: ConversationState, config: RoutingConfig, now: datetime) -> int:
    """The stated priority, raised for negative sentiment and for SLA at risk."""
    priority = conv.priority
    if conv.sentiment == "negative":
        priority += config.priority.negative_sentiment
    at_risk = config.policy(conv.queue).sla_at_risk_after_s
    if at_risk is not None and waited(conv, now) >= at_risk:
        priority += config.priority.sla_at_risk
    return priority


def needed_skills(conv: ConversationState, policy: QueuePolicy) -> dict[str, int]:
    """The conversation's own skills and its queue's, the higher level where both name one."""
    skills = dict(policy.required_skills)
    for skill, level in conv.required_skills.items():
        skills[skill] = max(level, skills.get(skill, 0))
    return skills


def required_skills(conv: ConversationState, policy: QueuePolicy, now: datetime) -> dict[str, int]:
    """The skills still required after the bullseye rings the wait has reached."""
    skills = needed_skills(conv, policy)
    wait = waited(conv, now)
    for ring in policy.relax:
        if wait < ring.after_s:
            break
        skills = {s: max(1, level - ring.lower_by) for s, level in skills.items()
                  if s not in ring.drop}
    return skills


class _Desks:
    """The agents of a domain who could take something, with their load during one pass."""

    def __init__(self, model: RoutingModel, domain: str, away: set[str]) -> None:
        self.model, self.config = model, model.config
        self.roster = model.roster(domain)
        self.roster_domain = domain
        self.reserved: dict[str, dict[str, int]] = {}
        """Loads changed during this pass (open decisions, this pass's own); the others
        are read from the model's cache when needed."""
        self.away = set(away)
        """Agents being set away (this pass or still on the way): offered nothing."""
        self._room: dict[str, set[str]] = {}
        """Per channel, the roster's agents with room for one more conversation of it, as
        of now in the pass: a backlog of a thousand weighed against a thousand agents asks
        a set, not the load rules, for each pair (a pass took 10 s in the chaos run)."""
        for pending in model.pending.values():
            if pending.agent_id not in self.roster.agents:
                continue
            if pending.channel is None:
                self.away.add(pending.agent_id)
            else:
                self.reserve(pending.agent_id, pending.channel)
        self._fruitless: set[tuple[object, ...]] = set()
        self._idle_room: dict[tuple[str | None, str], tuple[str, ...]] = {}
        self.given: dict[str, datetime] = {}
        """Agents given a conversation in this pass, and when."""

    def load(self, agent_id: str) -> dict[str, int]:
        """What the agent holds or has been offered, per channel, as of this pass."""
        reserved = self.reserved.get(agent_id)
        return reserved if reserved is not None else self.model.load(self.model.agents[agent_id])

    def reserve(self, agent_id: str, channel: str) -> None:
        """Count one more conversation against the agent for the rest of the pass."""
        load = dict(self.load(agent_id))  # the model's cached dict stays untouched
        load[channel] = load.get(channel, 0) + 1
        self.reserved[agent_id] = load
        agent = self.model.agents.get(agent_id)
        for held, room in self._room.items():
            if agent is None or not self.free(agent, held):  # mixing rules span channels
                room.discard(agent_id)

    def free(self, agent: AgentState, channel: str) -> bool:
        """Whether the agent has room for one more `channel` conversation."""
        if agent.agent_id in self.away:
            return False
        load = self.load(agent.agent_id)
        if load.get(channel, 0) >= self.config.capacity(agent.capacity, channel):
            return False
        mixing = self.config.routing.mixing
        return not any(n and channel in mixing.get(held, ()) for held, n in load.items())

    def choose(self, conv: ConversationState, now: datetime) -> str | None:
        """The agent to give `conv` to now, or None when nobody fits."""
        policy = self.config.policy(conv.queue)
        skills = required_skills(conv, policy, now)
        excluded = {a for a, until in self.model.excluded.get(conv.conversation_id, {}).items()
                    if until > now}
        key = (conv.queue, conv.channel, conv.language, tuple(sorted(skills.items())))
        if not excluded and key in self._fruitless:
            return None
        skill = self._rarest(skills)
        previous = self._previous_agent(conv, now)
        if (previous is not None and previous not in excluded and self._offers_to(previous, skill)
                and self._fits(self.model.agents[previous], conv, skills)):
            chosen: str | None = previous
        elif policy.strategy == "longest_idle":
            chosen = self._longest_idle(conv, skills, skill, excluded, now)
        else:
            fits = [a for a in self._candidates(skill)
                    if a.agent_id not in excluded and self._fits(a, conv, skills)]
            chosen = pick(fits, policy, conv, self, now) if fits else None
        if chosen is None and not excluded:
            self._fruitless.add(key)
        return chosen

    def idle(self, agent: AgentState, now: datetime) -> tuple[datetime, str]:
        """How long the agent has been idle, as a sort key: since the latest of becoming
        available, finishing or being given a conversation (this pass's included, so
        asynchronous agents share the work)."""
        since = self.model.idle_since(agent)
        given = self.given.get(agent.agent_id)
        if given is not None and (since is None or given > since):
            since = given
        return (since or now, agent.agent_id)

    def _longest_idle(self, conv: ConversationState, skills: dict[str, int], skill: str | None,
                      excluded: set[str], now: datetime) -> str | None:
        """The first agent in the idle order who fits: the one `pick` would choose, without
        weighing every agent. Agents given something this pass, or never idle, have a place
        that depends on the pass; they are weighed one by one (there are few)."""
        agents = self.model.agents
        order = self.model.idle_order(self.roster_domain, skill)
        best: tuple[datetime, str] | None = None
        for agent_id in self._idle_with_room(skill, conv.channel):
            if agent_id in excluded or agent_id in self.given:
                continue
            agent = agents[agent_id]
            if self._fits(agent, conv, skills):
                best = self.idle(agent, now)
                break
        for agent_id in (*self.given, *order.undated):
            if agent_id in excluded or not self._offers_to(agent_id, skill):
                continue
            agent = agents[agent_id]
            key = self.idle(agent, now)
            if (best is None or key < best) and self._fits(agent, conv, skills):
                best = key
        return None if best is None else best[1]

    def _rarest(self, skills: dict[str, int]) -> str | None:
        """The required skill the fewest available agents have (None: no skill required)."""
        if not skills:
            return None
        return min(skills, key=lambda s: len(self.roster.by_skill.get(s, ())))

    def _offers_to(self, agent_id: str, skill: str | None) -> bool:
        """Whether the agent is among the candidates for a skill: available, served by the
        domain, and having it."""
        return agent_id in self.roster.agents and (
            skill is None or skill in self.model.agents[agent_id].skills)

    def _candidates(self, skill: str | None) -> Iterable[AgentState]:
        agents = self.model.agents
        ids = self.roster.agents if skill is None else self.roster.by_skill.get(skill, ())
        return (agents[a] for a in ids)

    def _room_for(self, channel: str) -> set[str]:
        room = self._room.get(channel)
        if room is None:
            agents = self.model.agents
            room = self._room[channel] = {a for a in self.roster.agents
                                          if self.free(agents[a], channel)}
        return room

    def _has_room(self, agent: AgentState, channel: str) -> bool:
        if agent.agent_id not in self.roster.agents:
            return self.free(agent, channel)
        return agent.agent_id in self._room_for(channel)

    def _idle_with_room(self, skill: str | None, channel: str) -> tuple[str, ...]:
        """The idle order of `skill`'s agents, those without room for `channel` left out
        as the pass began it (room only shrinks during a pass: `_fits` checks again)."""
        found = self._idle_room.get((skill, channel))
        if found is None:
            room = self._room_for(channel)
            order = self.model.idle_order(self.roster_domain, skill)
            found = self._idle_room[(skill, channel)] = tuple(
                a for a in order.dated if a in room)
        return found

    def _fits(self, agent: AgentState, conv: ConversationState, skills: dict[str, int]) -> bool:
        if not self._has_room(agent, conv.channel):
            return False
        return agent.speaks(conv.language) and agent.has_skills(skills)

    def _previous_agent(self, conv: ConversationState, now: datetime) -> str | None:
        last = self.model.last_agent.get(conv.customer_id)
        window = self.config.routing.prefer_previous_agent_s
        if last is None or (now - last[1]).total_seconds() > window:
            return None
        return last[0]


def pick(fits: list[AgentState], policy: QueuePolicy, conv: ConversationState, desks: _Desks,
         now: datetime) -> str:
    """The queue's strategy applied to the agents who fit (ties: longest idle, then id)."""
    def idle(a: AgentState) -> tuple[datetime, str]:
        return desks.idle(a, now)

    match policy.strategy:
        case "least_occupied":
            best = min(fits, key=lambda a: (_occupancy(a, desks), *idle(a)))
        case "most_proficient":
            needed = needed_skills(conv, policy)
            best = min(fits, key=lambda a: (-sum(a.skills.get(s, 0) for s in needed), *idle(a)))
        case _:
            best = min(fits, key=idle)
    return best.agent_id


def _occupancy(agent: AgentState, desks: _Desks) -> float:
    load = desks.load(agent.agent_id)
    channels = set(agent.capacity) | set(load)
    capacity = sum(desks.config.capacity(agent.capacity, c) for c in channels)
    held = sum(load.values())
    # No stated capacity and nothing held: an idle agent on the default capacity, not a full one.
    return held / capacity if capacity else float(held > 0)
