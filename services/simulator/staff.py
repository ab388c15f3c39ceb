"""Simulated agents: shifts, breaks, status, and giving back capacity.

An agent's status is derived from what it holds (`settle`): on a call it is busy,
after a call it does after-contact work, on a break or at the end of its shift it
is away, otherwise available. Only a change of status is emitted.
"""

from __future__ import annotations

import functools

from schemas.events.agent import (
    AgentStatusChanged,
    CapacityChanged,
    LoggedIn,
    LoggedOut,
    SkillsChanged,
)
from services.simulator.world import AgentState, World

AUX_CODES = ("break", "lunch", "training", "meeting", "coaching")
MEAN_WORK_BEFORE_BREAK = 2400.0
MAX_MESSAGING = 8


def _capacity(world: World, profile: int) -> dict[str, int]:
    # Three staffing profiles: voice+chat, digital (async heavy) and blended.
    chat = world.rng.randint(2, 3)
    if profile < 3:
        return {"voice": 1, "chat": chat}
    if profile < 7:
        return {"chat": chat, "messaging": world.rng.randint(4, 8), "sms": 8, "email": 5,
                "social": 5}
    return {"voice": 1, "chat": chat, "messaging": 8, "sms": 8, "email": 5}


def _skills(world: World, index: int) -> dict[str, int]:
    queues = world.config.queues
    skills = {queues[index % len(queues)].skill: world.rng.randint(5, 10)}
    for queue in queues:
        if queue.skill not in skills and world.chance(0.4):
            skills[queue.skill] = world.rng.randint(2, 7)
    return skills


def _languages(world: World, index: int) -> tuple[str, ...]:
    # Everyone speaks the most common language; the others are spread round-robin
    # so that each has speakers in every queue once there are a dozen agents.
    ranked = sorted(world.config.languages, key=lambda lang: -world.config.languages[lang])
    base, others = ranked[0], ranked[1:]
    extra = [lang for j, lang in enumerate(others) if index % (len(others) + 1) == j + 1]
    return (base, *extra)


def start_shifts(world: World) -> None:
    """Create every agent and schedule its login, first break and end of shift."""
    cfg = world.config
    ramp = min(60.0, cfg.duration * 0.02)
    tail = min(600.0, cfg.duration * 0.1)
    for index in range(cfg.agents):
        agent = AgentState(
            id=f"sim{cfg.seed}-agent-{index + 1:03d}", name=f"Agent {index + 1}",
            skills=_skills(world, index), capacity=_capacity(world, index % 10),
            languages=_languages(world, index))
        world.agents[agent.id] = agent
        login_at = world.rng.uniform(0, ramp)
        agent.shift_end = cfg.duration - world.rng.uniform(0, tail)
        world.at(login_at, functools.partial(log_in, world, agent))
        world.at(agent.shift_end, functools.partial(end_shift, world, agent))
        _plan_break(world, agent, login_at)


def _plan_break(world: World, agent: AgentState, after: float) -> None:
    when = after + world.rng.expovariate(1 / MEAN_WORK_BEFORE_BREAK)
    if when < agent.shift_end:
        world.at(when, lambda: request_break(world, agent))


def log_in(world: World, agent: AgentState) -> None:
    """Start the session with skills, capacity and languages, then become available."""
    world.emit(agent.id, LoggedIn(name=agent.name, skills=dict(agent.skills),
                                  capacity=dict(agent.capacity), languages=list(agent.languages)))
    agent.logged_in = True
    agent.idle_since = world.now
    settle(world, agent)


def request_break(world: World, agent: AgentState) -> None:
    """Take no new work; go away once no chat or call is held."""
    if not agent.logged_in or agent.leaving:
        return
    agent.break_pending = True
    settle(world, agent)


def _end_break(world: World, agent: AgentState) -> None:
    agent.on_break = False
    if not agent.logged_in:
        return  # the shift ended during the break
    if world.chance(0.1):
        best = max(agent.skills, key=lambda s: agent.skills[s])
        agent.skills[best] = min(10, agent.skills[best] + 1)
        world.emit(agent.id, SkillsChanged(skills=dict(agent.skills)))
    if world.chance(0.1) and 0 < agent.capacity.get("messaging", 0) < MAX_MESSAGING:
        # Only ever raised, so the agent's load can never end above its capacity.
        agent.capacity["messaging"] += 1
        world.emit(agent.id, CapacityChanged(capacity=dict(agent.capacity)))
    settle(world, agent)
    _plan_break(world, agent, world.now)


def end_shift(world: World, agent: AgentState) -> None:
    """Take no new work; log out once nothing is held."""
    agent.leaving = True
    settle(world, agent)


def release(world: World, agent: AgentState, channel: str) -> None:
    """The agent no longer holds a conversation on `channel` (resolved, transferred...)."""
    agent.held[channel] -= 1
    if agent.total_slots() == 0:
        agent.idle_since = world.now
    if channel == "voice":
        agent.in_acw = True
        world.after(world.rng.uniform(10, 45), lambda: _end_acw(world, agent))
    settle(world, agent)
    world.request_dispatch()


def _end_acw(world: World, agent: AgentState) -> None:
    agent.in_acw = False
    settle(world, agent)


def routable(agent: AgentState) -> bool:
    """May the agent be offered new work right now?"""
    return (agent.logged_in and agent.status == "available" and not agent.break_pending
            and not agent.leaving)


def settle(world: World, agent: AgentState) -> None:
    """Derive the status from what the agent holds; emit it if it changed."""
    if not agent.logged_in:
        return
    if agent.leaving and agent.total_slots() == 0 and not agent.in_acw:
        world.emit(agent.id, LoggedOut(reason="end_of_shift"))
        agent.logged_in, agent.status, agent.aux = False, "", ""
        return
    status, aux = "available", ""
    if agent.held.get("voice", 0) > 0:
        status = "busy"
    elif agent.in_acw:
        status = "after_contact_work"
    elif agent.break_pending and agent.sync_slots() == 0 and not agent.leaving:
        agent.break_pending, agent.on_break = False, True
        agent.break_code = world.rng.choice(AUX_CODES)
        world.after(world.rng.uniform(300, 900), lambda: _end_break(world, agent))
        status, aux = "away", agent.break_code
    elif agent.on_break:
        status, aux = "away", agent.break_code
    elif agent.leaving:
        status, aux = "away", "end_of_shift"
    if (status, aux) != (agent.status, agent.aux):
        world.emit(agent.id, AgentStatusChanged(status=status, aux_code=aux))  # type: ignore[arg-type]
        agent.status, agent.aux = status, aux
        if status == "available":
            world.request_dispatch()
