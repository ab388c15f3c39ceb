"""Shared pytest set-up for every tier: real servers for the integration and e2e tiers.

A real Apache Kafka broker and a real PostgreSQL server are started by the test
session itself on test-only ports (Kafka 19092, controller 19093, PostgreSQL
55439) from fresh directories under `.cache/test/`, and stopped at the end.
Servers start lazily: a test that needs only PostgreSQL does not wait for Kafka,
and the unit tier starts nothing. Each test module has topics of its own on the
shared broker (the `settings` fixture's topic prefix, `t-<module>-`), so a worker,
projector or router a test starts reads that module's events only, not every
earlier test's. Several people may run the suite at once on
one machine; a file lock makes the second session wait for the first instead of
wiping its servers (the lock lives in the system temp dir, so it also covers
other checkouts of the project that use the same ports).
"""

from __future__ import annotations

import dataclasses
import fcntl
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import pytest

from services.infra.kafka_local import LocalKafka, stop_kafka
from services.infra.postgres_local import (
    create_database,
    drop_database,
    start_postgres,
    stop_postgres,
)
from services.runtime.kafka_clients import ensure_topics
from services.runtime.settings import Settings, from_env

PROJECT_ROOT = Path(__file__).resolve().parents[1]
KAFKA_PORT = 19092
KAFKA_CONTROLLER_PORT = 19093
POSTGRES_PORT = 55439
LOCK_WAIT_S = 20 * 60

TIER_MARKS = {PROJECT_ROOT / "tests" / "integration": pytest.mark.integration,
              PROJECT_ROOT / "tests" / "e2e": pytest.mark.e2e}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark tests under tests/integration and tests/e2e by tier (select with -m)."""
    for item in items:
        parents = Path(str(item.path)).resolve().parents
        for folder, mark in TIER_MARKS.items():
            if folder in parents:
                item.add_marker(mark)


@pytest.fixture(scope="session")
def _test_root() -> Iterator[Path]:
    """`.cache/test/`, with the test ports held under an exclusive lock for the whole session."""
    root = from_env().cache_dir.resolve() / "test"
    root.mkdir(parents=True, exist_ok=True)
    lock_path = Path(tempfile.gettempdir()) / f"switchboard-test-{KAFKA_PORT}-{POSTGRES_PORT}.lock"
    with open(lock_path, "w") as lock:
        _acquire(lock)
        yield root


def _acquire(lock: IO[str]) -> None:
    deadline = time.monotonic() + LOCK_WAIT_S
    announced = False
    while True:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() > deadline:
                pytest.fail(f"another test session held {lock.name} for {LOCK_WAIT_S}s")
            if not announced:
                print(f"\nwaiting for another integration test session ({lock.name})...")
                announced = True
            time.sleep(0.5)


@pytest.fixture(scope="session")
def _kafka_session(_test_root: Path) -> Iterator[LocalKafka]:
    instance = _test_root / "kafka"
    stop_kafka(instance)  # a broker left behind by a session that was killed
    shutil.rmtree(instance, ignore_errors=True)
    broker = LocalKafka(instance, KAFKA_PORT, KAFKA_CONTROLLER_PORT, from_env().cache_dir)
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


@pytest.fixture(scope="session")
def kafka_bootstrap(_kafka_session: LocalKafka) -> str:
    """Bootstrap servers of the test broker (topics: see `settings`)."""
    return _kafka_session.bootstrap_servers


@pytest.fixture
def kafka_broker(_kafka_session: LocalKafka) -> Iterator[LocalKafka]:
    """The test broker, to `.stop()`, `.kill()` and `.start()` it; restarted after the test."""
    yield _kafka_session
    _kafka_session.start()


@pytest.fixture(scope="session")
def pg_url(_test_root: Path) -> Iterator[str]:
    """URL of the `switchboard` database on the test PostgreSQL server (fsync off)."""
    data_dir = _test_root / "postgres"
    stop_postgres(data_dir)
    shutil.rmtree(data_dir, ignore_errors=True)
    url = start_postgres(data_dir, POSTGRES_PORT, test_mode=True)
    try:
        yield url
    finally:
        stop_postgres(data_dir)


@pytest.fixture
def fresh_db(pg_url: str) -> Iterator[str]:
    """URL of a brand-new empty database, dropped after the test."""
    name = f"test_{uuid.uuid4().hex[:12]}"
    url = create_database(POSTGRES_PORT, name)
    yield url
    drop_database(POSTGRES_PORT, name)


@pytest.fixture(scope="module")
def settings(request: pytest.FixtureRequest, kafka_bootstrap: str, pg_url: str) -> Settings:
    """Settings for the test servers (marked external: nothing else starts or stops them)
    with this module's own topics: prefix `t-<module>-`, every topic created here (6
    partitions). A process a test starts gets the prefix through `child_env`."""
    module = request.module.__name__.rpartition(".")[2].removeprefix("test_")
    prefixed = dataclasses.replace(_base_settings(kafka_bootstrap, pg_url),
                                   topic_prefix=module_prefix(module))
    ensure_topics(prefixed)
    return prefixed


def module_prefix(module: str) -> str:
    """The topic prefix of a test module: `t-` and its name with `-` for `_` (Kafka warns
    about names that mix `.` and `_`, which its metrics cannot tell apart)."""
    return f"t-{module.replace('_', '-')}-"


def _base_settings(bootstrap: str, database_url: str) -> Settings:
    return dataclasses.replace(
        from_env({}),
        kafka_bootstrap_servers=bootstrap,
        kafka_embedded=False,
        topic_partitions=6,
        topic_replication=1,
        database_url=database_url,
        postgres_embedded=False,
        postgres_port=POSTGRES_PORT,
        cache_dir=from_env().cache_dir,
    )
