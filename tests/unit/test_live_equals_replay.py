"""Folding the log live (the worker's steps, re-keyed streams delivered in any
interleaving) gives the same state as folding it offline from scratch."""

from __future__ import annotations

import random
from collections import deque
from datetime import timedelta

from event_strategies import AGENTS, T0, data_of
from hypothesis import given, settings
from hypothesis import strategies as st

from projections.agents.state import AgentState
from projections.conversations.state import ConversationState
from projections.queues.reducer import QueueState
from projections.replay import fold
from projections.state_codec import load
from schemas.codec import encode
from schemas.envelope import Envelope, new_event
from schemas.events import EventData
from schemas.events.agent import AGENT_EVENTS
from schemas.events.conversation import CONVERSATION_EVENTS, ConversationStarted
from streams.steps import (
    Applied,
    DeadLetter,
    agent_change_step,
    agent_event_step,
    conversation_step,
    queue_step,
)

conversation_data = st.one_of(*(data_of(c) for c in CONVERSATION_EVENTS.values()
                                if c is not ConversationStarted))
agent_data = st.one_of(*(data_of(c) for c in AGENT_EVENTS.values()))


@st.composite
def logs(draw: st.DrawFn) -> list[Envelope[EventData]]:
    """A log of a few conversations (each starting, then anything) and agents."""
    events: list[Envelope[EventData]] = []
    for n in range(draw(st.integers(1, 4))):
        cid = f"c{n}"
        datas = [draw(data_of(ConversationStarted)), *draw(st.lists(conversation_data, max_size=12))]
        events += [new_event(d, subject=cid, source="t", time=T0 + timedelta(seconds=i))
                   for i, d in enumerate(datas)]
    for i, data in enumerate(draw(st.lists(agent_data, max_size=10))):
        events.append(new_event(data, subject=draw(st.sampled_from(AGENTS)), source="t",
                                time=T0 + timedelta(seconds=i)))
    # Interleave aggregates but keep each one's own order, as partitions do.
    rng = random.Random(draw(st.integers(0, 2**32)))
    by_subject: dict[str, deque[Envelope[EventData]]] = {}
    for e in events:
        by_subject.setdefault(e.subject, deque()).append(e)
    out = []
    while by_subject:
        subject = rng.choice(sorted(by_subject))
        out.append(by_subject[subject].popleft())
        if not by_subject[subject]:
            del by_subject[subject]
    # Redelivery: some events arrive twice.
    return out + [e for e in out if rng.random() < 0.1]


def live(events: list[Envelope[EventData]], rng: random.Random) -> tuple[dict, dict, dict, set]:
    """The worker's steps over byte tables, re-keyed records delivered in random order."""
    convs: dict[str, bytes] = {}
    agents: dict[str, bytes] = {}
    queues: dict[str, bytes] = {}
    dead: set[str] = set()
    pending: dict[tuple[str, str], deque[bytes]] = {}
    for e in events:
        if e.type.startswith("cc.conversation."):
            out = conversation_step(encode(e), e.subject, convs.get(e.subject))
            if isinstance(out, DeadLetter):
                dead.add(e.id)
                continue
            convs[e.subject] = out.state
            for r in out.by_queue:
                pending.setdefault(("q", r.key), deque()).append(r.value)
            for r in out.by_agent:
                pending.setdefault(("a", r.key), deque()).append(r.value)
        else:
            pending.setdefault(("e", e.id), deque()).append(encode(e))
    # Agent events must keep their own order too: replay them via a per-agent stream.
    agent_events = [e for e in events if e.type.startswith("cc.agent.")]
    for key in [k for k in pending if k[0] == "e"]:
        del pending[key]
    for e in agent_events:
        pending.setdefault(("ae", e.subject), deque()).append(encode(e))
    while pending:
        kind, key = rng.choice(sorted(pending))
        raw = pending[(kind, key)].popleft()
        if not pending[(kind, key)]:
            del pending[(kind, key)]
        table = queues if kind == "q" else agents
        step = {"q": queue_step, "a": agent_change_step, "ae": agent_event_step}[kind]
        result = step(raw, key, table.get(key))
        if isinstance(result, Applied):
            table[key] = result.state
        else:
            dead.add(key)
    return convs, agents, queues, dead


@given(logs(), st.integers(0, 2**32))
@settings(max_examples=150, deadline=None)
def test_live_tables_equal_an_offline_fold_of_the_same_log(
        events: list[Envelope[EventData]], seed: int) -> None:
    offline = fold(events)
    convs, agents, queues, _ = live(events, random.Random(seed))
    assert {k: load(ConversationState, v) for k, v in convs.items()} == offline.conversations
    assert {k: load(AgentState, v) for k, v in agents.items()} == offline.agents
    assert {k: load(QueueState, v) for k, v in queues.items()} == offline.queues
