"""What happens while an agent holds a conversation: the call, the chat, the async thread.

Ends in a resolution, or in a transfer or escalation that puts it back in a queue.
"""

from __future__ import annotations

from schemas.events.conversation import ConversationStatusChanged, Escalated, Transferred
from services.simulator.journeys import (
    agent_says,
    customer_says,
    enqueue,
    release_agent,
    resolve,
    then,
)
from services.simulator.world import ConversationState, World

FIRST_REPLY = {"messaging": 60.0, "sms": 90.0, "social": 120.0, "email": 600.0}
"""Mean seconds before an agent answers an async message."""
CUSTOMER_DELAY = {"messaging": 240.0, "sms": 300.0, "social": 400.0, "email": 1800.0}
INACTIVITY_CLOSE = {"messaging": 1800.0, "sms": 1800.0, "social": 1800.0, "email": 7200.0}
ESCALATED_PROFICIENCY = 6


def begin_handling(world: World, conv: ConversationState) -> None:
    """The agent has just been assigned: plan the call, the chat or the async thread."""
    rng = world.rng
    if conv.channel == "voice":
        talk = rng.lognormvariate(5.5, 0.5)
        hold = 0.0
        if world.chance(0.15):
            hold = rng.uniform(20, 90)
            at = talk * rng.uniform(0.2, 0.6)
            then(world, conv, at, lambda: _set_status(world, conv, "on_hold"))
            then(world, conv, at + hold, lambda: _set_status(world, conv, "open"))
        then(world, conv, talk + hold, lambda: _wrap_up(world, conv))
    elif conv.channel == "chat":
        conv.turns_left = rng.randint(2, 6)
        then(world, conv, rng.uniform(3, 20), lambda: _chat_turn(world, conv))
    else:
        conv.turns_left = rng.randint(1, 2 if conv.channel == "email" else 3)
        first = rng.expovariate(1 / FIRST_REPLY[conv.channel]) + 5
        then(world, conv, first, lambda: _async_answer(world, conv))


def _set_status(world: World, conv: ConversationState, status: str) -> None:
    world.emit(conv.id, ConversationStatusChanged(status=status))  # type: ignore[arg-type]


def _chat_turn(world: World, conv: ConversationState) -> None:
    agent_says(world, conv)
    conv.turns_left -= 1
    if conv.turns_left <= 0:
        then(world, conv, world.rng.uniform(5, 30), lambda: _wrap_up(world, conv))
        return
    reply = world.rng.expovariate(1 / 30) + 3
    then(world, conv, reply, lambda: customer_says(world, conv))
    then(world, conv, reply + world.rng.expovariate(1 / 25) + 5, lambda: _chat_turn(world, conv))


def _async_answer(world: World, conv: ConversationState) -> None:
    agent_says(world, conv)
    conv.turns_left -= 1
    rng = world.rng
    if conv.turns_left <= 0:
        then(world, conv, rng.uniform(5, 60), lambda: _wrap_up(world, conv))
        return
    _set_status(world, conv, "pending_customer")
    if world.chance(0.15):
        then(world, conv, INACTIVITY_CLOSE[conv.channel],
              lambda: resolve(world, conv, "agent", "no_response"))
        return
    then(world, conv, rng.expovariate(1 / CUSTOMER_DELAY[conv.channel]) + 10,
          lambda: _customer_returns(world, conv))


def _customer_returns(world: World, conv: ConversationState) -> None:
    _set_status(world, conv, "open")
    customer_says(world, conv)
    delay = world.rng.expovariate(1 / FIRST_REPLY[conv.channel]) + 5
    then(world, conv, delay, lambda: _async_answer(world, conv))


def _wrap_up(world: World, conv: ConversationState) -> None:
    cfg, rng = world.config, world.rng
    roll = rng.random()
    if not conv.troubled and len(cfg.queues) > 1 and roll < cfg.transfer_share:
        _transfer(world, conv)
    elif not conv.troubled and roll < cfg.transfer_share + cfg.escalation_share:
        _escalate(world, conv)
    elif conv.channel != "voice" and conv.channel != "chat" and world.chance(0.1):
        resolve(world, conv, "customer", "customer_closed")
    else:
        resolve(world, conv, "agent", rng.choice(("resolved", "resolved", "resolved", "workaround",
                                                  "information_provided")))


def _transfer(world: World, conv: ConversationState) -> None:
    others = [q for q in world.config.queues if q.name != conv.queue.name]
    target = world.rng.choice(others)
    world.emit(conv.id, Transferred(from_agent_id=conv.agent, from_queue=conv.queue.name,
                                    to_queue=target.name, reason="wrong_queue"))
    release_agent(world, conv)
    conv.queue, conv.required_skills, conv.troubled = target, {target.skill: 1}, True
    enqueue(world, conv)


def _escalate(world: World, conv: ConversationState) -> None:
    world.emit(conv.id, Escalated(tier=2, reason="needs_specialist", to_queue=conv.queue.name))
    release_agent(world, conv)
    conv.required_skills = {conv.queue.skill: ESCALATED_PROFICIENCY}
    conv.priority, conv.troubled = min(10, conv.priority + 2), True
    enqueue(world, conv)
