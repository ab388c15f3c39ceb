"""The PostgreSQL projector against the real broker and database: rows equal the offline fold,
duplicates are not doubled, poison records are kept as rejects and the projector goes on, two
projectors folding one new agent keep both updates."""

from __future__ import annotations

import dataclasses
import logging
import socket
import threading
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import psycopg
import pytest
from log_support import produce
from psycopg import sql
from tests_support import wait_for

from projections.agents.state import AgentState
from projections.dedupe import Position
from projections.postgres.batch import SourceRecord, decode_batch, fold_conversations, project
from projections.postgres.known_states import Known, KnownStates
from projections.postgres.migrate import migrate
from projections.postgres.plan import plan
from projections.postgres.projector import run_projector
from projections.postgres.rows import state_json
from projections.postgres.sample_log import sample_log
from projections.postgres.store import connect, load_agents, new_stamp, read_offsets, write_batch
from projections.postgres.writer import Stale, project_decoded, project_records, write_planned
from projections.replay import ReadModels, fold, fold_log
from projections.state_codec import dump, load
from schemas.codec import decode as decode_value
from schemas.codec import encode
from schemas.envelope import new_event
from schemas.events.agent import LoggedIn
from schemas.events.conversation import (
    Assigned,
    ConversationStarted,
    MessageReceived,
    Queued,
    Resolved,
)
from schemas.topics import AGENTS, CONVERSATIONS
from services.runtime.settings import Settings

pytestmark = pytest.mark.integration
T0 = datetime(2025, 4, 1, 8, 0, tzinfo=UTC)


@pytest.fixture
def pg_settings(settings: Settings, fresh_db: str) -> Settings:
    """The test servers, with a brand-new database for this test's read models."""
    return dataclasses.replace(settings, database_url=fresh_db)


@pytest.fixture
def schema() -> str:
    return f"rm_{uuid.uuid4().hex[:8]}"


def rows(conn: psycopg.Connection[Any], schema: str, table: str, where: str, prefix: str,
         key: str) -> dict[str, tuple[Any, ...]]:
    """Rows of `table` whose `where` column starts with `prefix`, by `key`."""
    cur = conn.execute(sql.SQL("SELECT * FROM {}.{} WHERE {} LIKE %s").format(
        sql.Identifier(schema), sql.Identifier(table), sql.Identifier(where)), (prefix + "%",))
    names = [d.name for d in cur.description or ()]
    return {r[names.index(key)]: dict(zip(names, r, strict=True)) for r in cur.fetchall()}  # type: ignore[misc]


def assert_rows_equal_fold(conn: psycopg.Connection[Any], schema: str, prefix: str,
                           expected: ReadModels) -> None:
    convs = rows(conn, schema, "conversations", "conversation_id", prefix, "conversation_id")
    assert set(convs) == set(expected.conversations)
    for cid, state in expected.conversations.items():
        row = convs[cid]
        assert row["state"] == orjson.loads(dump(state)), cid
        assert (row["phase"], row["agent_id"], row["messages_in"], row["last_event_at"]) == (
            state.phase, state.agent_id, state.messages_in, state.last_event_at)
    agents = rows(conn, schema, "agents", "agent_id", prefix, "agent_id")
    assert set(agents) == set(expected.agents)
    for aid, agent in expected.agents.items():
        assert agents[aid]["state"] == orjson.loads(dump(agent)), aid
        assert agents[aid]["status"] == agent.status
    waiting = rows(conn, schema, "queue_waiting", "conversation_id", prefix, "conversation_id")
    assert {c: (r["queue"], r["priority"], r["channel"], r["since"], r["offered_to"])
            for c, r in waiting.items()} == {
        w.conversation_id: (q, w.priority, w.channel, w.since, w.offered_to)
        for q, state in expected.queues.items() for w in state.waiting}
    assert {c: (r["language"], r["required_skills"]) for c, r in waiting.items()} == {
        c: (expected.conversations[c].language, expected.conversations[c].required_skills)
        for c in waiting}


def test_projected_rows_equal_the_offline_fold_of_the_same_log(pg_settings: Settings,
                                                                schema: str) -> None:
    prefix = f"p{uuid.uuid4().hex[:6]}-"
    events = sample_log(200, 20, seed=21, start=T0, prefix=prefix)
    log = produce(pg_settings, list(events))
    stats = run_projector(pg_settings, schema, until_caught_up=True)
    assert stats.events >= len(events)
    with psycopg.connect(pg_settings.database_url) as conn:
        assert_rows_equal_fold(conn, schema, prefix, fold_log(log))
        live = conn.execute(sql.SQL("SELECT queue, waiting FROM {}.queue_live").format(
            sql.Identifier(schema))).fetchall()
        assert sum(n for _, n in live) >= 1
        stored = read_offsets(conn, schema)  # type: ignore[arg-type]
        assert stored and all(n > 0 for n in stored.values())
        # Under the topics' names on the cluster: a projector of another prefix keeps its own.
        assert {topic for topic, _ in stored} == {f"t-projector-pg-{CONVERSATIONS}",
                                                  f"t-projector-pg-{AGENTS}"}


def test_an_event_produced_twice_is_counted_once(pg_settings: Settings, schema: str) -> None:
    prefix = f"d{uuid.uuid4().hex[:6]}-"
    events = sample_log(5, 2, seed=4, start=T0, prefix=prefix)
    cid = f"{prefix}dup"
    begun = new_event(ConversationStarted(channel="sms", mode="async", customer_id="c",
                                          queue="billing"), subject=cid, source="test", time=T0)
    msg = new_event(MessageReceived(message_id="dup"), subject=cid, source="test",
                    time=T0 + timedelta(seconds=1))
    events.append(begun)
    log = produce(pg_settings, [*events, msg, msg])
    run_projector(pg_settings, schema, until_caught_up=True)
    log += produce(pg_settings, [msg])  # and once more, in a later batch
    run_projector(pg_settings, schema, until_caught_up=True)
    with psycopg.connect(pg_settings.database_url) as conn:
        assert_rows_equal_fold(conn, schema, prefix, fold_log(log))
        rejected = conn.execute(sql.SQL(
            "SELECT count(*) FROM {}.projection_rejects WHERE event_id = %s").format(
            sql.Identifier(schema)), (msg.id,)).fetchone()
        assert rejected == (0,)
        assert conn.execute(sql.SQL(
            "SELECT messages_in FROM {}.conversations WHERE conversation_id = %s").format(
            sql.Identifier(schema)), (cid,)).fetchone() == (1,)


def test_poison_records_are_kept_as_rejects_and_the_projector_goes_on(pg_settings: Settings,
                                                                      schema: str) -> None:
    prefix = f"x{uuid.uuid4().hex[:6]}-"
    events = sample_log(10, 3, seed=9, start=T0, prefix=prefix)
    ghost = new_event(Resolved(resolved_by="agent"), subject=f"{prefix}ghost", source="test",
                      time=T0)
    junk = f"{prefix}not json at all".encode()
    after = sample_log(10, 3, seed=10, start=T0 + timedelta(hours=1), prefix=prefix + "b-")
    log = produce(pg_settings, [*events, (CONVERSATIONS, b"junk", junk), ghost, *after])
    run_projector(pg_settings, schema, until_caught_up=True)
    with psycopg.connect(pg_settings.database_url) as conn:
        rejects = conn.execute(sql.SQL(
            "SELECT event_id, reason, raw, topic, partition FROM {}.projection_rejects"
            " WHERE raw = %s OR event_id = %s").format(sql.Identifier(schema)),
            (junk, ghost.id)).fetchall()
        assert {(r[0], r[1]) for r in rejects} == {
            (None, "malformed_json"), (ghost.id, "unknown_conversation")}
        assert len(rejects) == 2
        assert {bytes(r[2]) for r in rejects} == {junk, encode(ghost)}
        assert {r[3] for r in rejects} == {pg_settings.topic(CONVERSATIONS)}  # as read
        assert_rows_equal_fold(conn, schema, prefix, fold_log(log))


def test_migrations_apply_once_and_are_recorded(pg_settings: Settings, schema: str) -> None:
    with psycopg.connect(pg_settings.database_url, autocommit=True) as conn:
        assert migrate(conn, schema) == ["001_read_models", "002_queue_staffing",
                                         "003_staffing_at_read_time", "004_write_stamps",
                                         "005_readable_capacity", "006_kpi_facts"]
        assert migrate(conn, schema) == []
        tables = {r[0] for r in conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
            (schema,)).fetchall()}
    assert {"conversations", "agents", "queue_waiting", "queue_live", "agents_live",
            "projector_offsets", "projection_rejects", "schema_migrations"} <= tables



def test_migration_002_fills_in_what_rows_written_before_it_lack(pg_settings: Settings,
                                                                  schema: str) -> None:
    cid = f"m{uuid.uuid4().hex[:6]}-conv"
    state = fold([
        new_event(ConversationStarted(channel="chat", mode="sync", customer_id="cust",
                                      queue="billing", language="fr",
                                      required_skills={"billing": 3}),
                  subject=cid, source="test", time=T0),
        new_event(Queued(queue="billing", required_skills={"billing": 3}), subject=cid,
                  source="test", time=T0)]).conversations[cid]
    with psycopg.connect(pg_settings.database_url, autocommit=True) as conn:
        assert migrate(conn, schema, until="001_read_models") == ["001_read_models"]
        # A row as version 001 wrote it: every column from the state's field of that name.
        conn.execute(sql.SQL(
            "INSERT INTO {0}.conversations SELECT (jsonb_populate_record(NULL::{0}.conversations,"
            " %s::jsonb || jsonb_build_object('state', %s::jsonb))).*").format(
            sql.Identifier(schema)), (state_json(state), state_json(state)))
        conn.execute(sql.SQL("INSERT INTO {}.queue_waiting VALUES (%s, 'billing', 0, 'chat', %s,"
                             " NULL)").format(sql.Identifier(schema)), (cid, T0))
        assert migrate(conn, schema, until="002_queue_staffing") == ["002_queue_staffing"]
        row = conn.execute(sql.SQL("SELECT language, required_skills FROM {}.queue_waiting"
                                   " WHERE conversation_id = %s").format(sql.Identifier(schema)),
                           (cid,)).fetchone()
    assert row == ("fr", {"billing": 3})


def test_migration_003_leaves_no_sql_copy_of_agent_eligibility(pg_settings: Settings,
                                                                schema: str) -> None:
    with psycopg.connect(pg_settings.database_url, autocommit=True) as conn:
        migrate(conn, schema, until="002_queue_staffing")
        conn.execute(sql.SQL("INSERT INTO {}.queue_waiting VALUES ('c1', 'billing', 0, 'chat',"
                             " %s, NULL, 'fr', %s::jsonb)").format(sql.Identifier(schema)),
                     (T0, '{"billing": 3}'))

        def functions() -> set[str]:
            return {r[0] for r in conn.execute(
                "SELECT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace"
                " WHERE n.nspname = %s", (schema,)).fetchall()}

        assert functions() == {"agent_fits", "free_slots"}
        assert migrate(conn, schema, until="003_staffing_at_read_time") == [
            "003_staffing_at_read_time"]
        assert functions() == set()
        cur = conn.execute(sql.SQL("SELECT * FROM {}.queue_live").format(sql.Identifier(schema)))
        assert [d.name for d in cur.description or ()] == [
            "queue", "waiting", "offered", "oldest_since", "by_priority", "by_channel"]
        assert cur.fetchall() == [("billing", 1, 0, T0, {"0": 1}, {"chat": 1})]


def test_a_broker_down_at_start_is_waited_for_not_a_crash(
        pg_settings: Settings, schema: str, caplog: pytest.LogCaptureFixture) -> None:
    # A closed loopback port: nothing listens there, as when the broker is not up yet.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    down = dataclasses.replace(pg_settings, kafka_bootstrap_servers=f"127.0.0.1:{closed_port}")
    stop = threading.Event()
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["stats"] = run_projector(down, schema=schema, stop=stop)
        except BaseException as exc:  # noqa: BLE001 - the test reports whatever escaped
            outcome["raised"] = exc

    caplog.set_level(logging.WARNING, logger="switchboard.projector")
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    # One attempt waits BOOTSTRAP_TIMEOUT_MS for the broker before it is logged and retried.
    wait_for(lambda: sum("Kafka unavailable" in r.getMessage() for r in caplog.records) >= 2
             or "raised" in outcome, "two logged retries of the broker connection", timeout_s=90)
    assert thread.is_alive() and "raised" not in outcome, outcome
    stop.set()
    thread.join(timeout=30)
    assert not thread.is_alive() and outcome.get("stats") is not None, outcome


def _waiting_on_an_advisory_lock(conn: psycopg.Connection[Any], pid: int) -> bool:
    return conn.execute(
        "SELECT wait_event_type = 'Lock' AND wait_event = 'advisory'"
        " FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone() == (True,)


def test_two_projectors_folding_one_new_agent_keep_both_updates(pg_settings: Settings,
                                                                 schema: str) -> None:
    # A new agent has no row to lock: one projector folds its login from cc.agents
    # while another folds an assignment to it from cc.conversations. The second must
    # wait for the first and fold on top of its row, not upsert over it from nothing.
    prefix = f"n{uuid.uuid4().hex[:6]}-"
    agent, cid = f"{prefix}agent", f"{prefix}conv"
    login = new_event(LoggedIn(name="Ann", capacity={"sms": 3}), subject=agent, source="test",
                      time=T0)
    conversation = [
        new_event(ConversationStarted(channel="sms", mode="async", customer_id="c", queue="billing"),
                  subject=cid, source="test", time=T0),
        new_event(Queued(queue="billing"), subject=cid, source="test", time=T0),
        new_event(Assigned(agent_id=agent), subject=cid, source="test",
                  time=T0 + timedelta(seconds=1)),
    ]
    login_batch = [SourceRecord(AGENTS, 0, 0, encode(login))]
    conversation_batch = [SourceRecord(CONVERSATIONS, 1, n, encode(e))
                          for n, e in enumerate(conversation)]
    with connect(pg_settings.database_url) as first, \
            connect(pg_settings.database_url, autocommit=True) as second, \
            psycopg.connect(pg_settings.database_url, autocommit=True) as watcher:
        migrate(second, schema)
        outcome: list[object] = []
        with first.transaction():
            decoded = decode_batch(login_batch)
            agents = load_agents(first, schema, {agent}, KnownStates(8))
            assert agents == {}
            racing = threading.Thread(target=lambda: outcome.append(
                project_records(second, schema, conversation_batch)))
            racing.start()
            wait_for(lambda: _waiting_on_an_advisory_lock(watcher, second.info.backend_pid),
                     "the second projector to wait for the agent's lock")
            write_batch(first, schema, project(fold_conversations(decoded, {}), agents))
        racing.join(timeout=60)
        assert outcome and not racing.is_alive()
        stored = load(AgentState, watcher.execute(sql.SQL(
            "SELECT state FROM {}.agents WHERE agent_id = %s").format(sql.Identifier(schema)),
            (agent,)).fetchone()[0])  # type: ignore[index]
    assert stored.logged_in and stored.name == "Ann"
    assert stored.holding == {"sms": (cid,)}


def _messages_in(conn: psycopg.Connection[Any], schema: str, cid: str) -> int:
    row = conn.execute(sql.SQL("SELECT messages_in FROM {}.conversations"
                               " WHERE conversation_id = %s").format(sql.Identifier(schema)),
                       (cid,)).fetchone()
    return int(row[0]) if row else -1


def test_a_batch_folded_ahead_over_rows_another_writer_changed_writes_nothing(
        pg_settings: Settings, schema: str) -> None:
    # The projector folds batch N+1 from the states it remembers writing in batch N.
    # If another writer (a zombie instance, a hand-run projection) changed a row in
    # between, the plan is refused under the row locks and nothing of it is written;
    # the batch path then folds it from what is stored.
    prefix = f"s{uuid.uuid4().hex[:6]}-"
    cid, agent = f"{prefix}conv", f"{prefix}agent"
    first = [new_event(ConversationStarted(channel="sms", mode="async", customer_id="c",
                                           queue="billing"), subject=cid, source="test", time=T0),
             new_event(MessageReceived(message_id="m0"), subject=cid, source="test", time=T0)]
    later = [new_event(MessageReceived(message_id=f"m{n}"), subject=cid, source="test",
                       time=T0 + timedelta(seconds=n)) for n in (1, 2)]
    login = new_event(LoggedIn(name="Ann"), subject=agent, source="test", time=T0)
    records = [SourceRecord(CONVERSATIONS, 0, n, encode(e)) for n, e in enumerate([*first, *later])]
    with connect(pg_settings.database_url, autocommit=True) as ours, \
            connect(pg_settings.database_url, autocommit=True) as other:
        migrate(ours, schema)
        known = Known()
        project_decoded(ours, schema, decode_batch([*records[:2],
                                                    SourceRecord(AGENTS, 0, 0, encode(login))]),
                        known=known)
        project_records(other, schema, [records[2]])  # m1, written by someone else
        planned = plan(decode_batch([records[3]]), known, new_stamp())
        assert planned is not None and planned.conversations == {
            cid: known.conversations.peek(cid)[0]}  # type: ignore[index]
        with pytest.raises(Stale, match="conversation"):
            write_planned(ours, schema, planned)
        assert _messages_in(ours, schema, cid) == 2  # the plan wrote nothing
        project_decoded(ours, schema, decode_batch([records[3]]), known=known)
        assert _messages_in(ours, schema, cid) == 3
        # A plan of records already projected is refused on the offsets alone.
        again = plan(decode_batch([records[3]]), known, new_stamp())
        assert again is not None
        with pytest.raises(Stale, match="projected already"):
            write_planned(ours, schema, again)
        log = [(decode_value(r.value or b""), Position(r.partition, r.offset)) for r in records]
        log.append((login, Position(0, 0)))
        assert_rows_equal_fold(ours, schema, prefix, fold_log(log))
