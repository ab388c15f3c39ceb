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
from streams.batches import (
    BatchOutcome,
    agent_change_batch,
    agent_event_batch,
    conversation_batch,
    queue_batch,
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


def _batches(records: list[tuple[bytes, bytes]], rng: random.Random) -> list[list[tuple[bytes, bytes]]]:
    """The records cut into batches of random sizes, as the stream delivers them."""
    out, i = [], 0
    while i < len(records):
        n = rng.randint(1, 6)
        out.append(records[i:i + n])
        i += n
    return out


def _store(tables: dict[bytes, bytes], outcome: BatchOutcome) -> None:
    tables.update({k: state for k, (state, _) in outcome.states.items()})


def live(events: list[Envelope[EventData]], rng: random.Random) -> tuple[dict, dict, dict]:
    """The worker's batch folds over byte tables, re-keyed records delivered in random
    batches and a random interleaving of keys (each key's own records in order)."""
    convs: dict[bytes, bytes] = {}
    agents: dict[bytes, bytes] = {}
    queues: dict[bytes, bytes] = {}
    pending: dict[tuple[str, str], deque[bytes]] = {}
    conversation_records = [(e.subject.encode(), encode(e)) for e in events
                            if e.type.startswith("cc.conversation.")]
    for batch in _batches(conversation_records, rng):
        out = conversation_batch(batch, convs.get)
        _store(convs, out)
        by_queue, by_agent = out.rekeyed()
        for r in by_queue:
            pending.setdefault(("q", r.key), deque()).append(r.value)
        for r in by_agent:
            pending.setdefault(("a", r.key), deque()).append(r.value)
    for e in events:
        if e.type.startswith("cc.agent."):
            pending.setdefault(("ae", e.subject), deque()).append(encode(e))
    while pending:
        batch: list[tuple[bytes, bytes]] = []
        kind = rng.choice(sorted({k for k, _ in pending}))
        for _ in range(rng.randint(1, 4)):
            keys = sorted(k for k in pending if k[0] == kind)
            if not keys:
                break
            key = rng.choice(keys)
            batch.append((key[1].encode(), pending[key].popleft()))
            if not pending[key]:
                del pending[key]
        fold = {"q": queue_batch, "a": agent_change_batch, "ae": agent_event_batch}[kind]
        table = queues if kind == "q" else agents
        _store(table, fold(batch, table.get))
    return convs, agents, queues


@given(logs(), st.integers(0, 2**32))
@settings(max_examples=150, deadline=None)
def test_live_tables_equal_an_offline_fold_of_the_same_log(
        events: list[Envelope[EventData]], seed: int) -> None:
    offline = fold(events)
    convs, agents, queues = live(events, random.Random(seed))
    assert {k.decode(): load(ConversationState, v) for k, v in convs.items()} == offline.conversations
    assert {k.decode(): load(AgentState, v) for k, v in agents.items()} == offline.agents
    assert {k.decode(): load(QueueState, v) for k, v in queues.items()} == offline.queues
