"""A stand-in router until the real one exists: offers waiting conversations to agents.

Policy (deliberately simple): every half second, waiting conversations by
priority then wait; each goes to the eligible agent with the fewest conversations
(then the longest idle). Eligible: available, the required skills at the minimum
proficiency, the conversation's language, and free capacity on the channel.
Most offers are accepted; a few are declined or left to expire.
"""

from __future__ import annotations

from datetime import timedelta

from schemas.events.conversation import Assigned, OfferDeclined, Offered, OfferExpired
from services.simulator import handling, staff
from services.simulator.world import AgentState, ConversationState, World

ROUTING_TICK = 0.5


def request_dispatch(world: World) -> None:
    """Look for matches at the next routing tick (requests in between coalesce)."""
    if not world.dispatch_scheduled:
        world.dispatch_scheduled = True
        world.after(ROUTING_TICK, lambda: dispatch(world))


def eligible(agent: AgentState, conv: ConversationState) -> bool:
    """Could this agent take this conversation now?"""
    return (staff.routable(agent) and agent.can_take(conv.channel)
            and conv.language in agent.languages and agent.id not in conv.declined
            and all(agent.skills.get(s, 0) >= level for s, level in conv.required_skills.items()))


def dispatch(world: World) -> None:
    """Offer every waiting conversation that has an eligible agent."""
    world.dispatch_scheduled = False
    agents = [a for a in world.agents.values() if staff.routable(a)]
    if not agents:
        return
    waiting = sorted((c for c in world.waiting.values() if c.phase == "waiting"),
                     key=lambda c: (-c.priority, c.queued_at, c.number))
    for conv in waiting:
        candidates = [a for a in agents if eligible(a, conv)]
        if candidates:
            best = min(candidates, key=lambda a: (a.total_slots(), a.idle_since, a.id))
            offer(world, conv, best)


def offer(world: World, conv: ConversationState, agent: AgentState) -> None:
    """Reserve a slot, emit `offered`, and schedule the agent's answer."""
    cfg = world.config
    conv.phase, conv.agent = "offered", agent.id
    conv.offers += 1
    agent.offered[conv.channel] = agent.offered.get(conv.channel, 0) + 1
    expires = cfg.start + timedelta(seconds=world.now + cfg.offer_timeout)
    world.emit(conv.id, Offered(agent_id=agent.id, expires_at=expires))
    number = conv.offers

    def answer(outcome: str) -> None:
        if conv.phase == "offered" and conv.offers == number:
            _answer(world, conv, agent, outcome)

    roll = world.rng.random()
    if roll < cfg.decline_share:
        world.after(world.rng.uniform(2, 8), lambda: answer("declined"))
    elif roll < cfg.decline_share + cfg.expire_share:
        world.after(cfg.offer_timeout, lambda: answer("expired"))
    else:
        ring = (3, 10) if conv.channel == "voice" else (1, 5)
        world.after(world.rng.uniform(*ring), lambda: answer("accepted"))


def _answer(world: World, conv: ConversationState, agent: AgentState, outcome: str) -> None:
    agent.offered[conv.channel] -= 1
    if outcome == "accepted":
        agent.held[conv.channel] = agent.held.get(conv.channel, 0) + 1
        agent.idle_since = world.now
        world.waiting.pop(conv.id, None)
        conv.phase, conv.epoch = "assigned", conv.epoch + 1
        world.emit(conv.id, Assigned(agent_id=agent.id))
        staff.settle(world, agent)
        handling.begin_handling(world, conv)
        return
    conv.phase, conv.agent, conv.declined = "waiting", None, {agent.id}
    if outcome == "declined":
        world.emit(conv.id, OfferDeclined(agent_id=agent.id, reason="busy"))
    else:
        world.emit(conv.id, OfferExpired(agent_id=agent.id))
    staff.settle(world, agent)
    request_dispatch(world)
