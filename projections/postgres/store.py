"""Read and write the read-model tables of one schema (the projector's I/O, kept thin).

Every function takes an open connection and leaves transaction control to the
caller: the projector writes a whole batch and its offsets in one transaction.
"""

from __future__ import annotations

import secrets
from collections.abc import Collection, Iterable, Mapping, Sequence
from functools import cache
from typing import TypeVar

import orjson
import psycopg
from psycopg import sql
from psycopg.types.json import set_json_loads

from projections.agents.state import AgentState
from projections.conversations.state import ConversationState
from projections.postgres.batch import BatchRows, RejectRow, TopicPartition
from projections.postgres.known_states import KnownStates
from projections.postgres.rows import (
    AGENT_COLUMNS,
    CONVERSATION_COLUMNS,
    FACT_COLUMNS,
    POINT_COLUMNS,
    WAITING_COLUMNS,
    state_json,
)
from projections.state_codec import load

Conn = psycopg.Connection[tuple[object, ...]]
S = TypeVar("S")
PROJECTOR = "switchboard-projector"
"""The consumer name under which projector offsets are stored (rebuild writes the same)."""


STAMP_COLUMN = "write_stamp"
"""The column that holds the stamp of the batch that last wrote the row
(`projections.postgres.known_states`)."""
_KEY_COLUMN = {"conversations": "conversation_id", "agents": "agent_id"}


def connect(url: str, **kwargs: object) -> Conn:
    """A connection whose jsonb values are parsed by orjson (states are large)."""
    conn = psycopg.connect(url, **kwargs)  # type: ignore[arg-type]
    set_json_loads(orjson.loads, conn)
    return conn


def lock_conversations(conn: Conn, schema: str, ids: Collection[str]) -> dict[str, int | None]:
    """Lock the rows of the given conversations until the transaction ends (in key order,
    so two writers cannot deadlock); the write stamp of each stored one (absent ones are
    left out; None: a row written without a stamp)."""
    if not ids:
        return {}
    return _stamps(conn.execute(sql.SQL(
        "SELECT conversation_id, {} FROM {}.conversations WHERE conversation_id = ANY(%s)"
        " ORDER BY conversation_id FOR UPDATE").format(
        sql.Identifier(STAMP_COLUMN), sql.Identifier(schema)), (sorted(ids),)).fetchall())


def lock_agents(conn: Conn, schema: str, ids: Collection[str]) -> dict[str, int | None]:
    """Lock every given agent id until the transaction ends, stored or not; the write stamp
    of each stored one (absent ones are left out).

    Agents are touched from every partition, so two projector instances (scaled out, or
    a zombie after a rebalance) can fold the same agent at once. A row lock cannot stop
    them when the agent is new: there is no row yet, both fold it from nothing, and the
    second upsert loses the first's update. So each id is locked itself, with a
    transaction-scoped advisory lock, in sorted order so two writers do not deadlock (a
    batch locks all its agents, `batch.agent_ids`, in this one call)."""
    if not ids:
        return {}
    wanted = sorted(set(ids))
    conn.execute(sql.SQL(
        "SELECT count(pg_advisory_xact_lock(hashtext(%s), hashtext(w.id)))"
        " FROM unnest(%s::text[]) AS w(id)"), (_agent_lock_space(schema), wanted))
    return _stamps(conn.execute(sql.SQL("SELECT agent_id, {} FROM {}.agents WHERE agent_id = ANY(%s)")
                                .format(sql.Identifier(STAMP_COLUMN), sql.Identifier(schema)),
                                (wanted,)).fetchall())


def _stamps(rows: Sequence[tuple[object, ...]]) -> dict[str, int | None]:
    return {str(key): None if stamp is None else int(stamp)  # type: ignore[call-overload]
            for key, stamp in rows}


def load_conversations(conn: Conn, schema: str, ids: Collection[str],
                       known: KnownStates[ConversationState]) -> dict[str, ConversationState]:
    """Lock and return the stored states of the given conversations (absent ones are left
    out): those `known` holds as stored are taken from it, the others read."""
    return _through(conn, schema, "conversations", ConversationState,
                    lock_conversations(conn, schema, ids), known)


def load_agents(conn: Conn, schema: str, ids: Collection[str],
                known: KnownStates[AgentState]) -> dict[str, AgentState]:
    """`lock_agents`, then the stored states of those agents (absent ones are left out):
    those `known` holds as stored are taken from it, the others read."""
    return _through(conn, schema, "agents", AgentState, lock_agents(conn, schema, ids), known)


def _through(conn: Conn, schema: str, table: str, cls: type[S],
             stamps: Mapping[str, int | None], known: KnownStates[S]) -> dict[str, S]:
    """The states of the (locked) rows in `stamps`: from `known` where it holds them as
    stored, else read (and then remembered)."""
    out: dict[str, S] = {}
    missing: list[str] = []
    for key, stamp in stamps.items():
        state = known.get(key, stamp)
        if state is None:
            missing.append(key)
        else:
            out[key] = state
    if missing:
        key_column = _KEY_COLUMN[table]
        read = [(str(key), None if stamp is None else int(stamp),  # type: ignore[call-overload]
                 load(cls, state))  # type: ignore[arg-type]
                for key, stamp, state in conn.execute(sql.SQL(
                    "SELECT {}, {}, state FROM {}.{} WHERE {} = ANY(%s)").format(
                    sql.Identifier(key_column), sql.Identifier(STAMP_COLUMN),
                    sql.Identifier(schema), sql.Identifier(table), sql.Identifier(key_column)),
                    (missing,)).fetchall()]
        known.remember(read)
        out.update((key, state) for key, _, state in read)
    return out


def _agent_lock_space(schema: str) -> str:
    # The first advisory key: a schema's agents, apart from other schemas' (a rebuild
    # into a fresh schema runs beside the live projector without waiting on it).
    return f"switchboard.agents:{schema}"


def new_stamp() -> int:
    """A fresh write stamp for the rows of one batch (63 random bits: a bigint, never
    repeated in practice)."""
    return secrets.randbits(63)


def write_batch(conn: Conn, schema: str, rows: BatchRows, consumer: str = PROJECTOR,
                stamp: int | None = None) -> None:
    """Write every row of a batch and the partitions' next offsets (caller owns the
    transaction); the conversation and agent rows get `stamp` (a new one when None)."""
    stamp = new_stamp() if stamp is None else stamp
    with conn.cursor() as cur:
        if rows.conversations:
            cur.execute(_upsert_json(schema, "conversations", CONVERSATION_COLUMNS, True),
                        (stamp, [state_json(s) for s in rows.conversations]))
        if rows.agents:
            cur.execute(_upsert_json(schema, "agents", AGENT_COLUMNS, True),
                        (stamp, [state_json(a) for a in rows.agents]))
        if rows.not_waiting:
            cur.execute(sql.SQL(
                "DELETE FROM {}.queue_waiting WHERE conversation_id = ANY(%s)").format(
                sql.Identifier(schema)), (rows.not_waiting,))
        if rows.waiting:
            cur.execute(_upsert_json(schema, "queue_waiting", WAITING_COLUMNS, False),
                        ([w.json() for w in rows.waiting],))
        if rows.kpi_facts:
            cur.execute(_upsert_json(schema, "kpi_facts", FACT_COLUMNS, False, "doc"),
                        ([state_json(f) for f in rows.kpi_facts],))
        if rows.kpi_points:
            cur.execute(_upsert_json(schema, "kpi_agent_points", POINT_COLUMNS, False, "doc"),
                        ([state_json(p) for p in rows.kpi_points],))
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
def _upsert_json(schema: str, table: str, columns: tuple[str, ...], stamped: bool,
                 whole: str = "state") -> sql.Composed:
    """Upsert rows given as JSON objects (one array parameter, after the stamp when
    `stamped`): each column is the object's field of the same name, read by PostgreSQL
    (`jsonb_populate_record`), and a `whole` column (`state`, `doc`) the object itself. Sending 2,000
    states as 30 parameters each cost the projector as much Python time as folding them;
    this sends one array (binary: a text array's escaping alone took 28 us per state), and
    PostgreSQL, on its own core, does the unpacking. Rows go in key order, so two writers
    lock new keys in the same order."""
    key, fields = columns[0], [c for c in columns if c != whole]
    targets = [*fields, *([whole] if whole in columns else []),
               *([STAMP_COLUMN] if stamped else [])]
    values = [*(sql.SQL("r.{}").format(sql.Identifier(c)) for c in fields),
              *([sql.SQL("x.doc")] if whole in columns else []),
              *([sql.SQL("%s")] if stamped else [])]
    table_id = sql.SQL("{}.{}").format(sql.Identifier(schema), sql.Identifier(table))
    return sql.SQL(
        "INSERT INTO {table} ({targets}) SELECT {values} FROM unnest(%b::text[]::jsonb[]) AS x(doc)"
        " CROSS JOIN LATERAL jsonb_populate_record(NULL::{table}, x.doc) AS r"
        " ORDER BY r.{key} ON CONFLICT ({key}) DO UPDATE SET {updates}").format(
        table=table_id, targets=sql.SQL(", ").join(map(sql.Identifier, targets)),
        values=sql.SQL(", ").join(values), key=sql.Identifier(key),
        updates=sql.SQL(", ").join(sql.SQL("{0} = EXCLUDED.{0}").format(sql.Identifier(c))
                                   for c in targets[1:]))
