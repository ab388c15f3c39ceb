"""The router's picture of the world, folded from the log with the projections' reducers.

Pure: no clock, no I/O; time comes from the events. The router folds every
conversation and agent event itself (rather than reading the worker's published
projections) so that it sees its own decisions as soon as they are on the log and
never decides on a picture older than the log it has read.

Decisions the router has produced but not yet read back are `pending`: they count
against the agent's capacity and keep the conversation out of the next pass, so
nothing is decided twice while a decision is in flight.
"""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass
from datetime import datetime, timedelta

from projections.agents import reducer as agents
from projections.agents.state import AgentState
from projections.changes import change_between
from projections.conversations import reducer as conversations
from projections.conversations.retention import expired
from projections.conversations.state import TERMINAL_PHASES, ConversationState
from projections.dedupe import Position
from projections.errors import LifecycleError
from projections.fanout import to_agents
from schemas.envelope import Envelope
from schemas.events import EventData
from schemas.events.conversation import OfferDeclined, OfferExpired
from schemas.topics import Family, family_of
from services.router.config import Domain, RoutingConfig

Event = Envelope[EventData]


@dataclass(frozen=True, slots=True)
class Pending:
    """A decision on its way to the log: which agent it reserves, on which channel."""

    conversation_id: str
    agent_id: str | None
    channel: str | None
    """None: the whole agent, whose status change is on its way."""


@dataclass(frozen=True, slots=True)
class Roster:
    """The available agents a domain serves, and those of them with each skill."""

    agents: set[str]
    by_skill: dict[str, set[str]]


@dataclass(frozen=True, slots=True)
class IdleOrder:
    """Agents by how long they have been idle: `dated` longest idle first (ties by id), then
    `undated`, who never logged in, became available or held anything as far as the log says."""

    dated: tuple[str, ...]
    undated: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class LastContact:
    agent_id: str
    at: datetime


@dataclass(frozen=True, slots=True)
class Finished:
    at: datetime
    conversation_id: str


@dataclass(frozen=True, slots=True)
class ModelState:
    """What a model knows that cannot be derived again from the rest: enough to carry on
    folding the log from where it was taken (see `services/router/snapshot.py`)."""

    conversations: dict[str, ConversationState]
    agents: dict[str, AgentState]
    last_agent: dict[str, LastContact]
    excluded: dict[str, dict[str, datetime]]
    finished: tuple[Finished, ...]
    rejected: dict[str, int]
    applied: int
    latest: datetime | None


def serves(domain: Domain, agent: AgentState) -> bool:
    """Whether the domain routes to this agent (it has one of the domain's skills, or the
    domain takes every agent)."""
    return not domain.agent_skills or not agent.skills.keys().isdisjoint(domain.agent_skills)


def domains_serving(config: RoutingConfig, agent: AgentState) -> list[str]:
    """The domains whose routers may offer this agent work."""
    return sorted(name for name, domain in config.domains.items() if serves(domain, agent))


def shared_with(config: RoutingConfig, domain: str, agent: AgentState) -> list[str]:
    """The domains that share the agent with `domain` (both serve it), `domain` included;
    empty when they do not. A configuration risk: each router sees the other's offers only
    once they are on the log, so for a moment both can fill the agent's last slot."""
    domains = domains_serving(config, agent)
    return domains if domain in domains and len(domains) > 1 else []


class RoutingModel:
    """Conversations, agents, customers' last agents and offer exclusions, as of the
    events applied so far."""

    def __init__(self, config: RoutingConfig) -> None:
        self.config = config
        self.conversations: dict[str, ConversationState] = {}
        self.agents: dict[str, AgentState] = {}
        self.waiting: set[str] = set()
        """Conversations queued or offered (any domain)."""
        self.waiting_by_queue: dict[str, set[str]] = {}
        """The same, by the queue they wait in (do not mutate)."""
        self.last_agent: dict[str, tuple[str, datetime]] = {}
        """Customer -> the agent who last held one of their conversations, and when."""
        self.excluded: dict[str, dict[str, datetime]] = {}
        """Conversation -> agent -> until when that agent gets no offer of it."""
        self.pending: dict[str, Pending] = {}
        """Event id -> decision produced and not yet read back."""
        self.rejected: Counter[str] = Counter()
        """Events that broke the lifecycle when folded, by reason (the worker dead-letters
        them; the router only skips them)."""
        self.available: set[str] = set()
        """Agents logged in with status available: the only ones offered anything."""
        self._loads: dict[str, tuple[AgentState, dict[str, int]]] = {}
        self._rosters: dict[str, Roster] = {}
        self._idle: dict[str, tuple[AgentState, datetime | None]] = {}
        self._orders: dict[tuple[str, str | None], tuple[tuple[int, int], IdleOrder]] = {}
        self.agents_version = 0
        """Counts every new agent state, whichever event made it: what is derived from
        agent states (the idle order) stays valid while it stands."""
        self._agents_changed = 0
        """Counts agent events and reconfigurations: who is in a domain's roster changes
        only then (an idle order is valid for one count and one `agents_version`)."""
        self.applied = 0
        self.latest: datetime | None = None
        self._finished: deque[tuple[datetime, str]] = deque()

    def state(self) -> ModelState:
        """The model's own facts, without decisions in flight (those are on the log past
        wherever the state is taken, and come back when it is read from there)."""
        return ModelState(
            conversations=dict(self.conversations), agents=dict(self.agents),
            last_agent={c: LastContact(a, t) for c, (a, t) in self.last_agent.items()},
            excluded={c: dict(until) for c, until in self.excluded.items()},
            finished=tuple(Finished(t, c) for t, c in self._finished),
            rejected=dict(self.rejected), applied=self.applied, latest=self.latest)

    @classmethod
    def from_state(cls, config: RoutingConfig, state: ModelState) -> RoutingModel:
        """A model that knows what `state` says, as if it had folded the same events."""
        model = cls(config)
        model.conversations = dict(state.conversations)
        model.agents = dict(state.agents)
        model.last_agent = {c: (last.agent_id, last.at) for c, last in state.last_agent.items()}
        model.excluded = {c: dict(until) for c, until in state.excluded.items()}
        model._finished = deque((f.at, f.conversation_id) for f in state.finished)
        model.rejected = Counter(state.rejected)
        model.applied, model.latest = state.applied, state.latest
        for cid, conv in model.conversations.items():
            model._wait_in(cid, None, conv.waiting_in)
        model.available = {a.agent_id for a in model.agents.values()
                           if a.logged_in and a.status == "available"}
        return model

    def reconfigure(self, config: RoutingConfig) -> None:
        """Use a reloaded configuration from the next decision on."""
        self.config = config
        self._agents_changed += 1
        self._rosters.clear()  # which agents a domain serves may have changed

    def expect(self, event_id: str, pending: Pending) -> None:
        """Remember a decision produced under `event_id` until it comes back."""
        self.pending[event_id] = pending

    def pending_for(self, conversation_id: str) -> bool:
        """True while a decision about this conversation is in flight."""
        return any(p.conversation_id == conversation_id for p in self.pending.values())

    def load(self, agent: AgentState) -> dict[str, int]:
        """Conversations per channel the agent holds or has been offered (do not mutate).
        Cached per agent state: states are immutable, so a new state means a new load."""
        cached = self._loads.get(agent.agent_id)
        if cached is not None and cached[0] is agent:
            return cached[1]
        load = {channel: len(held) for channel, held in agent.holding.items() if held}
        for cid in agent.offered:
            conv = self.conversations.get(cid)
            if conv is not None:
                load[conv.channel] = load.get(conv.channel, 0) + 1
        self._loads[agent.agent_id] = (agent, load)
        return load

    def roster(self, domain: str) -> Roster:
        """The available agents `domain` serves, indexed by skill (do not mutate). Built once,
        then kept up to date agent by agent as agent events arrive."""
        roster = self._rosters.get(domain)
        if roster is None:
            roster = Roster(set(), {})
            for agent_id in self.available:
                self._enrol(domain, roster, self.agents[agent_id])
            self._rosters[domain] = roster
        return roster

    def _enrol(self, domain: str, roster: Roster, agent: AgentState) -> None:
        if agent.agent_id in self.available and serves(self.config.domains[domain], agent):
            roster.agents.add(agent.agent_id)
            for skill in agent.skills:
                roster.by_skill.setdefault(skill, set()).add(agent.agent_id)

    def _update_rosters(self, before: AgentState | None, after: AgentState) -> None:
        for domain, roster in self._rosters.items():
            if before is not None and before.agent_id in roster.agents:
                roster.agents.discard(before.agent_id)
                for skill in before.skills:
                    roster.by_skill[skill].discard(before.agent_id)
            self._enrol(domain, roster, after)

    def idle_since(self, agent: AgentState) -> datetime | None:
        """When the agent last became idle: the latest of logging in, becoming available,
        being given and finishing a conversation (None when none happened). Cached per state."""
        cached = self._idle.get(agent.agent_id)
        if cached is not None and cached[0] is agent:
            return cached[1]
        moments = [t for t in (agent.status_since, agent.last_released_at,
                               agent.last_assigned_at, agent.logged_in_at) if t]
        since = max(moments) if moments else None
        self._idle[agent.agent_id] = (agent, since)
        return since

    def idle_order(self, domain: str, skill: str | None) -> IdleOrder:
        """The domain's available agents with `skill` (all of them for None), idle longest
        first; kept until an agent's state changes (do not mutate)."""
        version = (self._agents_changed, self.agents_version)
        cached = self._orders.get((domain, skill))
        if cached is not None and cached[0] == version:
            return cached[1]
        roster = self.roster(domain)
        ids = roster.agents if skill is None else roster.by_skill.get(skill, ())
        dated: list[tuple[datetime, str]] = []
        undated: list[str] = []
        for agent_id in ids:
            since = self.idle_since(self.agents[agent_id])
            if since is None:
                undated.append(agent_id)
            else:
                dated.append((since, agent_id))
        dated.sort()
        order = IdleOrder(tuple(a for _, a in dated), tuple(sorted(undated)))
        self._orders[(domain, skill)] = (version, order)
        return order

    def apply(self, event: Event, position: Position | None = None) -> str | None:
        """Fold one event read from `cc.conversations` or `cc.agents` at `position` (None:
        unknown); the reason it broke the lifecycle, if it did (it then changes nothing)."""
        self.pending.pop(event.id, None)
        self.applied += 1
        if self.latest is None or event.time > self.latest:
            self.latest = event.time
        try:
            if family_of(event.type) is Family.AGENT:
                self._agents_changed += 1
                before = self.agents.get(event.subject)
                agent = agents.apply(before, event, position)
                self.agents[event.subject] = agent
                self.agents_version += 1
                if agent.logged_in and agent.status == "available":
                    self.available.add(agent.agent_id)
                else:
                    self.available.discard(agent.agent_id)
                self._update_rosters(before, agent)
            else:
                self._conversation(event, position)
        except LifecycleError as exc:
            self.rejected[exc.reason] += 1
            return exc.reason
        finally:
            self._forget(event.time)
        return None

    def _conversation(self, event: Event, position: Position | None) -> None:
        cid = event.subject
        before = self.conversations.get(cid)
        after = conversations.apply(before, event, position)
        if after is before:
            return
        self.conversations[cid] = after
        change = change_between(before, after, event.id, event.time)
        if change is not None:
            self.agents_version += len(to_agents(self.agents, change))
        self._wait_in(cid, before.waiting_in if before else None, after.waiting_in)
        if not after.waiting_in:
            self.excluded.pop(cid, None)
        self._remember_agent(before, after, event.time)
        if isinstance(event.data, (OfferDeclined, OfferExpired)):
            hold_off = timedelta(seconds=self.config.policy(after.queue).decline_exclusion_s)
            self.excluded.setdefault(cid, {})[event.data.agent_id] = event.time + hold_off
        if after.phase in TERMINAL_PHASES:  # its close, or a later event (a survey)
            self._finished.append((event.time, cid))

    def _wait_in(self, cid: str, was: str | None, now: str | None) -> None:
        if was == now:
            return
        if was is not None:
            self.waiting.discard(cid)
            waiting = self.waiting_by_queue[was]
            waiting.discard(cid)
            if not waiting:
                del self.waiting_by_queue[was]
        if now is not None:
            self.waiting.add(cid)
            self.waiting_by_queue.setdefault(now, set()).add(cid)

    def _remember_agent(self, before: ConversationState | None, after: ConversationState,
                        t: datetime) -> None:
        agent = after.holder or (before.holder if before else None)
        if agent:
            self.last_agent[after.customer_id] = (agent, t)

    def _forget(self, now: datetime) -> None:
        """Drop the finished conversations past the horizon (`retention.expired`, as the
        worker's sweep); the clock is the log's."""
        horizon = timedelta(seconds=self.config.forget_after_s)
        while self._finished and now - self._finished[0][0] > horizon:
            _, cid = self._finished.popleft()
            state = self.conversations.get(cid)
            if state is not None and expired(state, now, horizon):
                del self.conversations[cid]
