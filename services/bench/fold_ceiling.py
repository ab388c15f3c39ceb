"""How fast the worker's and the projector's pure folds alone get through a backlog: in
this one process, on events already in memory, with no Kafka, no Faust, no PostgreSQL
(bench phase "drain"). Whatever I/O costs, neither process can drain faster than this
per core. Each fold runs with the garbage collector set as those processes set it
(`services/runtime/gc_policy.py`), with the bench's own data frozen out of it."""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence

from projections.agents.state import AgentState
from projections.conversations.state import ConversationState
from projections.dedupe import Position
from projections.postgres.batch import (
    SourceRecord,
    agent_ids,
    conversation_ids,
    decode_batch,
    fold_conversations,
    project,
)
from projections.postgres.consumer import MAX_RECORDS
from projections.postgres.rows import state_json
from schemas.topics import CONVERSATIONS
from services.bench.corpus import CorpusEvent
from services.runtime.gc_policy import batch_folds
from streams.batches import (
    BatchOutcome,
    Record,
    agent_change_batch,
    agent_event_batch,
    conversation_batch,
    queue_batch,
)
from streams.wiring import BATCH_MAX


def _batches(records: Sequence[CorpusEvent], size: int) -> Iterable[Sequence[CorpusEvent]]:
    return (records[i:i + size] for i in range(0, len(records), size))


def _store(outcome: BatchOutcome, table: dict[bytes, bytes]) -> None:
    for key, (state, _) in outcome.states.items():
        table[key] = state


def _rekeyed(outcome: BatchOutcome) -> tuple[list[Record], list[Record]]:
    by_queue, by_agent = outcome.rekeyed()
    return ([Record(r.key.encode(), r.value) for r in by_queue],
            [Record(r.key.encode(), r.value) for r in by_agent])


def _records(events: Sequence[CorpusEvent], first: int) -> list[Record]:
    """Events as the worker reads them: with their position (one partition here)."""
    return [Record(e.subject.encode(), e.raw, Position(0, first + i)) for i, e in enumerate(events)]


def worker_folds_eps(events: Sequence[CorpusEvent]) -> float:
    """Events/s of the worker's four batch folds over `events`, tables in dicts: the
    conversations fold, its changes re-keyed into the queues and agents folds, and the
    agent events fold; with the worker's garbage collector settings."""
    with batch_folds():
        return _worker_folds_eps(events)


def projector_folds_eps(events: Sequence[CorpusEvent]) -> float:
    """Events/s of the projector's batch step over `events`, states kept in dicts: decode,
    fold and the rows it would write (nothing loaded back from, or sent to, PostgreSQL);
    with the projector's garbage collector settings."""
    with batch_folds():
        return _projector_folds_eps(events)


def _worker_folds_eps(events: Sequence[CorpusEvent]) -> float:
    conversations = [e for e in events if e.topic == CONVERSATIONS]
    agent_events = [e for e in events if e.topic != CONVERSATIONS]
    tables: dict[str, dict[bytes, bytes]] = {"conversations": {}, "queues": {}, "agents": {}}
    started = time.perf_counter()
    for n, batch in enumerate(_batches(conversations, BATCH_MAX)):
        outcome = conversation_batch(_records(batch, n * BATCH_MAX), tables["conversations"].get)
        _store(outcome, tables["conversations"])
        by_queue, by_agent = _rekeyed(outcome)
        _store(queue_batch(by_queue, tables["queues"].get), tables["queues"])
        _store(agent_change_batch(by_agent, tables["agents"].get), tables["agents"])
    for n, batch in enumerate(_batches(agent_events, BATCH_MAX)):
        _store(agent_event_batch(_records(batch, n * BATCH_MAX), tables["agents"].get),
               tables["agents"])
    return len(events) / (time.perf_counter() - started)


def _projector_folds_eps(events: Sequence[CorpusEvent]) -> float:
    conversations: dict[str, ConversationState] = {}
    agents: dict[str, AgentState] = {}
    started = time.perf_counter()
    offset = 0
    for batch in _batches(events, MAX_RECORDS):
        records = [SourceRecord(e.topic, 0, offset + i, e.raw) for i, e in enumerate(batch)]
        offset += len(batch)
        decoded = decode_batch(records)
        folded = fold_conversations(decoded, {c: conversations[c] for c in conversation_ids(decoded)
                                              if c in conversations})
        rows = project(folded, {a: agents[a] for a in agent_ids(folded) if a in agents})
        for c in rows.conversations:
            state_json(c)
            conversations[c.conversation_id] = c
        for a in rows.agents:
            state_json(a)
            agents[a.agent_id] = a
    return len(events) / (time.perf_counter() - started)
