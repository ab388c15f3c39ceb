"""The read API over the PostgreSQL read models: conversations, queues, agents, KPIs.

Mount it in the ingest app with `register(app, settings)` (creates a pool bound to
the app's lifespan), or build the router yourself from a pool you own:
`app.include_router(read_router(pool))`.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import orjson
import psycopg
from fastapi import APIRouter, Depends, FastAPI, Query
from psycopg import AsyncConnection, OperationalError
from psycopg.errors import UndefinedTable
from psycopg_pool import AsyncConnectionPool, PoolTimeout
from starlette.responses import Response

from projections.kpi.definitions import Definitions, max_recontact_window, read_definitions
from projections.kpi.intervals import Size
from projections.kpi.rows import By, rows
from projections.postgres import queries
from projections.postgres.migrate import DEFAULT_SCHEMA
from projections.queues.staffing import Staffing, staffing
from schemas.events.vocabulary import AgentStatus
from schemas.times import parse_time
from services.ingest.auth import require_scope
from services.ingest.contract import id_path
from services.ingest.errors import ApiError, ErrorBody
from services.ingest.read_bodies import AgentsView, ConversationView, KpisView, QueuesView
from services.ingest.unencodable import encodable
from services.kpi.render import row_json
from services.runtime.file_watch import FileWatch
from services.runtime.settings import Settings

READ_SCOPE = "read"
Row = dict[str, Any]
log = logging.getLogger(__name__)
_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "schema_violation: a parameter out of its bounds"},
    401: {"model": ErrorBody, "description": "no or wrong API key"},
    403: {"model": ErrorBody, "description": "the API key lacks the read scope"},
    503: {"model": ErrorBody, "description": "database_unavailable, read_models_missing or "
                                             "database_error: retry after Retry-After seconds"},
}


def _json(obj: Any) -> Response:
    # ISO-8601 UTC with Z, as the event codec writes times.
    return Response(orjson.dumps(obj, option=orjson.OPT_UTC_Z), media_type="application/json")


def servable(rows: list[Row]) -> tuple[list[Row], int]:
    """Every row, a value JSON cannot carry (written before the bounds, or damaged)
    replaced by null and its path listed in the row's `unreadable`; and how many rows were
    flagged. One stored value must not fail a whole answer."""
    out, flagged = [], 0
    for row in rows:
        clean, paths = encodable(row)
        if paths:
            clean["unreadable"] = paths
            flagged += 1
        out.append(clean)
    if flagged:
        log.warning("%d row(s) hold values JSON cannot carry; served with those as null",
                    flagged)
    return out, flagged


async def _configure(conn: AsyncConnection[Any]) -> None:
    await conn.execute("SET TIME ZONE 'UTC'")


def make_pool(database_url: str, max_size: int = 4) -> AsyncConnectionPool:
    """A closed pool of autocommit UTC connections; open it in the app's lifespan."""
    return AsyncConnectionPool(database_url, min_size=1, max_size=max_size, open=False,
                               timeout=5.0, kwargs={"autocommit": True}, configure=_configure)


def with_staffing(queues: list[dict[str, Any]],
                  counts: dict[str, Staffing]) -> list[dict[str, Any]]:
    """Each queue row with `agents_eligible` and `agents_available` from `counts`."""
    none = Staffing()
    return [{**row, "agents_eligible": counts.get(row["queue"], none).eligible,
             "agents_available": counts.get(row["queue"], none).available} for row in queues]


def read_router(pool: AsyncConnectionPool, schema: str = DEFAULT_SCHEMA,
                definitions: Callable[[], Definitions] = Definitions) -> APIRouter:
    """GET /v1/conversations/{id}, /v1/queues, /v1/agents, /v1/kpis over `pool` (opened by
    the caller); KPIs under the definitions `definitions()` gives at each request."""
    router = APIRouter(prefix="/v1", tags=["read"], responses=_ERRORS,
                       dependencies=[Depends(require_scope(READ_SCOPE))])

    @asynccontextmanager
    async def connection() -> AsyncIterator[AsyncConnection[Any]]:
        try:
            async with pool.connection() as conn:
                yield conn
        except (PoolTimeout, OperationalError) as exc:
            raise ApiError(503, "database_unavailable",
                           f"the read-model database cannot answer now: {exc}",
                           headers={"Retry-After": "2"}) from exc
        except UndefinedTable as exc:
            raise ApiError(503, "read_models_missing",
                           "the read models are not created yet: the projector creates them "
                           "when it starts (`switchboard dev` runs it)",
                           headers={"Retry-After": "2"}) from exc
        except psycopg.Error as exc:  # anything else the database refuses: logged, not a 500
            log.exception("a read query failed")
            raise ApiError(503, "database_error", f"the read query failed: {exc}",
                           headers={"Retry-After": "2"}) from exc

    @router.get("/conversations/{conversation_id}", responses={
        200: {"model": ConversationView, "description": "the conversation"},
        404: {"model": ErrorBody, "description": "unknown conversation"}})
    async def get_conversation(conversation_id: Annotated[str, id_path()]) -> Response:
        """One conversation: status, queue, agent, every milestone and counts."""
        async with connection() as conn:
            row = await queries.get_conversation(conn, schema, conversation_id)
        if row is None:
            raise ApiError(404, "not_found", f"no conversation {conversation_id!r}")
        return _json(servable([row])[0][0])

    @router.get("/queues", responses={200: {"model": QueuesView, "description": "the queues"}})
    async def get_queues() -> Response:
        """Every queue with waiting conversations: counts, offered, oldest wait, and the
        agents eligible for its work and available for it now."""
        async with connection() as conn:
            read = await queries.read_queues(conn, schema, datetime.now(UTC))
        queues, flagged = servable(with_staffing(read.queues, staffing(read.agents, read.needs)))
        return _json({"queues": queues, "unreadable_rows": flagged})

    @router.get("/agents", responses={200: {"model": AgentsView, "description": "the agents"}})
    async def get_agents(
            status: Annotated[AgentStatus | None, Query(
                description="only agents in this status")] = None) -> Response:
        """Agents: status, time in status, load per channel against capacity."""
        async with connection() as conn:
            rows = await queries.list_agents(conn, schema, datetime.now(UTC), status)
        agents, flagged = servable(rows)
        return _json({"agents": agents, "unreadable_rows": flagged})

    @router.get("/kpis", responses={200: {"model": KpisView, "description": "the KPI rows"}})
    async def get_kpis(
            start: Annotated[str, Query(alias="from", description=TIME_PARAMETER,
                                        json_schema_extra={"format": "date-time"})],
            end: Annotated[str, Query(alias="to", description=TIME_PARAMETER + " (exclusive)",
                                      json_schema_extra={"format": "date-time"})],
            by: Annotated[By, Query(description="the scope of each row")] = "center",
            interval: Annotated[Size, Query(description="the interval of each row")] = "1h",
    ) -> Response:
        """The KPIs of every scope and interval starting in [from, to), computed exactly
        from the stored facts under the configured definitions (SWITCHBOARD_KPI_DEFINITIONS,
        reloaded when the file changes: every past period is then under the new version)
        with the same fold as `switchboard kpi`."""
        first, last = _time("from", start), _time("to", end)
        now_defined = definitions()
        reach = timedelta(seconds=max_recontact_window(now_defined))
        async with connection() as conn:
            inputs, unreadable = await queries.read_kpi_inputs(conn, schema, last + reach, last)
        found = rows(inputs.facts, now_defined, by=by, size=interval, start=first, end=last,
                     points=inputs.points)
        return _json({"definition": now_defined.version,
                      "rows": [row_json(r) for r in found], "unreadable_rows": unreadable})

    return router


TIME_PARAMETER = "RFC 3339 date-time with an offset, in the years 1970..9000"


def _time(name: str, text: str) -> datetime:
    try:
        return parse_time(text)
    except ValueError as exc:
        raise ApiError(400, "schema_violation", f"{name}: {exc}") from None


def definitions_of(settings: Settings) -> Callable[[], Definitions]:
    """The KPI definitions now: those of the settings, then each valid new version of their
    file (a broken edit is logged and the version before kept)."""
    current = [settings.kpi_definitions]
    watch = FileWatch(settings.kpi_definitions_path, read_definitions, "KPI definitions")

    def now() -> Definitions:
        if (new := watch.changed()) is not None:
            current[0] = new
        return current[0]
    return now


def register(app: FastAPI, settings: Settings, schema: str = DEFAULT_SCHEMA) -> None:
    """Mount the read API on `app`, with a pool opened and closed by the app's lifespan."""
    pool = make_pool(settings.database_url)
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[Any]:
        await pool.open(wait=False)  # the ingest must start even while PostgreSQL is down
        try:
            async with inner(app) as state:
                yield state
        finally:
            await pool.close()

    app.router.lifespan_context = lifespan
    app.state.read_pool = pool
    app.include_router(read_router(pool, schema, definitions_of(settings)))
