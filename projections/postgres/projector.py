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
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import TypeVar

import orjson
import psycopg
from kafka import ConsumerRebalanceListener, KafkaConsumer, TopicPartition
from kafka.errors import KafkaError

from projections.postgres.batch import BatchRows, DecodedBatch, SourceRecord, decode_batch
from projections.postgres.consumer import (
    MAX_RECORDS,
    open_consumer,
    until_it_works,
    wait_for_topics,
)
from projections.postgres.known_states import Known
from projections.postgres.migrate import DEFAULT_SCHEMA, migrate
from projections.postgres.plan import Planned, plan
from projections.postgres.progress import Progress
from projections.postgres.store import PROJECTOR, Conn, connect, new_stamp, read_offsets
from projections.postgres.writer import (
    Stale,
    project_decoded,
    project_records,
    reject_record,
    write_planned,
)
from schemas.topics import AGENTS, CONVERSATIONS
from services.runtime import gc_policy
from services.runtime.settings import Settings, from_env

log = logging.getLogger("switchboard.projector")
T = TypeVar("T")
TOPICS = (CONVERSATIONS, AGENTS)
"""What it reads (logical names: `Settings.topic` gives the ones on the cluster). Offsets
are stored under the names on the cluster: a projector with another topic prefix keeps
its own offsets, even in the same schema."""
SWITCH_INTERVAL_S = 0.001
"""How long one thread may hold the GIL while another waits for it (CPython's default:
5 ms). The writer thread needs it for a moment after each PostgreSQL round trip, while
the main thread folds; at 5 ms those moments added 3 s per 200,000 events to its
critical path (the drain went from 13,500 to 16,200 events/s at 1 ms)."""


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


class _SeekToStored(ConsumerRebalanceListener):
    """Position every newly assigned partition at its stored offset, or the beginning."""

    def __init__(self, runner: _Runner) -> None:
        self.runner = runner

    def on_partitions_revoked(self, revoked: object) -> None:
        """Finish the batch being written (offsets go with its rows), so the next owner
        of a partition finds it stored rather than waiting on its lock."""
        self.runner.settle()

    def on_partitions_assigned(self, assigned: Sequence[TopicPartition]) -> None:
        """Seek to the offsets stored in PostgreSQL (once no batch is being written)."""
        self.runner.settle()
        self.runner.seek_to_stored(assigned)


class _Runner:
    """The imperative shell: one consumer, one connection, a loop, and one thread that
    writes a batch while the loop fetches, decodes and folds the next.

    A third of a batch's time was spent waiting on PostgreSQL. So while batch N is being
    written, batch N+1 is folded ahead from the states N will leave (`plan`), and the
    writer checks, under the same locks, that the rows are as assumed before writing
    it. Only the writer thread touches the connection while a batch is in flight;
    everything else (offset reads, recovery, the rebalance listener) first `settle`s it.
    A batch that cannot be planned (a state not remembered) or whose plan proved stale
    is projected the ordinary way on this thread. When anything fails, what is
    remembered is forgotten, and when the consumer is rewound to the stored offsets, the
    batch polled meanwhile is dropped: it lies past the rewound one.
    """

    def __init__(self, settings: Settings, schema: str, stop: threading.Event,
                 consumer: KafkaConsumer) -> None:
        self.settings, self.schema, self.stop = settings, schema, stop
        self.stats = ProjectorStats()
        self.conn: Conn | None = None
        self.db_broken = False
        self.consumer = consumer
        self.topics = [settings.topic(t) for t in TOPICS]
        self.rewinds = 0
        """Times the consumer was sought back to the stored offsets."""
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="projector-writer")
        self._in_flight: tuple[Future[BatchRows], list[SourceRecord], DecodedBatch] | None = None
        self.known = Known()
        """States as written (or being written), by row stamp; this thread's only."""
        self.forgotten = 0
        """Times `known` was cleared: a plan made before then assumed what it held."""

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
        self.rewinds += 1
        self.forget()
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

    def plan(self, batch: DecodedBatch) -> Planned | None:
        """The batch folded ahead over the remembered states (None: one is not remembered);
        its states are remembered at once, as the next batch's plan must see them."""
        planned = plan(batch, self.known, new_stamp())
        if planned is not None:
            self.known.wrote(planned.rows, planned.stamp)
        return planned

    def forget(self) -> None:
        """Forget every remembered state: some may never have been written."""
        self.known.clear()
        self.forgotten += 1

    def submit(self, records: list[SourceRecord], planned: Planned) -> None:
        """Start writing a planned batch on the writer thread (after `settle`: one at a time)."""
        assert self.conn is not None and self._in_flight is None
        future = self._writer.submit(write_planned, self.conn, self.schema, planned)
        self._in_flight = (future, records, planned.batch)

    def settle(self) -> None:
        """Wait for the batch being written and count it; if its plan was stale, project it
        from what is stored; on a database failure recover and let redelivery redo it."""
        if self._in_flight is None:
            return
        future, records, batch = self._in_flight
        self._in_flight = None
        try:
            self.count(future.result())
        except Stale as exc:
            log.info("a batch folded ahead was stale (%s); projecting it from what is stored",
                     exc)
            self.forget()
            self.project_now(records, batch)
        except psycopg.Error as exc:
            self.failed(exc, records)

    def project_now(self, records: list[SourceRecord], batch: DecodedBatch) -> None:
        """Project a batch on this thread, loading what it needs (nothing in flight)."""
        assert self.conn is not None and self._in_flight is None
        try:
            self.count(project_decoded(self.conn, self.schema, batch, PROJECTOR, self.known))
        except psycopg.Error as exc:
            self.failed(exc, records)

    def failed(self, exc: psycopg.Error, records: list[SourceRecord]) -> None:
        """A batch's transaction failed: reconnect and rewind when the database is gone, or
        find the records it refuses."""
        self.forget()
        if isinstance(exc, psycopg.OperationalError):
            log.warning("PostgreSQL failed mid-batch (%s); reconnecting", exc)
            self.recover_db()
        else:
            log.warning("PostgreSQL refused a batch (%s); projecting it record by record", exc)
            self.project_one_by_one(records)

    def close(self) -> None:
        """Finish the batch being written, then stop the writer thread."""
        try:
            self.settle()
        finally:
            self._writer.shutdown(wait=True)

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

    def caught_up(self, ends: Mapping[tuple[str, int], int]) -> bool:
        """Whether everything before `ends` is projected, with nothing polled and unwritten.
        The stored offset follows the last event, so a partition whose log ends with the
        marker of a router's transaction is never stored up to its end: there the
        consumer's position, which steps over markers, says it was all read."""
        assert self.conn is not None
        stored = read_offsets(self.conn, self.schema)
        assigned = self.consumer.assignment()
        for (topic, partition), end in ends.items():
            if stored.get((topic, partition), 0) >= end:
                continue
            tp = TopicPartition(topic, partition)
            if tp not in assigned or self.consumer.position(tp) < end:
                return False
        return True

    def lag(self, ends: Mapping[tuple[str, int], int]) -> int:
        """Records on the log not yet projected (from the stored offsets)."""
        assert self.conn is not None
        stored = read_offsets(self.conn, self.schema)
        return sum(max(0, end - stored.get(tp, 0)) for tp, end in ends.items())


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
        if not wait_for_topics(runner.consumer, runner.topics, stop):
            return runner.stats
        runner.consumer.subscribe(runner.topics, listener=_SeekToStored(runner))
        targets = runner.end_offsets() if until_caught_up else {}
        progress = Progress(log, "projector")
        while not stop.is_set():
            rewinds = runner.rewinds
            records = runner.poll()  # polled, decoded and planned while the last is written
            batch = decode_batch(records) if records else None
            forgotten = runner.forgotten
            planned = runner.plan(batch) if batch is not None else None
            runner.settle()
            if runner.rewinds != rewinds:
                continue  # sought back before what was just polled: it will be read again
            if runner.db_broken:
                runner.recover_db()
                continue  # positions were not set from PostgreSQL: drop and re-read
            if batch is not None:
                if runner.forgotten != forgotten:  # planned over states never written
                    planned = runner.plan(batch)
                if planned is None:
                    runner.project_now(records, batch)
                else:
                    runner.submit(records, planned)
            if runner.conn is None or runner.db_broken:
                continue
            if progress.due():
                runner.settle()
                progress.report(runner.stats.events, _safe_lag(runner))
            if until_caught_up and batch is None and runner.caught_up(targets):
                break
    finally:
        runner.stats.seconds = time.monotonic() - started
        runner.close()
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
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    stats = run_projector(from_env(), args.schema, stop, args.until_caught_up)
    sys.stdout.write(orjson.dumps({**asdict(stats), "events_per_s": stats.events_per_s}).decode()
                     + "\n")
    return 0


if __name__ == "__main__":
    # Through the command line's entry, so `python -m` gets its settings check, its clean
    # stop on SIGTERM and its messages instead of a traceback.
    from services.cli.main import main as switchboard

    sys.exit(switchboard(["projector", *sys.argv[1:]]))
