"""After the chaos: the log, the live tables and the read models, against each other.

Read once the traffic stopped and every consumer committed the whole log: the log as a
read-committed consumer sees it is folded offline with the reducers every projection
runs, and that fold is the reference for the worker's published tables and for the
projector's rows. Each check returns its differences, described (none when clean).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
import psycopg
from psycopg import sql

from projections.dedupe import Position
from projections.replay import ReadModels, apply_event
from projections.state_codec import dump
from schemas.codec import decode
from schemas.envelope import Envelope
from schemas.errors import DecodeError
from schemas.events import EventData
from schemas.topics import (
    AGENTS,
    CONVERSATIONS,
    PROJECTION_AGENTS,
    PROJECTION_CONVERSATIONS,
    PROJECTION_QUEUES,
)
from services.runtime.log_records import records
from services.runtime.settings import Settings


@dataclass(slots=True)
class LogReading:
    events: list[tuple[Envelope[EventData], Position]] = field(default_factory=list)
    ids: Counter[str] = field(default_factory=Counter)
    undecodable: int = 0


def read_log(settings: Settings) -> LogReading:
    """The domain topics as every Switchboard consumer reads them."""
    reading = LogReading()
    for record in records(settings, (CONVERSATIONS, AGENTS)):
        try:
            event = decode(record.value)
        except DecodeError:
            reading.undecodable += 1  # the worker dead-letters it, the projector rejects it
            continue
        reading.ids[event.id] += 1
        reading.events.append((event, Position(record.partition, record.offset)))
    return reading


def offline_fold(reading: LogReading) -> ReadModels:
    models = ReadModels()
    for event, position in reading.events:
        apply_event(models, event, position)
    return models


def exactly_once(offered: Sequence[str], reading: LogReading) -> list[str]:
    """Every id the load generator offered is on the log once: none lost, none doubled."""
    missing = [i for i in dict.fromkeys(offered) if reading.ids[i] == 0]
    doubled = [i for i in dict.fromkeys(offered) if reading.ids[i] > 1]
    return ([f"offered, not on the log: {i}" for i in missing]
            + [f"on the log {reading.ids[i]} times: {i}" for i in doubled])


def _expected(models: ReadModels) -> dict[str, dict[str, bytes]]:
    return {PROJECTION_CONVERSATIONS: {k: dump(s) for k, s in models.conversations.items()},
            PROJECTION_AGENTS: {k: dump(s) for k, s in models.agents.items()},
            PROJECTION_QUEUES: {k: dump(s) for k, s in models.queues.items()}}


def live_differences(settings: Settings, models: ReadModels) -> list[str]:
    """The worker's tables (their published projections, latest per key) vs the fold."""
    found: list[str] = []
    for topic, states in _expected(models).items():
        live = {r.key.decode(): r.value for r in records(settings, (topic,), committed_only=False)
                if r.key is not None}
        for key, want in states.items():
            got = live.get(key)
            if got is None or orjson.loads(got) != orjson.loads(want):
                found.append(f"{topic} {key}: {_fields(got, want)}")
    return found


def stored_differences(settings: Settings, models: ReadModels, schema: str = "readmodel",
                       ) -> list[str]:
    """The projector's rows vs the fold: every conversation's and agent's state, and who
    waits in which queue."""
    found: list[str] = []
    with psycopg.connect(settings.database_url) as conn:
        for table, key, states in (("conversations", "conversation_id", models.conversations),
                                   ("agents", "agent_id", models.agents)):
            rows: dict[str, Any] = dict(conn.execute(sql.SQL("SELECT {}, state FROM {}.{}").format(
                sql.Identifier(key), sql.Identifier(schema), sql.Identifier(table))).fetchall())
            found += [f"{table} {k}: no row" for k in states if k not in rows]
            found += [f"{table} {k}: row not in the fold" for k in rows if k not in states]
            for k, state in states.items():
                want = dump(state)
                if k in rows and rows[k] != orjson.loads(want):
                    found.append(f"{table} {k}: {_fields(orjson.dumps(rows[k]), want)}")
        waiting: dict[str, str] = dict(conn.execute(sql.SQL(
            "SELECT conversation_id, queue FROM {}.queue_waiting").format(
                sql.Identifier(schema))).fetchall())
    folded = {w.conversation_id: queue for queue, state in models.queues.items()
              for w in state.waiting}
    if waiting != folded:
        found += [f"queue_waiting {c}: {waiting.get(c)} stored, {folded.get(c)} folded"
                  for c in sorted(set(waiting) | set(folded)) if waiting.get(c) != folded.get(c)]
    return found


def _fields(got: bytes | None, want: bytes) -> str:
    if got is None:
        return "missing"
    g, w = orjson.loads(got), orjson.loads(want)
    if not isinstance(g, dict) or not isinstance(w, dict):
        return f"{g!r} vs {w!r}"
    return "; ".join(f"{f}: {g.get(f)!r} vs {w.get(f)!r}" for f in sorted(set(g) | set(w))
                     if g.get(f) != w.get(f))[:300]
