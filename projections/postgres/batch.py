"""One poll batch of Kafka records -> the rows to write (pure: no I/O, no clock).

The projector shell loads the states a batch touches, calls `project`, and writes
the result in one transaction; `rebuild` uses the very same steps. Folding goes
through `projections.replay`, so the rows equal what the offline `fold` gives.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import orjson

from projections.agents.state import AgentState
from projections.conversations.state import ConversationState
from projections.dedupe import Position
from projections.errors import LifecycleError
from projections.postgres.rows import WaitingRow, waiting_row
from projections.replay import ReadModels, apply_agent_event, apply_conversation_event
from schemas.codec import decode
from schemas.envelope import Envelope
from schemas.errors import DecodeError
from schemas.events import EventData
from schemas.topics import Family, family_of

TopicPartition = tuple[str, int]
_AGENT_FIELDS = ("agent_id", "from_agent_id", "to_agent_id")


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


def conversation_ids(batch: DecodedBatch) -> set[str]:
    """Conversations whose state the batch needs."""
    return {e.subject for _, e in batch.events if not _is_agent_event(e)}


def agent_ids(batch: DecodedBatch, conversations: Mapping[str, ConversationState]) -> set[str]:
    """Agents the batch may touch: agent events, agents named by conversation events, and the
    agents that currently hold or are offered a conversation of the batch."""
    ids: set[str] = set()
    for _, e in batch.events:
        if _is_agent_event(e):
            ids.add(e.subject)
            continue
        ids.update(v for name in _AGENT_FIELDS if isinstance(v := getattr(e.data, name, None), str))
    for state in conversations.values():
        ids.update(a for a in (state.agent_id, state.offered_agent_id) if a)
    return ids


def fold_batch(batch: DecodedBatch, conversations: Mapping[str, ConversationState],
               agents: Mapping[str, AgentState]) -> tuple[ReadModels, list[RejectRow]]:
    """Fold the batch's events over the loaded states; lifecycle violations become rejects."""
    models = ReadModels(conversations=dict(conversations), agents=dict(agents))
    rejects = list(batch.rejects)
    for rec, event in batch.events:
        position = Position(rec.partition, rec.offset)
        try:
            if _is_agent_event(event):
                apply_agent_event(models, event, position)
            else:
                apply_conversation_event(models, event, position)
        except LifecycleError as exc:
            rejects.append(_reject(rec, event.id, exc.reason, exc.detail))
        except Exception as exc:  # noqa: BLE001 - a reducer bug must not stop every other event
            rejects.append(_reject(rec, event.id, "projection_error", repr(exc)))
    rejects.sort(key=lambda r: (r.topic, r.partition, r.offset))
    return models, rejects


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


def project(batch: DecodedBatch, conversations: Mapping[str, ConversationState],
            agents: Mapping[str, AgentState]) -> BatchRows:
    """The batch -> rows step. `agents` must hold every stored agent in `agent_ids(...)`;
    `missing_agents` tells the shell when it did not (then load those and call again)."""
    models, rejects = fold_batch(batch, conversations, agents)
    return rows_of(models, rejects, batch, conversations, agents)


def missing_agents(rows: BatchRows, loaded: Iterable[str]) -> set[str]:
    """Agents the fold touched that were not offered to it (stored ones would be overwritten)."""
    return {a.agent_id for a in rows.agents} - set(loaded)


def _is_agent_event(event: Envelope[EventData]) -> bool:
    # The same routing as projections.replay.apply_event: by type, not by topic.
    return family_of(event.type) is Family.AGENT


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

