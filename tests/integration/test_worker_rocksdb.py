"""The worker on `--store rocksdb://` against the real broker: its tables equal the offline
fold, and restarted on its data directory it reads only the changelog written since."""

from __future__ import annotations

import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import rocksdict
from kafka import KafkaConsumer, TopicPartition
from log_support import produce
from tests_support import ROOT, child_env, latest_by_key, print_tail, stop_process, wait_for

from projections.postgres.sample_log import sample_log
from projections.replay import ReadModels, fold_log
from projections.state_codec import dump
from schemas import deadletter
from schemas.topics import DEADLETTER, PROJECTION_AGENTS, PROJECTION_CONVERSATIONS, PROJECTION_QUEUES
from services.runtime.settings import Settings

CHANGELOG_OF = {"conversations": PROJECTION_CONVERSATIONS, "queues": PROJECTION_QUEUES,
                "agents": PROJECTION_AGENTS}
OFFSET_KEY = b"__faust\0offset__"
FOLD_DEADLINE_S = 180.0


def start_worker(settings: Settings, worker_id: str, data_dir: Path, log: Path) -> subprocess.Popen[bytes]:
    env = child_env(settings, SWITCHBOARD_WORKER_ID=worker_id)
    with open(log, "ab") as out:  # a file, not a pipe nobody reads
        return subprocess.Popen(
            [sys.executable, "-m", "services.cli.main", "worker", "--store", "rocksdb://",
             "--data-dir", str(data_dir)], env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)


def recovery_reports(data_dir: Path) -> dict[str, dict[str, Any]] | None:
    """The last recovery report of each table (see streams/README.md), once all are written."""
    reports = [orjson.loads(p.read_bytes()) for p in data_dir.rglob("*-recovery.json")]
    return {r["table"]: r for r in reports} if len(reports) == len(CHANGELOG_OF) else None


def changelog_ends(settings: Settings) -> dict[tuple[str, int], int]:
    """The end offset of every partition of the table changelogs, by logical topic."""
    consumer = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap_servers)
    try:
        logical = {settings.topic(t): t for t in CHANGELOG_OF.values()}
        tps = [TopicPartition(t, p) for t in logical for p in consumer.partitions_for_topic(t) or ()]
        return {(logical[tp.topic], tp.partition): end
                for tp, end in consumer.end_offsets(tps).items()}
    finally:
        consumer.close()


def local_tables(data_dir: Path) -> tuple[dict[str, dict[bytes, Any]], dict[tuple[str, int], int]]:
    """What a stopped worker's RocksDB databases hold: each table's states, and each
    changelog partition's stored offset."""
    states: dict[str, dict[bytes, Any]] = {table: {} for table in CHANGELOG_OF}
    offsets = {}
    for table, topic in CHANGELOG_OF.items():
        for path in data_dir.rglob(f"{table}-*.db"):
            db = rocksdict.Rdict(str(path), options=rocksdict.Options(raw_mode=True),
                                 access_type=rocksdict.AccessType.read_only())
            try:
                for key, value in db.items():
                    assert isinstance(key, bytes) and isinstance(value, bytes)
                    if key == OFFSET_KEY:
                        offsets[(topic, int(path.stem.rsplit("-", 1)[1]))] = int(value)
                    elif not key.startswith(b"__"):
                        states[table][key] = orjson.loads(value)
            finally:
                db.close()
    return states, offsets


def recent() -> datetime:
    """A start for the sample log: its conversations stay within the closed horizon, so
    the worker's sweep leaves them in the tables."""
    return datetime.now(UTC) - timedelta(hours=1)


def expected_tables(models: ReadModels, prefix: str) -> dict[str, dict[bytes, Any]]:
    """The offline fold as the tables hold it: conversations and agents whole, each queue's
    waiting list as far as this test's conversations go (queue names are shared)."""
    return {
        "conversations": {k.encode(): orjson.loads(dump(s)) for k, s in models.conversations.items()},
        "agents": {k.encode(): orjson.loads(dump(s)) for k, s in models.agents.items()},
        "queues": {q.encode(): ours(orjson.loads(dump(s)), prefix) for q, s in models.queues.items()},
    }


def ours(queue: dict[str, Any], prefix: str) -> list[Any]:
    return [w for w in queue["waiting"] if w["conversation_id"].startswith(prefix)]


def wait_for_changelogs(settings: Settings, prefix: str, expected: dict[str, dict[bytes, Any]]) -> None:
    """Until the changelogs (the tables as the worker writes them) hold `expected`."""
    for table, want in expected.items():
        def holds(records: dict[bytes, Any], want: dict[bytes, Any] = want, table: str = table) -> bool:
            def state(k: bytes) -> Any:
                value = orjson.loads(records[k].value)
                return ours(value, prefix) if table == "queues" else value
            return all(k in records and records[k].value is not None and state(k) == v
                       for k, v in want.items())
        latest_by_key(settings, CHANGELOG_OF[table], holds, FOLD_DEADLINE_S)


def print_dead_letters(settings: Settings, prefix: str) -> None:
    """This test's dead letters with their reasons: pytest shows them when the test failed."""
    consumer = KafkaConsumer(settings.topic(DEADLETTER), bootstrap_servers=settings.kafka_bootstrap_servers,
                             auto_offset_reset="earliest", consumer_timeout_ms=2000)
    try:
        for record in consumer:
            if record.key and record.key.startswith(prefix.encode()):
                headers = {k: v.decode(errors="replace") for k, v in record.headers}
                print("dead letter", record.key, headers.get(deadletter.REASON),
                      headers.get(deadletter.DETAIL))
    finally:
        consumer.close()


def test_a_rocksdb_worker_keeps_the_offline_fold_in_its_local_tables(
        settings: Settings, tmp_path: Path) -> None:
    run = uuid.uuid4().hex[:6]
    prefix, data_dir, log = f"rdb{run}-", tmp_path / "worker-data", tmp_path / "worker.log"
    events = sample_log(100, 4, seed=12, start=recent(), prefix=prefix)
    expected = expected_tables(fold_log(produce(settings, list(events), "test-rocksdb")), prefix)
    worker = start_worker(settings, f"worker-rocksdb-{run}", data_dir, log)
    try:
        wait_for_changelogs(settings, prefix, expected)
    finally:
        stop_process(worker)
        print_tail(log, 60)
        print_dead_letters(settings, prefix)
    assert worker.returncode == 0

    states, offsets = local_tables(data_dir)
    assert {k: v for k, v in states["conversations"].items() if k.startswith(prefix.encode())} \
        == expected["conversations"]
    assert {k: v for k, v in states["agents"].items() if k.startswith(prefix.encode())} \
        == expected["agents"]
    assert {q: ours(states["queues"][q], prefix) for q in expected["queues"]} == expected["queues"]
    # Each partition's database is the changelog up to its stored offset: here, to its end.
    ends = changelog_ends(settings)
    assert offsets == {tp: end - 1 for tp, end in ends.items() if end}


def test_a_worker_restarted_on_its_rocksdb_data_reads_only_the_changelog_written_since(
        settings: Settings, tmp_path: Path) -> None:
    run = uuid.uuid4().hex[:6]
    prefix, worker_id = f"rdb{run}-", f"worker-rocksdb-{run}"
    data_dir, log = tmp_path / "worker-data", tmp_path / "worker.log"
    events = sample_log(150, 6, seed=11, start=recent(), prefix=prefix)
    cut = len(events) * 2 // 3
    first, rest = events[:cut], events[cut:]
    assert {e.subject for e in first} & {e.subject for e in rest}  # the rest continues them

    log_first = produce(settings, list(first), "test-rocksdb")
    worker = start_worker(settings, worker_id, data_dir, log)
    try:
        wait_for_changelogs(settings, prefix, expected_tables(fold_log(log_first), prefix))
        wait_for(lambda: recovery_reports(data_dir), "the first worker's recovery reports")
        stop_process(worker)
        assert worker.returncode == 0
        ends = changelog_ends(settings)  # what the first worker wrote, and all before it
        for path in data_dir.rglob("*-recovery.json"):
            path.unlink()

        log_rest = produce(settings, list(rest), "test-rocksdb")  # while the worker is down
        worker = start_worker(settings, worker_id, data_dir, log)
        reports = wait_for(lambda: recovery_reports(data_dir), "the restarted worker's recovery reports")
        # The rest folds onto the state restored from disk: a conversation missing there
        # would dead-letter its next event, and its state would differ from the fold.
        wait_for_changelogs(settings, prefix, expected_tables(fold_log(log_first + log_rest), prefix))
    finally:
        stop_process(worker)
        print_tail(log, 60)
        print_dead_letters(settings, prefix)

    # Every partition started from the last record the first worker had stored locally,
    # which is the end of the changelog it left: nothing was read again.
    started = {(CHANGELOG_OF[table], int(p)): counts["started_from"]
               for table, r in reports.items() for p, counts in r["partitions"].items()}
    read = sum(r["records_read"] for r in reports.values())
    print(f"\nrestart read {read} of the {sum(ends.values())} changelog records")
    assert started.keys() == ends.keys()
    assert {tp: offset for tp, offset in started.items() if offset is not None} \
        == {tp: end - 1 for tp, end in ends.items() if end}
    assert read == 0
    assert sum(ends.values()) >= len(fold_log(log_first).conversations)


def reports_after(data_dir: Path, generation: int) -> dict[str, dict[str, Any]] | None:
    """Every table's report, once all are from a recovery of a later consumer generation."""
    reports = recovery_reports(data_dir)
    return reports if reports and min(r["generation"] for r in reports.values()) > generation else None


def test_a_partition_back_from_another_worker_is_read_from_where_this_worker_left_it(
        settings: Settings, tmp_path: Path) -> None:
    run = uuid.uuid4().hex[:6]
    prefix, worker_id = f"rdb{run}-", f"worker-rocksdb-{run}"
    events = sample_log(150, 6, seed=13, start=recent(), prefix=prefix)
    third = len(events) // 3
    parts = events[:third], events[third:2 * third], events[2 * third:]
    dir_a, dir_b, log_a, log_b = (tmp_path / n for n in ("a", "b", "a.log", "b.log"))

    written = produce(settings, list(parts[0]), "test-rocksdb")
    a = start_worker(settings, worker_id, dir_a, log_a)
    b = None
    try:
        wait_for_changelogs(settings, prefix, expected_tables(fold_log(written), prefix))
        when_b_joined = changelog_ends(settings)
        b = start_worker(settings, worker_id, dir_b, log_b)  # its own data directory
        taken = {(CHANGELOG_OF[table], int(p)) for table, r in wait_for(
            lambda: recovery_reports(dir_b), "the second worker's recovery").items()
            for p in r["partitions"]}
        written += produce(settings, list(parts[1]), "test-rocksdb")
        wait_for_changelogs(settings, prefix, expected_tables(fold_log(written), prefix))
        reports_a = recovery_reports(dir_a)
        assert reports_a is not None
        generation = max(r["generation"] for r in reports_a.values())

        stop_process(b)  # its partitions come back to the first worker
        assert b.returncode == 0
        when_b_left = changelog_ends(settings)
        back = wait_for(lambda: reports_after(dir_a, generation), "the first worker's recovery")
        # The third part folds onto what came back: the state the second worker left.
        written += produce(settings, list(parts[2]), "test-rocksdb")
        wait_for_changelogs(settings, prefix, expected_tables(fold_log(written), prefix))
    finally:
        for worker, log in ((a, log_a), (b, log_b)):
            if worker is not None:
                stop_process(worker)
                print_tail(log, 40)
        print_dead_letters(settings, prefix)

    recovered = {(CHANGELOG_OF[table], int(p)): counts for table, r in back.items()
                 for p, counts in r["partitions"].items()}
    assert taken and taken <= recovered.keys()
    for tp in taken:
        # From the offset this worker had stored when it gave the partition up (the end
        # of the changelog then), reading exactly what the other worker wrote since.
        started, read = recovered[tp]["started_from"], recovered[tp]["records_read"]
        assert started == (when_b_joined[tp] - 1 if when_b_joined[tp] else None), tp
        assert read == when_b_left[tp] - when_b_joined[tp], tp
