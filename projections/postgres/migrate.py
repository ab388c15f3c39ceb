"""Apply the read-model migrations to one PostgreSQL schema, once, at start-up.

Each `migrations/NNN_name.sql` file is applied in order inside one transaction
that holds an advisory lock, so concurrent start-ups of several processes apply
each migration exactly once. `{schema}` in the files is substituted with
`psycopg.sql.Identifier`: the same migrations build any schema (a rebuild
targets a fresh one).
"""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

DEFAULT_SCHEMA = "readmodel"
_NAME = re.compile(r"^(\d{3})_[a-z0-9_]+\.sql$")
_LOCK_NAMESPACE = "switchboard.migrate"


def migration_files() -> list[tuple[str, str]]:
    """(version, SQL text) of every migration shipped with the package, in order."""
    folder = resources.files("projections.postgres") / "migrations"
    names = sorted(p.name for p in folder.iterdir() if _NAME.match(p.name))
    return [(Path(name).stem, (folder / name).read_text(encoding="utf-8")) for name in names]


def migrate(conn: psycopg.Connection[Any], schema: str = DEFAULT_SCHEMA,
            until: str | None = None) -> list[str]:
    """Apply the pending migrations to `schema` (created if missing), all of them or those up
    to and including version `until`; return the versions applied.

    Runs in its own transaction; the connection must not be inside one.
    """
    applied: list[str] = []
    with conn.transaction():
        # Serialise concurrent start-ups per schema; released at commit.
        conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s), hashtext(%s))",
                     (_LOCK_NAMESPACE, schema))
        conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
        conn.execute(sql.SQL(
            "CREATE TABLE IF NOT EXISTS {}.schema_migrations ("
            " version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
        ).format(sql.Identifier(schema)))
        done = {row[0] for row in conn.execute(
            sql.SQL("SELECT version FROM {}.schema_migrations").format(sql.Identifier(schema)))}
        for version, text in migration_files():
            if until is not None and version > until:
                break
            if version in done:
                continue
            conn.execute(sql.SQL(text).format(schema=sql.Identifier(schema)))
            conn.execute(sql.SQL("INSERT INTO {}.schema_migrations (version) VALUES (%s)").format(
                sql.Identifier(schema)), (version,))
            applied.append(version)
    return applied


def drop_schema(conn: psycopg.Connection[Any], schema: str) -> None:
    """Drop `schema` and everything in it (a rebuild starts from nothing)."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s), hashtext(%s))",
                     (_LOCK_NAMESPACE, schema))
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))
