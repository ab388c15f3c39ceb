"""Project one batch of records in ONE PostgreSQL transaction (shared by projector and rebuild).

Inside the transaction: lock the batch's offset rows, drop (decoded) records below the
stored watermark (redelivery is harmless), load the touched states, fold them
with the pure reducers, write the changed rows, the rejects and the new offsets.
A crash anywhere rolls everything back: nothing is doubled, nothing is lost.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from psycopg import sql

from projections.postgres.batch import (
    BatchRows,
    DecodedBatch,
    RejectRow,
    SourceRecord,
    TopicPartition,
    agent_ids,
    conversation_ids,
    decode_batch,
    fold_conversations,
    from_offsets,
    project,
)
from projections.postgres.known_states import Known
from projections.postgres.plan import Planned
from projections.postgres.store import (
    PROJECTOR,
    Conn,
    load_agents,
    load_conversations,
    lock_agents,
    lock_conversations,
    new_stamp,
    write_batch,
)


def project_records(conn: Conn, schema: str, records: Sequence[SourceRecord],
                    consumer: str = PROJECTOR, known: Known | None = None) -> BatchRows:
    """Project `records` (any order across partitions, log order within one) and commit."""
    return project_decoded(conn, schema, decode_batch(records), consumer, known)


def project_decoded(conn: Conn, schema: str, decoded: DecodedBatch,
                    consumer: str = PROJECTOR, known: Known | None = None) -> BatchRows:
    """`project_records` of a batch already decoded. States in `known` that their rows
    still hold are not read back (`known_states`); `known` then holds what was written."""
    known = Known() if known is None else known
    stamp = new_stamp()
    with conn.transaction():
        fresh = from_offsets(decoded, _stored_offsets(
            conn, schema, decoded.next_offsets.keys(), consumer))
        folded = fold_conversations(fresh, load_conversations(
            conn, schema, conversation_ids(fresh), known.conversations))
        # The folded conversations name every agent the batch touches: all are loaded (and
        # locked) at once, so a stored agent is never overwritten by one rebuilt from nothing.
        rows = project(folded, load_agents(conn, schema, agent_ids(folded), known.agents))
        write_batch(conn, schema, rows, consumer, stamp)
    known.wrote(rows, stamp)  # committed: the rows hold these states under `stamp`
    return rows


class Stale(Exception):
    """A batch folded ahead assumed rows or offsets that PostgreSQL does not hold."""


def write_planned(conn: Conn, schema: str, planned: Planned,
                  consumer: str = PROJECTOR) -> BatchRows:
    """Write a batch folded ahead (`plan`) if every row and offset it assumed is as assumed,
    checked with them locked, as `project_decoded` locks them; else raise `Stale` and
    write nothing."""
    with conn.transaction():
        stored = _stored_offsets(conn, schema, planned.first_offsets.keys(), consumer)
        if any(stored.get(tp, 0) > first for tp, first in planned.first_offsets.items()):
            raise Stale("part of the batch is projected already")
        present = {cid: stamp for cid, stamp in planned.conversations.items() if stamp is not None}
        if lock_conversations(conn, schema, planned.conversations.keys()) != present:
            raise Stale("a conversation row is not as remembered")
        if lock_agents(conn, schema, planned.agents.keys()) != planned.agents:
            raise Stale("an agent row is not as remembered")
        write_batch(conn, schema, planned.rows, consumer, planned.stamp)
    return planned.rows


def _stored_offsets(conn: Conn, schema: str, partitions: Iterable[TopicPartition],
                    consumer: str) -> dict[TopicPartition, int]:
    """The stored next offsets of `partitions`, their rows locked until the transaction ends.

    FOR UPDATE: a second instance projecting the same partition (a zombie after a
    rebalance) waits here, then sees the new watermark and skips what was done."""
    wanted = sorted(set(partitions))
    if not wanted:
        return {}
    return {
        (str(t), int(p)): int(n)  # type: ignore[call-overload]
        for t, p, n in conn.execute(sql.SQL(
            "SELECT topic, partition, next_offset FROM {}.projector_offsets"
            " WHERE consumer = %s AND (topic, partition) IN"
            " (SELECT * FROM unnest(%s::text[], %s::int[]))"
            " ORDER BY topic, partition FOR UPDATE").format(sql.Identifier(schema)),
            (consumer, [t for t, _ in wanted], [p for _, p in wanted])).fetchall()
    }


def reject_record(conn: Conn, schema: str, record: SourceRecord, reason: str, detail: str,
                  consumer: str = PROJECTOR) -> None:
    """Park one record as rejected and move past it (a record the database refuses)."""
    reject = RejectRow(record.topic, record.partition, record.offset, None, reason,
                       detail.replace("\x00", "\\0"), record.value or b"")
    rows = BatchRows(rejects=[reject], events=1,
                     next_offsets={(record.topic, record.partition): record.offset + 1})
    with conn.transaction():
        stored = _stored_offsets(conn, schema, [(record.topic, record.partition)], consumer)
        if record.offset >= stored.get((record.topic, record.partition), 0):
            write_batch(conn, schema, rows, consumer)
