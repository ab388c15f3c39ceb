"""Read queries over the read models, for the HTTP read API (async psycopg).

Times come back as timezone-aware datetimes; durations that depend on "now"
take `now` as an argument (the caller reads the clock, these functions do not).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from psycopg import AsyncConnection, sql
from psycopg.rows import dict_row

from projections.postgres.rows import CONVERSATION_COLUMNS

Row = dict[str, Any]
_STATE_FIELDS = ("language", "started_by", "tier", "resolution_code", "offered_agent_id",
                 "offer_expires_at", "agents_seen", "sentiment", "handoff_reason",
                 "required_skills", "assigned_at", "survey_sent_at", "events")
"""Fields of the stored state worth showing besides the columns."""


async def get_conversation(conn: AsyncConnection[Any], schema: str,
                           conversation_id: str) -> Row | None:
    """One conversation: its columns and the useful parts of its state; None when unknown."""
    columns = sql.SQL(", ").join(sql.Identifier(c) for c in CONVERSATION_COLUMNS if c != "state")
    extra = sql.SQL(", ").join(
        sql.SQL("state -> {} AS {}").format(sql.Literal(f), sql.Identifier(f))
        for f in _STATE_FIELDS)
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(sql.SQL(
            "SELECT {}, {} FROM {}.conversations WHERE conversation_id = %s").format(
            columns, extra, sql.Identifier(schema)), (conversation_id,))
        return await cur.fetchone()


async def list_queues(conn: AsyncConnection[Any], schema: str, now: datetime) -> list[Row]:
    """`queue_live`: per queue waiting, offered, oldest wait (seconds at `now`), counts, and the
    agents eligible for its work and available for it now."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(sql.SQL(
            "SELECT queue, waiting, offered, oldest_since,"
            " greatest(0, extract(epoch FROM (%s - oldest_since)))::float8 AS oldest_wait_s,"
            " by_priority, by_channel, agents_eligible, agents_available"
            " FROM {}.queue_live ORDER BY queue").format(
            sql.Identifier(schema)), (now,))
        return await cur.fetchall()


async def list_agents(conn: AsyncConnection[Any], schema: str, now: datetime,
                      status: str | None = None) -> list[Row]:
    """`agents_live`, optionally only those with `status`; time in status in seconds at `now`."""
    where = sql.SQL("WHERE status = %s") if status else sql.SQL("")
    params: tuple[object, ...] = (now, status) if status else (now,)
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(sql.SQL(
            "SELECT agent_id, logged_in, status, status_since,"
            " greatest(0, extract(epoch FROM (%s - status_since)))::float8 AS time_in_status_s,"
            " skills, capacity, load, channels, total_load, offers_pending"
            " FROM {}.agents_live {} ORDER BY agent_id").format(sql.Identifier(schema), where),
            params)
        return await cur.fetchall()
