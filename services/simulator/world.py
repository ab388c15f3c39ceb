"""The simulation's state: a timeline of future actions, agents and conversations.

Everything here is deterministic: one `random.Random` for behaviour, one for ids,
both seeded from the config; simulated seconds stand in for the clock.
"""

from __future__ import annotations

import heapq
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from random import Random
from typing import cast

from schemas.envelope import Envelope, new_event
from schemas.events import EventData
from services.simulator.config import QueueSpec, SimulationConfig, is_sync

Action = Callable[[], None]


@dataclass(slots=True)
class AgentState:
    """One simulated agent: session, status, what it holds and what it is offered."""

    id: str
    name: str
    skills: dict[str, int]
    capacity: dict[str, int]
    languages: tuple[str, ...]
    logged_in: bool = False
    status: str = ""
    aux: str = ""
    held: dict[str, int] = field(default_factory=dict)
    offered: dict[str, int] = field(default_factory=dict)
    in_acw: bool = False
    on_break: bool = False
    break_pending: bool = False
    leaving: bool = False
    break_code: str = ""
    shift_end: float = 0.0
    idle_since: float = 0.0

    def busy_slots(self, channel: str) -> int:
        """Held plus offered conversations on a channel."""
        return self.held.get(channel, 0) + self.offered.get(channel, 0)

    def total_slots(self) -> int:
        """Everything the agent holds or is being offered."""
        return sum(self.held.values()) + sum(self.offered.values())

    def sync_slots(self) -> int:
        """Chats and calls held or offered."""
        return sum(self.busy_slots(c) for c in ("chat", "voice"))

    def can_take(self, channel: str) -> bool:
        """Free capacity on the channel; a call excludes chats and chats exclude a call."""
        if self.busy_slots(channel) >= self.capacity.get(channel, 0):
            return False
        if channel == "voice":
            return self.sync_slots() == 0
        if is_sync(channel):
            return self.busy_slots("voice") == 0
        return True


@dataclass(slots=True)
class ConversationState:
    """One simulated conversation and where it is in its lifecycle."""

    id: str
    number: int
    channel: str
    queue: QueueSpec
    language: str
    priority: int
    required_skills: dict[str, int]
    started_by: str
    customer_id: str
    phase: str = "new"
    """new | bot | waiting | offered | assigned | resolved | abandoned"""
    epoch: int = 0
    """Bumped on every phase change so that stale scheduled actions do nothing."""
    agent: str | None = None
    offers: int = 0
    declined: set[str] = field(default_factory=set)
    queued_at: float = 0.0
    messages: int = 0
    turns_left: int = 0
    reopened: bool = False
    troubled: bool = False


class World:
    """Mutable simulation state plus the event outbox; driven by `model.simulate`."""

    def __init__(self, config: SimulationConfig) -> None:
        self.config = config
        self.rng = Random(config.seed)
        self._ids = Random(f"switchboard-simulator:{config.seed}:{config.start.isoformat()}")
        self.now = 0.0
        self._heap: list[tuple[float, int, Action]] = []
        self._seq = 0
        self.outbox: list[Envelope[EventData]] = []
        self.agents: dict[str, AgentState] = {}
        self.conversations: dict[str, ConversationState] = {}
        self.waiting: dict[str, ConversationState] = {}
        self.dispatch_scheduled = False
        self.request_dispatch: Action = lambda: None
        """Set by the model: asks the stand-in router (if any) to look for matches."""
        self.on_assigned: Callable[[ConversationState, AgentState], None] = lambda c, a: None
        self.on_released: Callable[[AgentState], None] = lambda a: None

    def at(self, when: float, action: Action) -> None:
        """Schedule an action at a simulated time (never in the past)."""
        self._seq += 1
        heapq.heappush(self._heap, (max(when, self.now), self._seq, action))

    def after(self, delay: float, action: Action) -> None:
        """Schedule an action `delay` simulated seconds from now."""
        self.at(self.now + delay, action)

    def next_action(self) -> tuple[float, Action] | None:
        """Pop the earliest action, or None when nothing is left."""
        if not self._heap:
            return None
        when, _, action = heapq.heappop(self._heap)
        return when, action

    def new_id(self) -> str:
        """A UUID4 drawn from the seeded id stream."""
        return str(uuid.UUID(int=self._ids.getrandbits(128), version=4))

    def emit(self, subject: str, data: object) -> None:
        """Record an event that happens now (`data` is an instance of a catalog class)."""
        time = self.config.start + timedelta(seconds=self.now)
        # The catalog's WIRE_TYPE is set by a decorator, which mypy cannot see.
        self.outbox.append(new_event(cast(EventData, data), subject=subject,
                                     source=self.config.source, time=time, id=self.new_id()))

    def pick(self, weights: Mapping[str, float]) -> str:
        """A key drawn with probability proportional to its weight."""
        keys = list(weights)
        return self.rng.choices(keys, weights=[weights[k] for k in keys])[0]

    def chance(self, share: float) -> bool:
        """True with probability `share`."""
        return self.rng.random() < share

    def guarded(self, conv: ConversationState, action: Action) -> Action:
        """Wrap an action so it runs only if the conversation has not changed phase since."""
        epoch = conv.epoch

        def run() -> None:
            if conv.epoch == epoch:
                action()

        return run
