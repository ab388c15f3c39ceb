"""The projector's pure batch -> rows step, with states kept in dicts instead of PostgreSQL."""

from __future__ import annotations

import dataclasses
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import orjson
import pytest

from projections.agents.state import AgentState
from projections.conversations.state import ConversationState
from projections.dedupe import Position
from projections.kpi.agent_time import AgentPoint
from projections.kpi.facts import Fact
from projections.postgres.batch import (
    BatchRows,
    SourceRecord,
    agent_ids,
    conversation_ids,
    decode_batch,
    fold_conversations,
    project,
)
from projections.postgres.rows import (
    AGENT_COLUMNS,
    CONVERSATION_COLUMNS,
    FACT_COLUMNS,
    POINT_COLUMNS,
    WAITING_COLUMNS,
    WaitingRow,
    state_json,
    waiting_row,
)
from projections.postgres.sample_log import sample_log
from projections.replay import Sourced, fold, fold_log
from schemas.codec import decode, encode
from schemas.envelope import Envelope, new_event
from schemas.events import EventData
from schemas.events.agent import LoggedIn
from schemas.events.conversation import (
    ConversationStarted,
    MessageReceived,
    Queued,
    Resolved,
    Transferred,
)
from schemas.topics import AGENTS, CONVERSATIONS, topic_for_type

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
PARTITIONS = 6


def to_records(events: list[Envelope[EventData]]) -> list[SourceRecord]:
    """Events as they would sit on the log: topic by type, partition by key, offsets."""
    next_offset: dict[tuple[str, int], int] = {}
    records = []
    for e in events:
        topic = topic_for_type(e.type)
        part = zlib.crc32(e.subject.encode()) % PARTITIONS
        off = next_offset.get((topic, part), 0)
        next_offset[(topic, part)] = off + 1
        records.append(SourceRecord(topic, part, off, encode(e)))
    return records


def logged(records: list[SourceRecord]) -> list[Sourced]:
    """The records' events with their positions, for the offline fold."""
    return [(decode(r.value), Position(r.partition, r.offset)) for r in records if r.value]


@dataclass
class DictStore:
    """What the projector keeps in PostgreSQL, in memory."""

    conversations: dict[str, ConversationState] = field(default_factory=dict)
    agents: dict[str, AgentState] = field(default_factory=dict)
    waiting: dict[str, WaitingRow] = field(default_factory=dict)
    rejects: dict[tuple[str, int, int], str] = field(default_factory=dict)
    offsets: dict[tuple[str, int], int] = field(default_factory=dict)

    def run(self, records: list[SourceRecord]) -> BatchRows:
        """The shell's steps, without I/O."""
        fresh = [r for r in records if r.offset >= self.offsets.get((r.topic, r.partition), 0)]
        decoded = decode_batch(fresh)
        folded = fold_conversations(decoded, {c: self.conversations[c] for c in
                                              conversation_ids(decoded) if c in self.conversations})
        wanted = agent_ids(folded)
        rows = project(folded, {a: self.agents[a] for a in wanted if a in self.agents})
        assert {a.agent_id for a in rows.agents} <= wanted  # none rebuilt from nothing
        self.conversations.update({s.conversation_id: s for s in rows.conversations})
        self.agents.update({s.agent_id: s for s in rows.agents})
        for cid in rows.not_waiting:
            self.waiting.pop(cid, None)
        self.waiting.update({w.conversation_id: w for w in rows.waiting})
        self.rejects.update({(r.topic, r.partition, r.offset): r.reason for r in rows.rejects})
        self.offsets.update(rows.next_offsets)
        return rows


def by_partition_batches(records: list[SourceRecord], size: int) -> list[list[SourceRecord]]:
    """Another interleaving than the fold's: one partition after the other, in chunks."""
    ordered = sorted(records, key=lambda r: (r.topic != AGENTS, r.partition, r.offset))
    return [ordered[i:i + size] for i in range(0, len(ordered), size)]


@pytest.mark.parametrize("batch_size", [1, 37, 500, 100_000])
def test_batches_in_any_interleaving_give_the_rows_of_the_offline_fold(batch_size: int) -> None:
    records = to_records(sample_log(150, 12, seed=3, start=T0))
    store = DictStore()
    for batch in by_partition_batches(records, batch_size):
        store.run(batch)
    expected = fold_log(logged(records))
    assert store.conversations == expected.conversations
    assert store.agents == expected.agents
    waiting = {w.conversation_id: (q, w.priority, w.channel, w.since, w.offered_to)
               for q, state in expected.queues.items() for w in state.waiting}
    assert {c: (w.queue, w.priority, w.channel, w.since, w.offered_to)
            for c, w in store.waiting.items()} == waiting
    assert waiting, "the sample log leaves some conversations waiting"
    assert store.rejects == {}


def test_a_redelivered_batch_changes_nothing() -> None:
    records = to_records(sample_log(30, 4, seed=5, start=T0))
    store = DictStore()
    store.run(records)
    before = (dict(store.conversations), dict(store.agents), dict(store.offsets))
    store.offsets.clear()  # as if the watermark were lost: the reducers still dedupe by position
    again = store.run(records)
    assert again.conversations == []
    assert (store.conversations, store.agents) == before[:2]


def started(cid: str, at: datetime, event_id: str | None = None) -> Envelope[EventData]:
    return new_event(ConversationStarted(channel="chat", mode="sync", customer_id="c1",
                                         queue="billing", priority=1),
                     subject=cid, source="test", time=at, id=event_id)


def test_the_same_event_id_twice_is_counted_once() -> None:
    msg = new_event(MessageReceived(message_id="m1"), subject="c-1", source="test",
                    time=T0 + timedelta(seconds=1))
    store = DictStore()
    store.run(to_records([started("c-1", T0), msg, msg]))
    assert store.conversations["c-1"].messages_in == 1
    assert store.rejects == {}


def test_bytes_that_are_not_json_become_a_reject_and_the_offset_moves_on() -> None:
    records = [SourceRecord(CONVERSATIONS, 2, 0, b"\x00not json"),
               SourceRecord(CONVERSATIONS, 2, 1, None),
               SourceRecord(CONVERSATIONS, 2, 2, orjson.dumps({"id": "e-9", "type": "nope"})),
               SourceRecord(CONVERSATIONS, 2, 3, encode(started("c-2", T0)))]
    rows = DictStore().run(records)
    assert [(r.offset, r.reason, r.event_id) for r in rows.rejects] == [
        (0, "malformed_json", None), (1, "empty_record", None), (2, "unknown_type", "e-9")]
    assert rows.rejects[0].raw == b"\x00not json"
    assert rows.next_offsets == {(CONVERSATIONS, 2): 4}
    assert [s.conversation_id for s in rows.conversations] == ["c-2"]
    assert rows.events == 4


def test_a_lifecycle_violation_is_rejected_with_its_reason_and_the_batch_goes_on() -> None:
    orphan = new_event(MessageReceived(message_id="m1"), subject="ghost", source="test", time=T0)
    resolve = new_event(Resolved(resolved_by="agent"), subject="c-3", source="test",
                        time=T0 + timedelta(seconds=2))
    second = new_event(Resolved(resolved_by="agent"), subject="c-3", source="test",
                       time=T0 + timedelta(seconds=3))
    store = DictStore()
    rows = store.run(to_records([orphan, started("c-3", T0), resolve, second]))
    assert sorted((r.event_id, r.reason) for r in rows.rejects) == sorted(
        [(orphan.id, "unknown_conversation"), (second.id, "already_resolved")])
    assert store.conversations["c-3"].phase == "resolved"
    assert "ghost" not in store.conversations


def test_a_conversation_leaves_queue_waiting_when_it_stops_waiting() -> None:
    queued = new_event(Queued(queue="billing", priority=5, required_skills={"billing": 3}),
                       subject="c-4", source="test", time=T0 + timedelta(seconds=1))
    store = DictStore()
    rows = store.run(to_records([started("c-4", T0), queued]))
    since = T0 + timedelta(seconds=1)
    assert rows.waiting == [
        WaitingRow("c-4", "billing", 5, "chat", since, None, "en", {"billing": 3})]
    resolve = new_event(Resolved(resolved_by="customer"), subject="c-4", source="test",
                        time=T0 + timedelta(seconds=9))
    rows = store.run([SourceRecord(CONVERSATIONS, 0, 99, encode(resolve))])
    assert rows.not_waiting == ["c-4"] and rows.waiting == []
    assert store.waiting == {}


def test_only_changed_states_are_written() -> None:
    store = DictStore()
    store.run(to_records([started("c-5", T0), started("c-6", T0)]))
    msg = new_event(MessageReceived(message_id="m"), subject="c-5", source="test", time=T0)
    decoded = decode_batch([SourceRecord(CONVERSATIONS, 0, 50, encode(msg))])
    rows = project(fold_conversations(decoded, dict(store.conversations)), {})
    assert [s.conversation_id for s in rows.conversations] == ["c-5"]


def test_agents_holding_a_loaded_conversation_are_loaded_with_it() -> None:
    events = sample_log(40, 5, seed=11, start=T0)
    models = fold(events)
    held = next(s for s in models.conversations.values() if s.phase == "assigned")
    msg = new_event(Resolved(resolved_by="agent"), subject=held.conversation_id, source="test",
                    time=held.last_event_at + timedelta(seconds=1))
    decoded = decode_batch([SourceRecord(CONVERSATIONS, 0, 10_000, encode(msg))])
    assert agent_ids(fold_conversations(decoded, {held.conversation_id: held})) == {held.agent_id}


def test_only_the_agents_a_change_fans_out_to_are_loaded() -> None:
    start = new_event(ConversationStarted(channel="chat", mode="sync", customer_id="x",
                                          queue="billing"), subject="c-8", source="test", time=T0)
    queued = new_event(Queued(queue="billing"), subject="c-8", source="test", time=T0)
    # Names an agent, but moves the conversation to a queue: nobody's load changes.
    moved = new_event(Transferred(from_agent_id="a-9", to_queue="tech"), subject="c-8",
                      source="test", time=T0)
    login = new_event(LoggedIn(name="Bo"), subject="a-7", source="test", time=T0)
    decoded = decode_batch(to_records([start, queued, moved, login]))
    assert agent_ids(fold_conversations(decoded, {})) == {"a-7"}


def test_rows_carry_the_full_state_and_no_waiting_row_when_not_waiting() -> None:
    state = fold([started("c-7", T0)]).conversations["c-7"]
    assert orjson.loads(state_json(state))["conversation_id"] == "c-7"
    assert waiting_row(state) is None


@pytest.mark.parametrize(("columns", "written_from"), [
    (CONVERSATION_COLUMNS, ConversationState), (AGENT_COLUMNS, AgentState),
    (WAITING_COLUMNS, WaitingRow), (FACT_COLUMNS, Fact), (POINT_COLUMNS, AgentPoint)])
def test_every_column_is_the_field_of_the_same_name_of_what_its_row_is_written_from(
        columns: tuple[str, ...], written_from: type) -> None:
    # PostgreSQL fills each column from the JSON field of the same name: a column
    # without one would silently stay NULL.
    fields = {f.name for f in dataclasses.fields(written_from)}
    assert set(columns) - {"state", "doc"} <= fields
