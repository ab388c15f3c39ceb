"""kill -9 of the projector mid-stream, restart until caught up, and a fresh rebuild of the
same log arrives at identical rows in every table."""

from __future__ import annotations

import dataclasses
import signal
import subprocess
import sys
import uuid
from datetime import UTC, datetime
from typing import Any

import orjson
import psycopg
import pytest
from log_support import produce
from psycopg import sql
from tests_support import ROOT, child_env, wait_for

from projections.postgres.rebuild import rebuild
from projections.postgres.sample_log import sample_log
from projections.postgres.store import STAMP_COLUMN
from services.runtime.settings import Settings

pytestmark = pytest.mark.integration
TABLES = {"conversations": "conversation_id", "agents": "agent_id",
          "queue_waiting": "conversation_id", "projector_offsets": "consumer, topic, partition",
          "projection_rejects": 'topic, partition, "offset"'}


def start_projector(settings: Settings, schema: str, *extra: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "projections.postgres.projector", "--schema", schema, *extra],
        cwd=ROOT, env=child_env(settings), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)


def projected(url: str, schema: str) -> int:
    """Records projected so far according to the stored offsets (0 before the tables exist)."""
    with psycopg.connect(url) as conn:
        try:
            row = conn.execute(sql.SQL(
                "SELECT coalesce(sum(next_offset), 0) FROM {}.projector_offsets").format(
                sql.Identifier(schema))).fetchone()
        except psycopg.errors.UndefinedTable:
            return 0
    return int(row[0]) if row else 0


def table(conn: psycopg.Connection[Any], schema: str, name: str) -> list[tuple[Any, ...]]:
    """Every row, every column but the write stamp (each writer draws its own)."""
    everything = conn.execute(sql.SQL("SELECT * FROM {}.{} LIMIT 0").format(
        sql.Identifier(schema), sql.Identifier(name)))
    columns = [d.name for d in everything.description or () if d.name != STAMP_COLUMN]
    return conn.execute(sql.SQL("SELECT {} FROM {}.{} ORDER BY " + TABLES[name]).format(  # type: ignore[arg-type]
        sql.SQL(", ").join(map(sql.Identifier, columns)), sql.Identifier(schema),
        sql.Identifier(name))).fetchall()


def _first_difference(name: str, live: list[tuple[Any, ...]],
                      fresh: list[tuple[Any, ...]]) -> str:
    """The first differing row's differing columns (and keys, for a JSON column)."""
    if len(live) != len(fresh):
        return f"{name}: {len(live)} rows live, {len(fresh)} rebuilt"
    for a, b in zip(live, fresh, strict=True):
        if a != b:
            cols = {i: (x, y) for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y}
            keys = {i: {k: (x.get(k), y.get(k)) for k in x.keys() | y.keys() if x.get(k) != y.get(k)}
                    for i, (x, y) in cols.items() if isinstance(x, dict) and isinstance(y, dict)}
            return f"{name}: row {a[0]!r} differs in columns {sorted(cols)}: {keys or cols}"
    return name


def test_killed_projector_restarted_equals_a_fresh_rebuild(settings: Settings,
                                                          fresh_db: str) -> None:
    cfg = dataclasses.replace(settings, database_url=fresh_db)
    events = sample_log(5000, 50, seed=99, start=datetime(2025, 5, 1, tzinfo=UTC),
                        prefix=f"k{uuid.uuid4().hex[:6]}-")
    assert len(events) >= 50_000
    produce(cfg, list(events), "test-kill")

    live, fresh = "live", "rebuilt"
    first = start_projector(cfg, live)
    try:
        wait_for(lambda: projected(fresh_db, live) >= 5_000, "the projector to make progress", 180)
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
    at_kill = projected(fresh_db, live)

    second = start_projector(cfg, live, "--until-caught-up")
    out, _ = second.communicate(timeout=600)
    assert second.returncode == 0
    resumed = orjson.loads(out.splitlines()[-1])
    assert projected(fresh_db, live) > at_kill

    stats = rebuild(cfg, fresh)
    print(f"\nprojector after restart: {resumed['events']} events, "
          f"{resumed['events_per_s']:.0f} events/s; rebuild: {stats.events} events in "
          f"{stats.seconds:.1f}s = {stats.events_per_s:.0f} events/s")
    assert stats.events == projected(fresh_db, fresh)
    with psycopg.connect(fresh_db) as conn:
        for name in TABLES:
            live_rows, fresh_rows = table(conn, live, name), table(conn, fresh, name)
            assert live_rows == fresh_rows, _first_difference(name, live_rows, fresh_rows)
        assert len(table(conn, live, "conversations")) >= 5000
