"""Read and write the read-model tables of one schema (the projector's I/O, kept thin).

Every function takes an open connection and leaves transaction control to the
caller: the projector writes a whole batch and its offsets in one transaction.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from functools import cache

import orjson
import psycopg
from psycopg import sql
from psycopg.types.json import set_json_loads

from projections.agents.state import AgentState
from projections.conversations.state import ConversationState
from projections.postgres.batch import BatchRows, RejectRow, TopicPartition
from projections.postgres.rows import (
    AGENT_COLUMNS,
    CONVERSATION_COLUMNS,
    JSONB_COLUMNS,
    WAITING_COLUMNS,
    agent_row,
    conversation_row,
)
from projections.state_codec import load

Conn = psycopg.Connection[tuple[object, ...]]
PROJECTOR = "switchboard-projector"
"""The consumer name under which projector offsets are stored (rebuild writes the same)."""


def connect(url: str, **kwargs: object) -> Conn:
    """A connection whose jsonb values are parsed by orjson (states are large)."""
    conn = psycopg.connect(url, **kwargs)  # type: ignore[arg-type]
    set_json_loads(orjson.loads, conn)
    return conn


def load_conversations(conn: Conn, schema: str,
                       ids: Collection[str]) -> dict[str, ConversationState]:
    """Stored states of the given conversations (absent ones are left out), in one query.

    Rows are locked (in key order, so two writers cannot deadlock) until the transaction ends."""
    if not ids:
        return {}
    rows = conn.execute(sql.SQL(
        "SELECT state FROM {}.conversations WHERE conversation_id = ANY(%s)"
        " ORDER BY conversation_id FOR UPDATE").format(
        sql.Identifier(schema)), (list(ids),)).fetchall()
    states = (load(ConversationState, row[0]) for row in rows)  # type: ignore[arg-type]
    return {s.conversation_id: s for s in states}


def load_agents(conn: Conn, schema: str, ids: Collection[str]) -> dict[str, AgentState]:
    """Stored states of the given agents (absent ones are left out); every id is locked
    until the transaction ends, stored or not.

    Agents are touched from every partition, so two projector instances (scaled out, or
    a zombie after a rebalance) can fold the same agent at once. A row lock cannot stop
    them when the agent is new: there is no row yet, both fold it from nothing, and the
    second upsert loses the first's update. So each id is locked itself, with a
    transaction-scoped advisory lock, in sorted order so two writers do not deadlock (a
    batch loads all its agents, `batch.agent_ids`, in this one call)."""
    if not ids:
        return {}
    wanted = sorted(set(ids))
    conn.execute(sql.SQL(
        "SELECT count(pg_advisory_xact_lock(hashtext(%s), hashtext(w.id)))"
        " FROM unnest(%s::text[]) AS w(id)"), (_agent_lock_space(schema), wanted))
    rows = conn.execute(sql.SQL(
        "SELECT state FROM {}.agents WHERE agent_id = ANY(%s)").format(
        sql.Identifier(schema)), (wanted,)).fetchall()
    states = (load(AgentState, row[0]) for row in rows)  # type: ignore[arg-type]
    return {s.agent_id: s for s in states}


def _agent_lock_space(schema: str) -> str:
    # The first advisory key: a schema's agents, apart from other schemas' (a rebuild
    # into a fresh schema runs beside the live projector without waiting on it).
    return f"switchboard.agents:{schema}"


def write_batch(conn: Conn, schema: str, rows: BatchRows, consumer: str = PROJECTOR) -> None:
    """Write every row of a batch and the partitions' next offsets (caller owns the transaction)."""
    with conn.cursor() as cur:
        if rows.conversations:
            cur.executemany(_upsert(schema, "conversations", CONVERSATION_COLUMNS),
                            [conversation_row(s) for s in rows.conversations])
        if rows.agents:
            cur.executemany(_upsert(schema, "agents", AGENT_COLUMNS),
                            [agent_row(s) for s in rows.agents])
        if rows.not_waiting:
            cur.execute(sql.SQL(
                "DELETE FROM {}.queue_waiting WHERE conversation_id = ANY(%s)").format(
                sql.Identifier(schema)), (rows.not_waiting,))
        if rows.waiting:
            cur.executemany(_upsert(schema, "queue_waiting", WAITING_COLUMNS),
                            [w.values() for w in rows.waiting])
        if rows.rejects:
            insert_rejects(cur, schema, rows.rejects)
        write_offsets(cur, schema, rows.next_offsets, consumer)


def insert_rejects(cur: psycopg.Cursor[tuple[object, ...]], schema: str,
                   rejects: Iterable[RejectRow]) -> None:
    """Keep rejected records; a redelivered one (same position) is not stored twice."""
    cur.executemany(sql.SQL(
        "INSERT INTO {}.projection_rejects"
        ' (topic, partition, "offset", event_id, reason, detail, raw)'
        " VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING").format(
        sql.Identifier(schema)),
        [(r.topic, r.partition, r.offset, r.event_id, r.reason, r.detail, r.raw) for r in rejects])


def write_offsets(cur: psycopg.Cursor[tuple[object, ...]], schema: str,
                  offsets: Mapping[TopicPartition, int], consumer: str = PROJECTOR) -> None:
    """Upsert the next offset to consume per partition (never moving backwards)."""
    if not offsets:
        return
    cur.executemany(sql.SQL(
        "INSERT INTO {0}.projector_offsets AS o (consumer, topic, partition, next_offset)"
        " VALUES (%s, %s, %s, %s) ON CONFLICT (consumer, topic, partition)"
        " DO UPDATE SET next_offset = GREATEST(o.next_offset, EXCLUDED.next_offset)").format(
        sql.Identifier(schema)),
        [(consumer, topic, partition, nxt) for (topic, partition), nxt in sorted(offsets.items())])


def read_offsets(conn: Conn, schema: str, consumer: str = PROJECTOR) -> dict[TopicPartition, int]:
    """The stored next offset of every partition this consumer has projected."""
    rows = conn.execute(sql.SQL(
        "SELECT topic, partition, next_offset FROM {}.projector_offsets"
        " WHERE consumer = %s").format(
        sql.Identifier(schema)), (consumer,)).fetchall()
    return {(str(t), int(p)): int(n) for t, p, n in rows}  # type: ignore[call-overload]


@cache
def _upsert(schema: str, table: str, columns: tuple[str, ...]) -> sql.Composed:
    values = sql.SQL(", ").join(
        sql.SQL("%s::jsonb") if c in JSONB_COLUMNS else sql.SQL("%s") for c in columns)
    updates = sql.SQL(", ").join(
        sql.SQL("{0} = EXCLUDED.{0}").format(sql.Identifier(c)) for c in columns[1:])
    return sql.SQL("INSERT INTO {}.{} ({}) VALUES ({}) ON CONFLICT ({}) DO UPDATE SET {}").format(
        sql.Identifier(schema), sql.Identifier(table),
        sql.SQL(", ").join(map(sql.Identifier, columns)), values,
        sql.Identifier(columns[0]), updates)
