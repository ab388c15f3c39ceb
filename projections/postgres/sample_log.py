"""A deterministic, realistic event log for tests, benchmarks and demos (pure).

Agents log in with skills and capacities; conversations go through their whole
lifecycle (bot-first or not, queued, offered/declined, assigned, transferred,
messages, resolved or abandoned, surveys, reopens). Every event is valid for the
reducers, so a fold of the log rejects nothing. Same seed, same log.
"""

from __future__ import annotations

import heapq
import random
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from schemas.envelope import Envelope, new_event
from schemas.events import EventData
from schemas.events import agent as ag
from schemas.events import conversation as cv

SOURCE = "switchboard.sample"
CHANNELS = ("chat", "voice", "sms", "messaging", "email", "social")
QUEUES = ("billing", "support", "sales")
Step = tuple[float, Any]
"""Seconds after the previous event, and the payload."""
_FAR = datetime(2030, 1, 1, tzinfo=UTC)


def sample_log(conversations: int, agents: int, *, seed: int = 7, start: datetime,
               prefix: str = "") -> list[Envelope[EventData]]:
    """`conversations` conversations and `agents` agents, merged in time order.

    `prefix` namespaces every id, so several logs can share one topic."""
    rng = random.Random(seed)
    agent_ids = [f"{prefix}agent-{i:04d}" for i in range(max(agents, 2))]
    streams: list[tuple[str, datetime, list[Step]]] = [
        (aid, start + timedelta(seconds=i * 0.1), _agent_steps(rng))
        for i, aid in enumerate(agent_ids)]
    for i in range(conversations):
        cid = f"{prefix}conv-{seed}-{i:07d}"
        at = start + timedelta(seconds=5 + i * rng.uniform(0.5, 1.5))
        streams.append((cid, at, _conversation_steps(rng, agent_ids)))
    return list(_merge(streams, rng))


def _merge(streams: list[tuple[str, datetime, list[Step]]],
           rng: random.Random) -> Iterator[Envelope[EventData]]:
    heap: list[tuple[datetime, int, int]] = []
    for n, (_, at, steps) in enumerate(streams):
        if steps:
            heap.append((at + timedelta(seconds=steps[0][0]), n, 0))
    heapq.heapify(heap)
    while heap:
        t, n, k = heapq.heappop(heap)
        subject, _, steps = streams[n]
        yield new_event(steps[k][1], subject=subject, source=SOURCE, time=t,
                        id=str(uuid.UUID(int=rng.getrandbits(128), version=4)))
        if k + 1 < len(steps):
            heapq.heappush(heap, (t + timedelta(seconds=steps[k + 1][0]), n, k + 1))


def _agent_steps(rng: random.Random) -> list[Step]:
    capacity = {"voice": 1, "chat": rng.choice((2, 3)), "sms": 8, "messaging": 8, "email": 5,
                "social": 4}
    skills = {q: rng.randint(1, 10) for q in rng.sample(QUEUES, rng.randint(1, 3))}
    steps: list[Step] = [(0.0, ag.LoggedIn(name="Agent", skills=skills, capacity=capacity)),
                         (0.5, ag.AgentStatusChanged(status="available"))]
    if rng.random() < 0.3:
        steps.append((rng.uniform(30, 300), ag.CapacityChanged(capacity={**capacity, "chat": 4})))
    if rng.random() < 0.3:
        steps.append((rng.uniform(30, 300), ag.AgentStatusChanged(status="away", aux_code="break")))
        steps.append((rng.uniform(60, 600), ag.AgentStatusChanged(status="available")))
    if rng.random() < 0.2:
        steps.append((rng.uniform(30, 300), ag.SkillsChanged(skills={**skills, "vip": 5})))
    return steps


def _conversation_steps(rng: random.Random, agents: list[str]) -> list[Step]:  # noqa: C901
    channel = rng.choice(CHANNELS)
    queue = rng.choice(QUEUES)
    bot = rng.random() < 0.3
    s: list[Step] = [(0.0, cv.ConversationStarted(
        channel=channel, mode="sync" if channel in ("chat", "voice") else "async",  # type: ignore[arg-type]
        customer_id=f"cust-{rng.randint(1, 10_000)}", queue=queue,
        priority=rng.choice((0, 0, 1, 5)),
        started_by="bot" if bot else "customer"))]
    msg = iter(range(1, 1_000))

    def said(by: str | None = None, after: float = 5.0) -> None:
        if by is None:
            s.append((rng.uniform(1, after),
                      cv.MessageReceived(message_id=f"m{next(msg)}", text="hi")))
        else:
            s.append((rng.uniform(1, after), cv.MessageSent(
                message_id=f"m{next(msg)}", author_type="bot" if by == "bot" else "agent",
                author_id=by, text="hello")))

    said()
    if bot:
        said("bot")
        if rng.random() < 0.4:  # contained by the bot
            s.append((rng.uniform(1, 20), cv.Resolved(resolved_by="bot")))
            return s
        s.append((1.0, cv.BotHandoffRequested(reason="asked for a human", sentiment=rng.choice(
            ("negative", "neutral", "positive")))))
    s.append((0.5, cv.Queued(queue=queue, priority=rng.choice((0, 1, 5)))))
    if rng.random() < 0.1:
        s.append((rng.uniform(10, 120), cv.Abandoned()))
        return s
    agent = rng.choice(agents)
    if rng.random() < 0.3:
        s.append((rng.uniform(1, 30), cv.Offered(agent_id=agent, expires_at=_FAR)))
        if rng.random() < 0.3:
            ended = cv.OfferDeclined(agent_id=agent) if rng.random() < 0.5 else cv.OfferExpired(
                agent_id=agent)
            s.append((rng.uniform(1, 10), ended))
            agent = rng.choice([a for a in agents if a != agent])
            if rng.random() < 0.5:
                s.append((rng.uniform(1, 30), cv.Offered(agent_id=agent, expires_at=_FAR)))
    if rng.random() < 0.05:  # still waiting at the end of the log
        return s
    s.append((rng.uniform(1, 30), cv.Assigned(agent_id=agent)))
    for _ in range(rng.randint(1, 4)):
        said(agent, 60)
        said(None, 120)
    if rng.random() < 0.1:
        other = rng.choice([a for a in agents if a != agent])
        s.append((rng.uniform(5, 60), cv.Transferred(from_agent_id=agent, to_agent_id=other)))
        agent = other
        said(agent, 30)
    if rng.random() < 0.05:  # still being handled at the end of the log
        return s
    if rng.random() < 0.2:
        s.append((rng.uniform(5, 60), cv.ConversationStatusChanged(status="pending_customer")))
        said(None, 300)
    s.append((rng.uniform(5, 60), cv.Resolved(resolved_by="agent")))
    if rng.random() < 0.5:
        s.append((1.0, cv.SurveySent(survey_id="s1")))
        if rng.random() < 0.6:
            s.append((rng.uniform(10, 600), cv.SurveyAnswered(
                survey_id="s1", csat=rng.randint(1, 5), nps=rng.randint(0, 10),
                ces=rng.randint(1, 7))))
    if rng.random() < 0.05:
        s.append((rng.uniform(60, 600), cv.Reopened(reason="not fixed")))
        s.append((rng.uniform(1, 30), cv.Assigned(agent_id=agent)))
        s.append((rng.uniform(5, 60), cv.Resolved(resolved_by="agent")))
    return s
