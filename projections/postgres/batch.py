"""One poll batch of Kafka records -> the rows to write (pure: no I/O, no clock).

The projector shell loads the batch's conversations, folds them (`fold_conversations`),
loads the agents that fold says the batch touches (`agent_ids`, from the one fan-out
of `projections.changes`), calls `project`, and writes the result in one transaction;
`rebuild` uses the very same steps. Folding goes through `projections.replay` and
`projections.fanout`, so the rows equal what the offline `fold` gives.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import orjson

from projections.agents.state import AgentState
from projections.changes import ConversationChange
from projections.conversations.state import ConversationState
from projections.dedupe import Position
from projections.errors import LifecycleError
from projections.fanout import to_agents
from projections.kpi.agent_time import AgentPoint, point_of
from projections.kpi.facts import Fact, facts_of
from projections.postgres.rows import WaitingRow, waiting_row
from projections.replay import ReadModels, apply_agent_event, fold_conversation_event
from schemas.codec import decode
from schemas.envelope import Envelope
from schemas.errors import DecodeError
from schemas.events import EventData
from schemas.topics import Family, family_of

TopicPartition = tuple[str, int]


@dataclass(frozen=True, slots=True)
class SourceRecord:
    """One Kafka record as the projector sees it."""

    topic: str
    partition: int
    offset: int
    value: bytes | None


@dataclass(frozen=True, slots=True)
class RejectRow:
    """A record that could not be projected, kept with its reason and original bytes."""

    topic: str
    partition: int
    offset: int
    event_id: str | None
    reason: str
    detail: str
    raw: bytes


@dataclass(frozen=True, slots=True)
class DecodedBatch:
    """A batch after decoding: the events in log order, the undecodable records, offsets."""

    events: tuple[tuple[SourceRecord, Envelope[EventData]], ...]
    rejects: tuple[RejectRow, ...]
    next_offsets: Mapping[TopicPartition, int]


@dataclass(slots=True)
class BatchRows:
    """Everything one batch writes, in one transaction."""

    conversations: list[ConversationState] = field(default_factory=list)
    agents: list[AgentState] = field(default_factory=list)
    waiting: list[WaitingRow] = field(default_factory=list)
    not_waiting: list[str] = field(default_factory=list)
    """Conversations whose queue_waiting row must be gone."""
    rejects: list[RejectRow] = field(default_factory=list)
    next_offsets: dict[TopicPartition, int] = field(default_factory=dict)
    kpi_facts: list[Fact] = field(default_factory=list)
    kpi_points: list[AgentPoint] = field(default_factory=list)
    events: int = 0
    """Records consumed (projected or rejected)."""


def decode_batch(records: Iterable[SourceRecord]) -> DecodedBatch:
    """Decode every record; what cannot be decoded becomes a reject, never an exception."""
    events: list[tuple[SourceRecord, Envelope[EventData]]] = []
    rejects: list[RejectRow] = []
    next_offsets: dict[TopicPartition, int] = {}
    for rec in records:
        key = (rec.topic, rec.partition)
        next_offsets[key] = max(next_offsets.get(key, 0), rec.offset + 1)
        if rec.value is None:
            rejects.append(_reject(rec, None, "empty_record", "record has no value (tombstone)"))
            continue
        try:
            events.append((rec, decode(rec.value)))
        except DecodeError as exc:
            rejects.append(_reject(rec, _event_id_of(rec.value), exc.code, str(exc)))
        except Exception as exc:  # noqa: BLE001 - a bad record must never stop the projector
            rejects.append(_reject(rec, _event_id_of(rec.value), "undecodable", repr(exc)))
    return DecodedBatch(tuple(events), tuple(rejects), next_offsets)


def from_offsets(batch: DecodedBatch, stored: Mapping[TopicPartition, int]) -> DecodedBatch:
    """The part of a batch at or above each partition's `stored` next offset (what is not
    projected yet: a redelivered record below it was)."""
    def fresh(topic: str, partition: int, offset: int) -> bool:
        return offset >= stored.get((topic, partition), 0)
    # A partition's next offset is its highest record's + 1: kept if any of its records is.
    return DecodedBatch(
        tuple(e for e in batch.events if fresh(e[0].topic, e[0].partition, e[0].offset)),
        tuple(r for r in batch.rejects if fresh(r.topic, r.partition, r.offset)),
        {tp: n for tp, n in batch.next_offsets.items() if n > stored.get(tp, 0)})


def conversation_ids(batch: DecodedBatch) -> set[str]:
    """Conversations whose state the batch needs."""
    return {e.subject for _, e in batch.events if not _is_agent_event(e)}


@dataclass(frozen=True, slots=True)
class FoldedConversations:
    """A batch with its conversation events folded: what they changed for agents is known,
    so the agents the batch needs are too, before any is loaded."""

    batch: DecodedBatch
    loaded: Mapping[str, ConversationState]
    """The conversations as they were loaded."""
    conversations: dict[str, ConversationState]
    changes: tuple[tuple[SourceRecord, ConversationChange], ...]
    """Each change with the record that made it, in log order."""
    rejects: tuple[RejectRow, ...]
    facts: tuple[Fact, ...] = ()
    """The KPI facts the batch's conversation events completed (`projections.kpi`)."""


def fold_conversations(batch: DecodedBatch, conversations: Mapping[str, ConversationState],
                       ) -> FoldedConversations:
    """Fold the batch's conversation events over the loaded states (`conversation_ids`),
    keeping their changes; lifecycle violations become rejects."""
    models = ReadModels(conversations=dict(conversations))
    changes: list[tuple[SourceRecord, ConversationChange]] = []
    rejects: list[RejectRow] = []
    facts: list[Fact] = []
    for rec, event in batch.events:
        if _is_agent_event(event):
            continue
        before = models.conversations.get(event.subject)
        try:
            change = fold_conversation_event(models, event, Position(rec.partition, rec.offset))
            facts.extend(facts_of(before, models.conversations[event.subject], event))
        except Exception as exc:  # noqa: BLE001 - a reducer bug must not stop every other event
            rejects.append(_rejected(rec, event.id, exc))
            continue
        if change is not None:
            changes.append((rec, change))
    return FoldedConversations(batch, conversations, models.conversations, tuple(changes),
                               tuple(rejects), tuple(facts))


def agent_ids(folded: FoldedConversations) -> set[str]:
    """Exactly the agents the batch folds: its agent events' subjects and every agent its
    conversation changes fan out to (`ConversationChange.agents`)."""
    ids = {e.subject for _, e in folded.batch.events if _is_agent_event(e)}
    for _, change in folded.changes:
        ids.update(change.agents())
    return ids


def fold_agents(folded: FoldedConversations, agents: Mapping[str, AgentState],
                ) -> tuple[ReadModels, list[RejectRow], list[AgentPoint]]:
    """Fold the batch's agent events, then its conversation changes, into the loaded agents.
    The two commute (`projections.agents.reducer`), as they do in the worker's streams.
    Also the KPI agent points the agent events made."""
    models = ReadModels(conversations=folded.conversations, agents=dict(agents))
    rejects = [*folded.batch.rejects, *folded.rejects]
    points: list[AgentPoint] = []
    for rec, event in folded.batch.events:
        if not _is_agent_event(event):
            continue
        before = models.agents.get(event.subject)
        try:
            apply_agent_event(models, event, Position(rec.partition, rec.offset))
            point = point_of(before, models.agents[event.subject], event, rec.offset)
        except Exception as exc:  # noqa: BLE001 - a reducer bug must not stop every other event
            rejects.append(_rejected(rec, event.id, exc))
            continue
        if point is not None:
            points.append(point)
    for rec, change in folded.changes:
        try:
            to_agents(models.agents, change)
        except Exception as exc:  # noqa: BLE001 - as above
            rejects.append(_rejected(rec, change.event_id, exc))
    rejects.sort(key=lambda r: (r.topic, r.partition, r.offset))
    return models, rejects, points


def rows_of(models: ReadModels, rejects: list[RejectRow], batch: DecodedBatch,
            loaded_conversations: Mapping[str, ConversationState],
            loaded_agents: Mapping[str, AgentState]) -> BatchRows:
    """The rows that changed: states that are not the very objects that were loaded."""
    rows = BatchRows(rejects=rejects, next_offsets=dict(batch.next_offsets),
                     events=len(batch.events) + len(batch.rejects))
    for cid, state in sorted(models.conversations.items()):
        if loaded_conversations.get(cid) is state:
            continue
        rows.conversations.append(state)
        waiting = waiting_row(state)
        if waiting is None:
            rows.not_waiting.append(cid)
        else:
            rows.waiting.append(waiting)
    rows.agents = [a for aid, a in sorted(models.agents.items()) if loaded_agents.get(aid) is not a]
    return rows


def project(folded: FoldedConversations, agents: Mapping[str, AgentState]) -> BatchRows:
    """The batch -> rows step, after `fold_conversations`. `agents` must hold every stored
    agent in `agent_ids(folded)` (an agent left out would be rebuilt from nothing)."""
    models, rejects, points = fold_agents(folded, agents)
    rows = rows_of(models, rejects, folded.batch, folded.loaded, agents)
    # One row per id: an id met twice in one batch would fail its whole insert.
    rows.kpi_facts = list({f.fact_id: f for f in reversed(folded.facts)}.values())[::-1]
    rows.kpi_points = list({p.point_id: p for p in reversed(points)}.values())[::-1]
    return rows


def _is_agent_event(event: Envelope[EventData]) -> bool:
    # The same routing as projections.replay.apply_event: by type, not by topic.
    return family_of(event.type) is Family.AGENT


def _rejected(rec: SourceRecord, event_id: str, exc: Exception) -> RejectRow:
    if isinstance(exc, LifecycleError):
        return _reject(rec, event_id, exc.reason, exc.detail)
    return _reject(rec, event_id, "projection_error", repr(exc))


def _reject(rec: SourceRecord, event_id: str | None, reason: str, detail: str) -> RejectRow:
    return RejectRow(rec.topic, rec.partition, rec.offset, event_id, reason, detail,
                     rec.value or b"")


def _event_id_of(raw: bytes) -> str | None:
    try:
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    event_id = obj.get("id") if isinstance(obj, dict) else None
    return event_id if isinstance(event_id, str) else None

