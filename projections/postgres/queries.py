"""Read queries over the read models, for the HTTP read API (async psycopg).

Times come back as timezone-aware datetimes; durations that depend on "now"
take `now` as an argument (the caller reads the clock, these functions do not).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from psycopg import AsyncConnection, sql
from psycopg.rows import dict_row

from projections.agents.state import AgentState
from projections.kpi.agent_time import AgentPoint
from projections.kpi.facts import Fact
from projections.kpi.log_fold import KpiInputs
from projections.postgres.rows import CONVERSATION_COLUMNS
from projections.queues.staffing import Need
from projections.state_codec import load

Row = dict[str, Any]
T = TypeVar("T")
log = logging.getLogger(__name__)
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
    """`queue_live`: per queue waiting, offered, oldest wait (seconds at `now`) and counts."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(sql.SQL(
            "SELECT queue, waiting, offered, oldest_since,"
            " greatest(0, extract(epoch FROM (%s - oldest_since)))::float8 AS oldest_wait_s,"
            " by_priority, by_channel"
            " FROM {}.queue_live ORDER BY queue").format(
            sql.Identifier(schema)), (now,))
        return await cur.fetchall()


async def waiting_needs(conn: AsyncConnection[Any], schema: str) -> list[Need]:
    """Each distinct (queue, channel, language, required skills) of what waits."""
    async with conn.cursor() as cur:
        await cur.execute(sql.SQL(
            "SELECT DISTINCT queue, channel, language, required_skills"
            " FROM {}.queue_waiting").format(sql.Identifier(schema)))
        return [Need(queue, channel, language, skills)
                for queue, channel, language, skills in await cur.fetchall()]


async def logged_in_agents(conn: AsyncConnection[Any], schema: str) -> list[AgentState]:
    """The stored states of the agents logged in now, without their dedupe ids (up to
    `RECENT_IDS` event ids each, which no eligibility rule reads; they load as empty)."""
    async with conn.cursor() as cur:
        await cur.execute(sql.SQL(
            "SELECT state - 'recent_ids' FROM {}.agents WHERE logged_in ORDER BY agent_id"
        ).format(sql.Identifier(schema)))
        return [agent for (state,) in await cur.fetchall()
                if (agent := _loaded(state)) is not None]


def _loaded(state: dict[str, Any]) -> AgentState | None:
    # A stored state this code cannot read (written by another version, or damaged) counts
    # as no agent: one row must not take the whole staffing read down.
    try:
        return load(AgentState, state)
    except (TypeError, ValueError, KeyError, AttributeError):
        log.warning("an agent's stored state cannot be read; it is left out of staffing",
                    exc_info=True)
        return None


@dataclass(frozen=True, slots=True)
class QueuesRead:
    """What `GET /v1/queues` is made of, read from one snapshot."""

    queues: list[Row]
    """`list_queues`."""
    needs: list[Need]
    """`waiting_needs`."""
    agents: list[AgentState]
    """`logged_in_agents`."""


async def read_queues(conn: AsyncConnection[Any], schema: str, now: datetime) -> QueuesRead:
    """The queues, the needs of what waits there and the logged-in agents, in one read-only
    repeatable-read transaction, so staffing counted from the needs and agents matches the
    queues listed (as the single view statement it replaces did). `conn` must be in
    autocommit mode, outside a transaction."""
    async with conn.transaction():
        await conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        return QueuesRead(await list_queues(conn, schema, now), await waiting_needs(conn, schema),
                          await logged_in_agents(conn, schema))


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


async def read_kpi_inputs(conn: AsyncConnection[Any], schema: str, facts_before: datetime,
                          points_before: datetime) -> tuple[KpiInputs, int]:
    """The stored KPI facts and agent points before the given instants (every earlier one:
    backlog, recontacts and agent spans reach back), and how many stored documents could
    not be read (skipped and counted: one damaged row must not fail a whole answer)."""
    facts, bad_facts = _readable(Fact, await _docs(conn, schema, "kpi_facts", facts_before))
    points, bad_points = _readable(AgentPoint, await _docs(conn, schema, "kpi_agent_points",
                                                         points_before))
    if bad_facts or bad_points:
        log.warning("%d stored KPI document(s) could not be read; left out",
                    bad_facts + bad_points)
    return KpiInputs(facts, points), bad_facts + bad_points


async def _docs(conn: AsyncConnection[Any], schema: str, table: str, before: datetime,
                ) -> list[Any]:
    async with conn.cursor() as cur:
        await cur.execute(sql.SQL("SELECT doc FROM {}.{} WHERE at < %s ORDER BY at").format(
            sql.Identifier(schema), sql.Identifier(table)), (before,))
        return [doc for (doc,) in await cur.fetchall()]


def _readable(cls: type[T], docs: list[Any]) -> tuple[list[T], int]:
    found: list[T] = []
    for doc in docs:
        try:
            found.append(load(cls, doc))
        except (TypeError, ValueError, KeyError, AttributeError):
            continue
    return found, len(docs) - len(found)
