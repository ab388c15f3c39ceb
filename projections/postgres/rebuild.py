"""Rebuild the read models of a schema from offset 0 of the log (`switchboard rebuild`).

Drops the target schema, recreates it with the migrations, then replays both
topics up to the end offsets measured at start with its own consumer (manual
assignment, no group), through the very batch code the projector uses. The
offsets are stored under the projector's name, so a projector pointed at the
rebuilt schema continues from where the rebuild stopped.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import orjson
from kafka import KafkaConsumer, TopicPartition

from projections.postgres.batch import SourceRecord
from projections.postgres.known_states import Known
from projections.postgres.migrate import DEFAULT_SCHEMA, drop_schema, migrate
from projections.postgres.progress import Progress
from projections.postgres.projector import TOPICS
from projections.postgres.store import connect
from projections.postgres.writer import project_records
from services.runtime import gc_policy
from services.runtime.kafka_clients import READ_COMMITTED
from services.runtime.settings import Settings, from_env

log = logging.getLogger("switchboard.rebuild")
BATCH = 5000


@dataclass(slots=True)
class RebuildStats:
    """What a rebuild replayed and how fast."""

    schema: str
    events: int = 0
    rejects: int = 0
    seconds: float = 0.0

    @property
    def events_per_s(self) -> float:
        """Records replayed per second."""
        return self.events / self.seconds if self.seconds > 0 else 0.0


def rebuild(settings: Settings, schema: str = DEFAULT_SCHEMA) -> RebuildStats:
    """Replay the whole log into a freshly created `schema`; return what it did."""
    stats = RebuildStats(schema)
    started = time.monotonic()
    consumer = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap_servers, group_id=None,
                             client_id=f"switchboard-rebuild-{schema}", enable_auto_commit=False,
                             isolation_level=READ_COMMITTED,
                             max_poll_records=BATCH, fetch_max_bytes=64 * 1024 * 1024)
    with connect(settings.database_url, autocommit=True) as conn:
        drop_schema(conn, schema)
        migrate(conn, schema)
        try:
            tps = [TopicPartition(t, p) for t in map(settings.topic, TOPICS)
                   for p in consumer.partitions_for_topic(t)]
            consumer.assign(tps)
            consumer.seek_to_beginning(*tps)
            ends = {tp: n for tp, n in consumer.end_offsets(tps).items()}
            progress = Progress(log, f"rebuild {schema}")
            known = Known()  # the only writer of a fresh schema: what it wrote is what is stored
            while _remaining(consumer, ends):
                polled = consumer.poll(timeout_ms=500, max_records=BATCH)
                records = [SourceRecord(r.topic, r.partition, r.offset, r.value)
                           for tp, recs in polled.items() for r in recs if r.offset < ends[tp]]
                if records:
                    rows = project_records(conn, schema, records, known=known)
                    stats.events += rows.events
                    stats.rejects += len(rows.rejects)
                if progress.due():
                    progress.report(stats.events, sum(_remaining(consumer, ends).values()))
        finally:
            consumer.close(autocommit=False)
    stats.seconds = time.monotonic() - started
    return stats


def _remaining(consumer: KafkaConsumer,
               ends: dict[TopicPartition, int]) -> dict[TopicPartition, int]:
    """Records left per partition until the end offsets measured at start."""
    left = {tp: end - consumer.position(tp) for tp, end in ends.items()}
    done = [tp for tp, n in left.items() if n <= 0]
    if done:
        consumer.pause(*done)  # records produced after the start are not part of this rebuild
    return {tp: n for tp, n in left.items() if n > 0}


def main(argv: Sequence[str] | None = None) -> int:
    """`switchboard rebuild [--schema S]`: rebuild and print the stats as JSON."""
    parser = argparse.ArgumentParser(prog="switchboard rebuild", description=__doc__)
    parser.add_argument("--schema", default=DEFAULT_SCHEMA, help="PostgreSQL schema to rebuild")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    gc_policy.for_batches()
    stats = rebuild(from_env(), args.schema)
    sys.stdout.write(orjson.dumps({**asdict(stats), "events_per_s": stats.events_per_s}).decode()
                     + "\n")
    return 0


if __name__ == "__main__":
    # Through the command line's entry, so `python -m` gets its settings check, its clean
    # stop on SIGTERM and its messages instead of a traceback.
    from services.cli.main import main as switchboard

    sys.exit(switchboard(["rebuild", *sys.argv[1:]]))
