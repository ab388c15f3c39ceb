"""Simulated conversations, from arrival to resolution, abandonment or survey.

Each step is an action on the world's timeline, guarded by the conversation's
epoch so that a step planned for a phase the conversation has left does nothing.
"""

from __future__ import annotations

from collections.abc import Callable

from schemas.events.conversation import (
    Abandoned,
    BotHandoffRequested,
    ConversationStarted,
    MessageReceived,
    MessageSent,
    Queued,
    Reopened,
    Resolved,
)
from schemas.events.vocabulary import mode_of
from services.simulator import lines, staff
from services.simulator.config import BOT_CHANNELS
from services.simulator.surveys import plan_survey
from services.simulator.world import ConversationState, World

PATIENCE = {"voice": 150.0, "chat": 240.0, "messaging": 3600.0, "sms": 3600.0,
            "social": 3600.0, "email": 86400.0}
"""Mean seconds a customer waits in a queue before giving up (scaled by `abandonment`)."""
BOT_ID = "sim-assistant"


def then(world: World, conv: ConversationState, delay: float, step: Callable[[], None]) -> None:
    """Run `step` after `delay` unless the conversation changes phase first."""
    world.after(delay, world.guarded(conv, step))


def start_arrivals(world: World) -> None:
    """Schedule the first Poisson arrival."""
    world.at(world.rng.expovariate(world.config.rate), lambda: arrive(world))


def arrive(world: World) -> None:
    """A new conversation starts; the next arrival is planned."""
    cfg, rng = world.config, world.rng
    following = world.now + rng.expovariate(cfg.rate)
    if following < cfg.duration:
        world.at(following, lambda: arrive(world))
    channel = world.pick(cfg.channel_mix)
    queue = rng.choices(cfg.queues, weights=[q.weight for q in cfg.queues])[0]
    pool = max(100, int(cfg.rate * cfg.duration))
    bot_first = channel in BOT_CHANNELS and world.chance(cfg.bot_first_share)
    conv = ConversationState(
        id=world.new_id(), number=len(world.conversations) + 1, channel=channel, queue=queue,
        language=world.pick(cfg.languages),
        priority=5 if world.chance(cfg.vip_share) else rng.choice((0, 0, 0, 1, 2)),
        required_skills={queue.skill: rng.choice((1, 1, 2, 3))},
        started_by="bot" if bot_first else "customer",
        customer_id=f"sim{cfg.seed}-cust-{rng.randrange(pool):06d}")
    world.conversations[conv.id] = conv
    world.emit(conv.id, ConversationStarted(
        channel=channel, mode=mode_of(channel), customer_id=conv.customer_id,  # type: ignore[arg-type]
        queue=queue.name, priority=conv.priority, language=conv.language,
        required_skills=dict(conv.required_skills), started_by=conv.started_by))  # type: ignore[arg-type]
    if bot_first:
        conv.phase, conv.turns_left = "bot", rng.randint(1, 3)
        then(world, conv, rng.uniform(0.3, 1.5), lambda: _bot_says(world, conv))
    elif channel == "voice":
        then(world, conv, rng.uniform(0.5, 3), lambda: enqueue(world, conv))
    else:
        then(world, conv, rng.uniform(0.2, 1), lambda: customer_says(world, conv))
        then(world, conv, rng.uniform(1, 2), lambda: enqueue(world, conv))


def customer_says(world: World, conv: ConversationState) -> None:
    """The customer writes."""
    text = lines.customer_line(conv.queue.name, conv.messages)
    conv.messages += 1
    world.emit(conv.id, MessageReceived(message_id=f"{conv.id}:{conv.messages}", text=text))


def agent_says(world: World, conv: ConversationState) -> None:
    """The holding agent replies."""
    conv.messages += 1
    world.emit(conv.id, MessageSent(
        message_id=f"{conv.id}:{conv.messages}", author_type="agent",
        author_id=conv.agent or "", text=world.rng.choice(lines.AGENT_LINES)))


def _bot_says(world: World, conv: ConversationState) -> None:
    conv.messages += 1
    world.emit(conv.id, MessageSent(
        message_id=f"{conv.id}:{conv.messages}", author_type="bot", author_id=BOT_ID,
        text=lines.BOT_LINES[min(conv.messages - 1, len(lines.BOT_LINES) - 1)]))
    then(world, conv, world.rng.expovariate(1 / 10) + 2, lambda: _customer_to_bot(world, conv))


def _customer_to_bot(world: World, conv: ConversationState) -> None:
    customer_says(world, conv)
    conv.turns_left -= 1
    if conv.turns_left > 0:
        then(world, conv, world.rng.uniform(0.5, 2), lambda: _bot_says(world, conv))
    elif world.chance(world.config.containment_share):
        then(world, conv, world.rng.uniform(1, 5),
              lambda: resolve(world, conv, "bot", "contained"))
    else:
        then(world, conv, world.rng.uniform(0.5, 2), lambda: _hand_off(world, conv))


def _hand_off(world: World, conv: ConversationState) -> None:
    sentiment = world.rng.choices(("negative", "neutral", "positive"), weights=(3, 6, 1))[0]
    world.emit(conv.id, BotHandoffRequested(
        reason=world.rng.choice(lines.HANDOFF_REASONS), sentiment=sentiment))  # type: ignore[arg-type]
    if sentiment == "negative":
        conv.priority = min(10, conv.priority + 1)
    enqueue(world, conv)


def enqueue(world: World, conv: ConversationState) -> None:
    """Put the conversation in its queue; a long wait may end in abandonment."""
    conv.phase, conv.epoch, conv.agent = "waiting", conv.epoch + 1, None
    conv.queued_at, conv.declined = world.now, set()
    world.emit(conv.id, Queued(queue=conv.queue.name, priority=conv.priority,
                               required_skills=dict(conv.required_skills)))
    world.waiting[conv.id] = conv
    tendency = world.config.abandonment
    if tendency > 0:
        wait = world.rng.expovariate(tendency / PATIENCE[conv.channel])
        then(world, conv, wait, lambda: _abandon(world, conv))
    world.request_dispatch()


def _abandon(world: World, conv: ConversationState) -> None:
    if conv.phase not in ("waiting", "offered"):
        return
    if conv.phase == "offered" and conv.agent is not None:
        agent = world.agents[conv.agent]
        agent.offered[conv.channel] -= 1
        staff.settle(world, agent)
        world.request_dispatch()
    world.waiting.pop(conv.id, None)
    conv.phase, conv.epoch, conv.agent = "abandoned", conv.epoch + 1, None
    world.emit(conv.id, Abandoned(reason="customer_left"))


def release_agent(world: World, conv: ConversationState) -> None:
    """The holding agent (if any) lets go of the conversation."""
    if conv.agent is not None:
        staff.release(world, world.agents[conv.agent], conv.channel)
        conv.agent = None


def resolve(world: World, conv: ConversationState, by: str, code: str) -> None:
    """Resolve, free the agent, then maybe a reopen (async) or a survey."""
    world.emit(conv.id, Resolved(resolved_by=by, resolution_code=code))  # type: ignore[arg-type]
    conv.phase, conv.epoch = "resolved", conv.epoch + 1
    release_agent(world, conv)
    cfg = world.config
    if (by != "bot" and not conv.reopened and conv.channel not in ("voice", "chat")
            and world.chance(cfg.reopen_share)):
        then(world, conv, world.rng.expovariate(1 / 1800) + 60, lambda: _reopen(world, conv))
    elif world.chance(cfg.survey_share):
        plan_survey(world, conv)


def _reopen(world: World, conv: ConversationState) -> None:
    world.emit(conv.id, Reopened(reason="customer_replied"))
    conv.reopened = True
    customer_says(world, conv)
    enqueue(world, conv)
