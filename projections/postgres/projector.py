"""The exactly-once PostgreSQL projector: consume both domain topics, write read models.

At-least-once consumption, exactly-once effects: every poll batch is projected in
one transaction together with the partitions' next offsets, and on assignment each
partition is sought to the offset stored in PostgreSQL (Kafka's committed offsets
are not used). A bad record becomes a `projection_rejects` row; a lost database
connection is re-opened and consumption resumes from the stored offsets.

Run: `python -m projections.postgres.projector [--schema readmodel] [--until-caught-up]`.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import TypeVar

import orjson
import psycopg
from kafka import ConsumerRebalanceListener, KafkaConsumer, TopicPartition
from kafka.errors import KafkaError

from projections.postgres.batch import BatchRows, SourceRecord
from projections.postgres.migrate import DEFAULT_SCHEMA, migrate
from projections.postgres.progress import Progress
from projections.postgres.store import PROJECTOR, Conn, connect, read_offsets
from projections.postgres.writer import project_records, reject_record
from schemas.topics import AGENTS, CONVERSATIONS
from services.runtime import gc_policy
from services.runtime.kafka_clients import FETCH_MAX_WAIT_MS
from services.runtime.settings import Settings, from_env

log = logging.getLogger("switchboard.projector")
T = TypeVar("T")
TOPICS = (CONVERSATIONS, AGENTS)
"""What it reads (logical names: `Settings.topic` gives the ones on the cluster). Offsets
are stored under the names on the cluster: a projector with another topic prefix keeps
its own offsets, even in the same schema."""
MAX_RECORDS = 2000


@dataclass(slots=True)
class ProjectorStats:
    """What one run of the projector did."""

    events: int = 0
    rejects: int = 0
    batches: int = 0
    seconds: float = 0.0
    db_reconnects: int = 0

    @property
    def events_per_s(self) -> float:
        """Records projected per second of the run."""
        return self.events / self.seconds if self.seconds > 0 else 0.0


def group_id_for(schema: str) -> str:
    """The consumer group: one per target schema, so projectors of two schemas never share
    (its logical name: `Settings.group` gives the one on the cluster)."""
    return PROJECTOR if schema == DEFAULT_SCHEMA else f"{PROJECTOR}.{schema}"


class _SeekToStored(ConsumerRebalanceListener):
    """Position every newly assigned partition at its stored offset, or the beginning."""

    def __init__(self, runner: _Runner) -> None:
        self.runner = runner

    def on_partitions_revoked(self, revoked: object) -> None:
        """Nothing to flush: offsets are written with the rows of every batch."""

    def on_partitions_assigned(self, assigned: Sequence[TopicPartition]) -> None:
        """Seek to the offsets stored in PostgreSQL."""
        self.runner.seek_to_stored(assigned)


class _Runner:
    """The imperative shell: one consumer, one connection, a loop."""

    def __init__(self, settings: Settings, schema: str, stop: threading.Event,
                 consumer: KafkaConsumer) -> None:
        self.settings, self.schema, self.stop = settings, schema, stop
        self.stats = ProjectorStats()
        self.conn: Conn | None = None
        self.db_broken = False
        self.consumer = consumer
        self.topics = [settings.topic(t) for t in TOPICS]

    def open_db(self) -> bool:
        """(Re)connect until it works or we are stopped; migrate on the way."""
        def attempt() -> Conn:
            conn = connect(self.settings.database_url, autocommit=True, connect_timeout=5)
            migrate(conn, self.schema)
            return conn

        conn = until_it_works(attempt, psycopg.Error, "PostgreSQL unavailable", self.stop)
        if conn is None:
            return False
        self.conn, self.db_broken = conn, False
        return True

    def seek_to_stored(self, partitions: Sequence[TopicPartition]) -> None:
        """Seek partitions to their stored next offsets (beginning when none)."""
        if self.conn is None or not partitions:
            return
        try:
            stored = read_offsets(self.conn, self.schema)
        except psycopg.Error as exc:
            log.warning("cannot read stored offsets (%s); will reconnect and seek again", exc)
            self.db_broken = True
            return
        for tp in partitions:
            nxt = stored.get((tp.topic, tp.partition))
            if nxt is None:
                self.consumer.seek_to_beginning(tp)
            else:
                self.consumer.seek(tp, nxt)

    def recover_db(self) -> None:
        """After a database failure: reconnect, then rewind to what is durably stored."""
        self.stats.db_reconnects += 1
        if self.conn is not None:
            self.conn.close()
            self.conn = None
        if self.open_db():
            self.seek_to_stored(list(self.consumer.assignment()))

    def poll(self) -> list[SourceRecord]:
        """One poll, flattened; Kafka hiccups are logged and retried, not raised."""
        try:
            polled = self.consumer.poll(timeout_ms=500, max_records=MAX_RECORDS)
        except KafkaError as exc:
            log.warning("Kafka poll failed (%s); retrying", exc)
            self.stop.wait(1.0)
            return []
        return [SourceRecord(r.topic, r.partition, r.offset, r.value)
                for recs in polled.values() for r in recs]

    def project(self, records: list[SourceRecord]) -> None:
        """Project one batch; on a database failure, recover and let redelivery redo it."""
        assert self.conn is not None
        try:
            rows = project_records(self.conn, self.schema, records)
        except psycopg.OperationalError as exc:
            log.warning("PostgreSQL failed mid-batch (%s); reconnecting", exc)
            self.recover_db()
            return
        except psycopg.Error as exc:
            log.warning("PostgreSQL refused a batch (%s); projecting it record by record", exc)
            self.project_one_by_one(records)
            return
        self.count(rows)

    def project_one_by_one(self, records: list[SourceRecord]) -> None:
        """Find the record(s) the database refuses (e.g. a NUL in a text) and reject them."""
        assert self.conn is not None
        for record in records:
            try:
                self.count(project_records(self.conn, self.schema, [record]))
            except psycopg.OperationalError as exc:
                log.warning("PostgreSQL failed (%s); reconnecting", exc)
                self.recover_db()
                return
            except psycopg.Error as exc:
                reject_record(self.conn, self.schema, record, "storage_error", str(exc))
                self.stats.events += 1
                self.stats.rejects += 1

    def count(self, rows: BatchRows) -> None:
        """Add a committed batch to the stats; log its rejects."""
        self.stats.events += rows.events
        self.stats.rejects += len(rows.rejects)
        self.stats.batches += 1
        for r in rows.rejects:
            log.warning("rejected %s[%d]@%d (%s): %s", r.topic, r.partition, r.offset,
                        r.reason, r.detail[:200])

    def end_offsets(self) -> dict[tuple[str, int], int]:
        """The end offset of every partition of both topics, now."""
        tps = [TopicPartition(t, p) for t in self.topics
               for p in self.consumer.partitions_for_topic(t)]
        return {(tp.topic, tp.partition): n for tp, n in self.consumer.end_offsets(tps).items()}

    def lag(self, ends: Mapping[tuple[str, int], int]) -> int:
        """Records on the log not yet projected (from the stored offsets)."""
        assert self.conn is not None
        stored = read_offsets(self.conn, self.schema)
        return sum(max(0, end - stored.get(tp, 0)) for tp, end in ends.items())


BOOTSTRAP_TIMEOUT_MS = 5_000
"""How long one attempt waits for the broker: short, so a stop is noticed between tries."""


def open_consumer(settings: Settings, schema: str, stop: threading.Event) -> KafkaConsumer | None:
    """The projector's consumer, once the broker answers (None if stopped before):
    a broker that is down at start is waited for, like one that goes down later."""
    return until_it_works(lambda: KafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        group_id=settings.group(group_id_for(schema)), client_id=f"{PROJECTOR}-{schema}",
        enable_auto_commit=False, auto_offset_reset="earliest",
        max_poll_records=MAX_RECORDS, fetch_max_wait_ms=FETCH_MAX_WAIT_MS,
        session_timeout_ms=10_000,
        heartbeat_interval_ms=3_000, max_poll_interval_ms=300_000,
        bootstrap_timeout_ms=BOOTSTRAP_TIMEOUT_MS,
    ), KafkaError, f"Kafka unavailable at {settings.kafka_bootstrap_servers} (start the broker "
       "with `switchboard infra up` or point KAFKA_BOOTSTRAP_SERVERS at one)", stop)


def _wait_for_topics(consumer: KafkaConsumer, topics: Sequence[str],
                     stop: threading.Event) -> bool:
    """Wait until the consumer's metadata has partitions for every topic (False if stopped
    first). Subscribed to a topic created a moment earlier whose metadata has not reached
    it yet, the group's first assignment is empty, and kafka-python only looks again at
    its next metadata refresh, five minutes later: a fresh `make run` projected nothing."""
    delay = 0.1
    while not stop.is_set():
        missing = [t for t in topics if not consumer.partitions_for_topic(t)]
        if not missing:
            return True
        log.info("waiting for the broker's metadata of %s", ", ".join(missing))
        stop.wait(delay)
        delay = min(delay * 2, 2.0)
    return False


def until_it_works(attempt: Callable[[], T], errors: type[Exception], unavailable: str,
                   stop: threading.Event) -> T | None:
    """`attempt()` again, with backoff up to 5 s, until it does not raise `errors`; None if
    stopped first. Each failure is logged as `unavailable`."""
    delay = 0.2
    while not stop.is_set():
        try:
            return attempt()
        except errors as exc:
            log.warning("%s (%s); retrying in %.1fs", unavailable, exc, delay)
            stop.wait(delay)
            delay = min(delay * 2, 5.0)
    return None


def run_projector(settings: Settings, schema: str = DEFAULT_SCHEMA,
                  stop: threading.Event | None = None,
                  until_caught_up: bool = False) -> ProjectorStats:
    """Project `cc.conversations` and `cc.agents` into `schema` until `stop` is set
    (or, with `until_caught_up`, until every partition reached its end offset at start)."""
    stop = stop or threading.Event()
    started = time.monotonic()
    consumer = open_consumer(settings, schema, stop)
    if consumer is None:
        return ProjectorStats(seconds=time.monotonic() - started)
    runner = _Runner(settings, schema, stop, consumer)
    try:
        if not runner.open_db():
            return runner.stats
        if not _wait_for_topics(runner.consumer, runner.topics, stop):
            return runner.stats
        runner.consumer.subscribe(runner.topics, listener=_SeekToStored(runner))
        targets = runner.end_offsets() if until_caught_up else {}
        progress = Progress(log, "projector")
        while not stop.is_set():
            records = runner.poll()
            if runner.db_broken:
                runner.recover_db()
                continue  # positions were not set from PostgreSQL: drop and re-read
            if records:
                runner.project(records)
            if runner.conn is None or runner.db_broken:
                continue
            if progress.due():
                progress.report(runner.stats.events, _safe_lag(runner))
            if until_caught_up and runner.lag(targets) == 0:
                break
    finally:
        runner.stats.seconds = time.monotonic() - started
        runner.consumer.close(autocommit=False)
        if runner.conn is not None:
            runner.conn.close()
    return runner.stats


def _safe_lag(runner: _Runner) -> int | None:
    try:
        return runner.lag(runner.end_offsets())
    except (KafkaError, psycopg.Error):
        return None


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m projections.postgres.projector`: run until SIGTERM/SIGINT (or caught up)."""
    parser = argparse.ArgumentParser(prog="switchboard projector", description=__doc__)
    parser.add_argument("--schema", default=DEFAULT_SCHEMA, help="PostgreSQL schema to write")
    parser.add_argument("--until-caught-up", action="store_true",
                        help="stop once the log as of start-up is projected")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    gc_policy.for_batches()
    stats = run_projector(from_env(), args.schema, stop, args.until_caught_up)
    sys.stdout.write(orjson.dumps({**asdict(stats), "events_per_s": stats.events_per_s}).decode()
                     + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
