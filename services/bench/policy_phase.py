"""Phase "policy": one routing pass of the pure policy over 500 agents, timed in-process.

No broker, no clock but the pass itself: the model is folded from generated events
(500 available agents with random skills and languages, some conversations waiting),
then `decide` runs on it again and again without its decisions being applied, so
every pass does the same work. `longest_idle` walks the model's cached idle order to
the first agent who fits; the baseline in the same run is `least_occupied`, which
weighs every candidate. Reported as microseconds per pass and their ratio.
"""

from __future__ import annotations

import random
import statistics
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from schemas.envelope import Envelope, new_event
from schemas.events.agent import AgentStatusChanged, LoggedIn
from schemas.events.conversation import ConversationStarted, Queued
from schemas.events.vocabulary import Channel, mode_of
from services.router.config import parse_config
from services.router.model import RoutingModel
from services.router.policy import decide

AGENTS = 500
WAITING = (1, 10, 50)
SKILLS = ("billing", "tech", "sales", "returns", "french", "vip")
CHANNELS: tuple[Channel, ...] = ("chat", "voice", "messaging", "email")
T0 = datetime(2026, 1, 1, 9, tzinfo=UTC)
SOURCE = "switchboard/bench/policy"


def _model(strategy: str, waiting: int, seed: int = 5) -> RoutingModel:
    rng = random.Random(seed)
    model = RoutingModel(parse_config(f'[queues.default]\nstrategy = "{strategy}"\n'))
    events: list[Envelope[Any]] = []
    for i in range(AGENTS):
        agent = f"agent-{i:04d}"
        skills = {s: rng.randint(1, 10) for s in rng.sample(SKILLS, rng.randint(1, 4))}
        languages = ["en", "fr"] if rng.random() < 0.3 else ["en"]
        at = T0 + timedelta(milliseconds=i)
        events += [new_event(LoggedIn(skills=skills, languages=languages,
                                      capacity={"chat": 1, "voice": 1, "messaging": 8,
                                                "email": 5}), subject=agent, source=SOURCE, time=at),
                   new_event(AgentStatusChanged(status="available"), subject=agent,
                             source=SOURCE, time=at)]
    for i in range(waiting):
        conv, channel = f"conv-{i:04d}", rng.choice(CHANNELS)
        # Demanding skill levels, so some passes look past many agents before one fits.
        skills = {rng.choice(SKILLS): rng.randint(6, 10)}
        at = T0 + timedelta(seconds=1, milliseconds=i)
        events += [new_event(ConversationStarted(channel=channel, mode=mode_of(channel),
                                                 customer_id=f"cust-{i}", queue="billing",
                                                 required_skills=skills),
                             subject=conv, source=SOURCE, time=at),
                   new_event(Queued(queue="billing", required_skills=skills), subject=conv,
                             source=SOURCE, time=at)]
    for event in events:
        model.apply(event)
    return model


def _pass_us(model: RoutingModel, seconds: float = 0.5) -> float:
    """Median microseconds of one pass, over as many passes as fit in `seconds`."""
    now = T0 + timedelta(seconds=2)
    decide(model, "default", now)  # warm the model's caches
    times: list[float] = []
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline or len(times) < 5:
        began = time.perf_counter()
        decide(model, "default", now)
        times.append(time.perf_counter() - began)
    return statistics.median(times) * 1e6


def run_policy() -> dict[str, Any]:
    """Per number waiting: longest_idle and least_occupied pass times and their ratio."""
    results: dict[str, Any] = {"agents": AGENTS, "passes": []}
    for waiting in WAITING:
        walk = _pass_us(_model("longest_idle", waiting))
        weigh = _pass_us(_model("least_occupied", waiting))
        results["passes"].append({"waiting": waiting, "longest_idle_us": walk,
                                  "least_occupied_us": weigh, "ratio": walk / weigh})
        print(f"bench: policy pass, {AGENTS} agents, {waiting} waiting: longest_idle "
              f"{walk:,.0f} us, least_occupied {weigh:,.0f} us", flush=True)
    return results
