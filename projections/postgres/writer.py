"""Project one batch of records in ONE PostgreSQL transaction (shared by projector and rebuild).

Inside the transaction: lock the batch's offset rows, drop records below the
stored watermark (redelivery is harmless), load the touched states, fold them
with the pure reducers, write the changed rows, the rejects and the new offsets.
A crash anywhere rolls everything back: nothing is doubled, nothing is lost.
"""

from __future__ import annotations

from collections.abc import Sequence

from psycopg import sql

from projections.postgres.batch import (
    BatchRows,
    RejectRow,
    SourceRecord,
    agent_ids,
    conversation_ids,
    decode_batch,
    fold_conversations,
    project,
)
from projections.postgres.store import (
    PROJECTOR,
    Conn,
    load_agents,
    load_conversations,
    write_batch,
)


def project_records(conn: Conn, schema: str, records: Sequence[SourceRecord],
                    consumer: str = PROJECTOR) -> BatchRows:
    """Project `records` (any order across partitions, log order within one) and commit."""
    with conn.transaction():
        fresh = _above_watermark(conn, schema, records, consumer)
        decoded = decode_batch(fresh)
        folded = fold_conversations(
            decoded, load_conversations(conn, schema, conversation_ids(decoded)))
        # The folded conversations name every agent the batch touches: all are loaded (and
        # locked) at once, so a stored agent is never overwritten by one rebuilt from nothing.
        rows = project(folded, load_agents(conn, schema, agent_ids(folded)))
        write_batch(conn, schema, rows, consumer)
    return rows


def _above_watermark(conn: Conn, schema: str, records: Sequence[SourceRecord],
                     consumer: str) -> list[SourceRecord]:
    partitions = sorted({(r.topic, r.partition) for r in records})
    if not partitions:
        return []
    # FOR UPDATE: a second instance projecting the same partition (a zombie after a
    # rebalance) waits here, then sees the new watermark and skips what was done.
    stored = {
        (str(t), int(p)): int(n)  # type: ignore[call-overload]
        for t, p, n in conn.execute(sql.SQL(
            "SELECT topic, partition, next_offset FROM {}.projector_offsets"
            " WHERE consumer = %s AND (topic, partition) IN"
            " (SELECT * FROM unnest(%s::text[], %s::int[]))"
            " ORDER BY topic, partition FOR UPDATE").format(sql.Identifier(schema)),
            (consumer, [t for t, _ in partitions], [p for _, p in partitions])).fetchall()
    }
    return [r for r in records if r.offset >= stored.get((r.topic, r.partition), 0)]


def reject_record(conn: Conn, schema: str, record: SourceRecord, reason: str, detail: str,
                  consumer: str = PROJECTOR) -> None:
    """Park one record as rejected and move past it (a record the database refuses)."""
    reject = RejectRow(record.topic, record.partition, record.offset, None, reason,
                       detail.replace("\x00", "\\0"), record.value or b"")
    rows = BatchRows(rejects=[reject], events=1,
                     next_offsets={(record.topic, record.partition): record.offset + 1})
    with conn.transaction():
        if _above_watermark(conn, schema, [record], consumer):
            write_batch(conn, schema, rows, consumer)
