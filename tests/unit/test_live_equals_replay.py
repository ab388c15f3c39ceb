"""Folding the log live (the worker's steps, each partition read with rewinds as after a
rebalance, re-keyed streams delivered in any interleaving) gives the same state as
folding it offline from scratch, once per record."""

from __future__ import annotations

import random
import zlib
from collections import deque
from collections.abc import Sequence
from datetime import timedelta
from typing import TypeVar

from event_strategies import AGENTS, T0, data_of
from hypothesis import given, settings
from hypothesis import strategies as st

from projections.agents.state import AgentState
from projections.conversations.state import RECENT_IDS, ConversationState
from projections.dedupe import Position
from projections.queues.reducer import QueueState
from projections.replay import Sourced, fold_log
from projections.state_codec import load
from schemas.codec import encode
from schemas.envelope import Envelope, new_event
from schemas.events import EventData
from schemas.events.agent import AGENT_EVENTS
from schemas.events.conversation import CONVERSATION_EVENTS, ConversationStarted, MessageReceived
from schemas.topics import Family, family_of
from streams.batches import (
    BatchOutcome,
    Record,
    agent_change_batch,
    agent_event_batch,
    conversation_batch,
    queue_batch,
)

PARTITIONS = 3
T = TypeVar("T")
conversation_data = st.one_of(*(data_of(c) for c in CONVERSATION_EVENTS.values()
                                if c is not ConversationStarted))
agent_data = st.one_of(*(data_of(c) for c in AGENT_EVENTS.values()))


@st.composite
def logs(draw: st.DrawFn) -> list[Sourced]:
    """A log of a few conversations (each starting, sometimes with a run of messages longer
    than the id window, then anything) and agents, each event at its position."""
    events: list[Envelope[EventData]] = []
    for n in range(draw(st.integers(1, 4))):
        cid = f"c{n}"
        long_run = draw(st.sampled_from((0, 0, RECENT_IDS + 3)))
        datas = [draw(data_of(ConversationStarted)),
                 *(MessageReceived(message_id=f"m{i}") for i in range(long_run)),
                 *draw(st.lists(conversation_data, max_size=12))]
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
    # Resends: some events are on the log twice, under one id at two offsets (a client's
    # retried post, a router's repeated decision).
    return _positioned(out + [e for e in out if rng.random() < 0.1])


def _positioned(events: list[Envelope[EventData]]) -> list[Sourced]:
    """Each event at the next offset of its partition (by key, as the producer does)."""
    next_offset: dict[tuple[str, int], int] = {}
    out: list[Sourced] = []
    for e in events:
        tp = (family_of(e.type), zlib.crc32(e.subject.encode()) % PARTITIONS)
        out.append((e, Position(tp[1], next_offset.get(tp, 0))))
        next_offset[tp] = next_offset.get(tp, 0) + 1
    return out


def with_rewinds(items: Sequence[T], rng: random.Random) -> list[T]:
    """`items` as a consumer reads them across rebalances: in order, but now and then
    starting again from an earlier point (the committed offset, possibly the very first)."""
    out: list[T] = []
    i, rewinds = 0, rng.randint(0, 3)
    while i < len(items):
        step = rng.randint(1, 8)
        out.extend(items[i:i + step])
        i += step
        if rewinds and rng.random() < 0.3:
            rewinds -= 1
            i = rng.choice((0, rng.randint(0, i)))
    return out


def _interleaved(streams: dict[T, list[Record]], rng: random.Random) -> list[Record]:
    """Several partitions' deliveries merged in a random order, each kept in its own."""
    pending = {k: deque(v) for k, v in streams.items() if v}
    out = []
    while pending:
        key = rng.choice(sorted(pending, key=repr))
        out.append(pending[key].popleft())
        if not pending[key]:
            del pending[key]
    return out


def _batches(records: list[Record], rng: random.Random) -> list[list[Record]]:
    """The records cut into batches of random sizes, as the stream delivers them."""
    out, i = [], 0
    while i < len(records):
        n = rng.randint(1, 6)
        out.append(records[i:i + n])
        i += n
    return out


def _store(tables: dict[bytes, bytes], outcome: BatchOutcome) -> None:
    tables.update({k: state for k, (state, _) in outcome.states.items()})


def _read(log: list[Sourced], family: Family, rng: random.Random) -> list[Record]:
    """A family's records as the worker reads them: each partition with rewinds."""
    partitions: dict[int, list[Record]] = {}
    for e, position in log:
        if family_of(e.type) is family:
            assert position is not None
            partitions.setdefault(position.partition, []).append(
                Record(e.subject.encode(), encode(e), position))
    return _interleaved({p: with_rewinds(rs, rng) for p, rs in partitions.items()}, rng)


def live(log: list[Sourced], rng: random.Random) -> tuple[dict, dict, dict]:
    """The worker's batch folds over byte tables: conversations and agent events read with
    rewinds, re-keyed change records delivered in random batches and interleavings of keys,
    also with rewinds (each key's own records in order)."""
    convs: dict[bytes, bytes] = {}
    agents: dict[bytes, bytes] = {}
    queues: dict[bytes, bytes] = {}
    rekeyed: dict[tuple[str, str], list[Record]] = {}
    for batch in _batches(_read(log, Family.CONVERSATION, rng), rng):
        out = conversation_batch(batch, convs.get)
        _store(convs, out)
        by_queue, by_agent = out.rekeyed()
        for r in by_queue:
            rekeyed.setdefault(("q", r.key), []).append(Record(r.key.encode(), r.value))
        for r in by_agent:
            rekeyed.setdefault(("a", r.key), []).append(Record(r.key.encode(), r.value))
    streams = {k: with_rewinds(v, rng) for k, v in rekeyed.items()}
    streams[("ae", "")] = _read(log, Family.AGENT, rng)
    pending = {k: deque(v) for k, v in streams.items() if v}
    while pending:
        batch: list[Record] = []
        kind = rng.choice(sorted({k for k, _ in pending}))
        for _ in range(rng.randint(1, 4)):
            keys = sorted(k for k in pending if k[0] == kind)
            if not keys:
                break
            key = rng.choice(keys)
            batch.append(pending[key].popleft())
            if not pending[key]:
                del pending[key]
        fold = {"q": queue_batch, "a": agent_change_batch, "ae": agent_event_batch}[kind]
        table = queues if kind == "q" else agents
        _store(table, fold(batch, table.get))
    return convs, agents, queues


@given(logs(), st.integers(0, 2**32))
@settings(max_examples=150, deadline=None)
def test_live_tables_equal_an_offline_fold_of_the_same_log(log: list[Sourced], seed: int) -> None:
    offline = fold_log(log)
    convs, agents, queues = live(log, random.Random(seed))
    assert {k.decode(): load(ConversationState, v) for k, v in convs.items()} == offline.conversations
    assert {k.decode(): load(AgentState, v) for k, v in agents.items()} == offline.agents
    assert {k.decode(): load(QueueState, v) for k, v in queues.items()} == offline.queues


def test_a_run_longer_than_the_id_window_read_again_from_its_start_changes_nothing() -> None:
    started = new_event(ConversationStarted(channel="sms", mode="async", customer_id="x",
                                            queue="billing"), subject="c1", source="t", time=T0)
    messages = [new_event(MessageReceived(message_id=f"m{i}"), subject="c1", source="t",
                          time=T0 + timedelta(seconds=i)) for i in range(3 * RECENT_IDS)]
    log = _positioned([started, *messages])
    records = [Record(b"c1", encode(e), p) for e, p in log]
    convs: dict[bytes, bytes] = {}
    for delivery in (records, records, records[:RECENT_IDS + 1]):
        _store(convs, conversation_batch(delivery, convs.get))
    state = load(ConversationState, convs[b"c1"])
    assert state == fold_log(log).conversations["c1"]
    assert state.messages_in == 3 * RECENT_IDS
    assert len(state.recent_ids) == RECENT_IDS
