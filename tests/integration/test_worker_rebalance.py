"""A second worker joining and leaving mid-drain, several times, against the real broker:
every partition's committed offset reaches the end of the log, and the tables equal
the offline fold (no stall, no skipped event, nothing folded twice)."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from kafka import KafkaConsumer, TopicPartition
from tests_support import ROOT, child_env, print_tail, stop_process, wait_for

from projections.dedupe import Position
from projections.replay import ReadModels, apply_event
from projections.state_codec import dump
from schemas.codec import decode, encode
from schemas.topics import (
    AGENTS,
    CONVERSATIONS,
    PROJECTION_AGENTS,
    PROJECTION_CONVERSATIONS,
    PROJECTION_QUEUES,
)
from services.bench.offsets import GroupOffsets, log_ends
from services.runtime.kafka_clients import sync_producer
from services.runtime.settings import Settings
from services.simulator.config import SimulationConfig
from services.simulator.model import simulate
from streams.wiring import change_topics

ROUNDS = 3
EVENTS_PER_ROUND = 15_000
SEED = 5150
DRAIN_DEADLINE_S = 300.0


def _start_worker(settings: Settings, worker_id: str, log: Path) -> subprocess.Popen[bytes]:
    # The simulated traffic is from 2025: no closed conversation leaves the tables (with a
    # tombstone) while they are compared.
    env = child_env(settings, SWITCHBOARD_WORKER_ID=worker_id,
                    SWITCHBOARD_CLOSED_HORIZON_S=str(10 * 365 * 86_400))
    with open(log, "ab") as out:
        return subprocess.Popen([sys.executable, "-m", "services.cli.main", "worker"], env=env,
                                cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)


@pytest.fixture
def worker_id() -> str:
    return f"worker-rebalance-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def first_worker(settings: Settings, worker_id: str, tmp_path: Path,
                 ) -> Iterator[subprocess.Popen[bytes]]:
    log = tmp_path / "worker-a.log"
    proc = _start_worker(settings, worker_id, log)
    yield proc
    stop_process(proc)
    print_tail(log)


class Group:
    """The worker group's committed offsets and members, against the log's end."""

    def __init__(self, settings: Settings, group: str) -> None:
        self.settings = settings
        self.topics = (CONVERSATIONS, AGENTS, *(spec.name for spec in change_topics(group)))
        self.offsets = GroupOffsets(settings, group, self.topics)

    def lag(self) -> int:
        """Records on the log past the group's committed offsets (uncommitted ones whole)."""
        ends = log_ends(self.settings, self.topics)
        return sum(end - self.offsets.read().get(tp, 0) for tp, end in ends.items())

    def members(self) -> int:
        return self.offsets.members()

    def close(self) -> None:
        self.offsets.close()


def _produce(settings: Settings, events: list[bytes], subjects: list[str], types: list[str]) -> None:
    producer = sync_producer(settings, "rebalance-test")
    for raw, subject, type_ in zip(events, subjects, types, strict=True):
        producer.send(settings.topic_for_type(type_), key=subject.encode(), value=raw)
    producer.flush()
    producer.close()


def _read_to_end(settings: Settings, topics: tuple[str, ...]) -> Iterator[Any]:
    """Every record of `topics` (logical names) from the start to where each partition ends now."""
    consumer = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap_servers,
                             enable_auto_commit=False, group_id=None)
    tps = [TopicPartition(t, p) for t in map(settings.topic, topics)
           for p in sorted(consumer.partitions_for_topic(t) or ())]
    consumer.assign(tps)
    consumer.seek_to_beginning(*tps)
    ends = consumer.end_offsets(tps)
    try:
        while any(consumer.position(tp) < end for tp, end in ends.items()):
            for records in consumer.poll(timeout_ms=500).values():
                yield from records
    finally:
        consumer.close()


def test_workers_joining_mid_drain_commit_to_the_end_and_equal_the_offline_fold(
        settings: Settings, worker_id: str, first_worker: subprocess.Popen[bytes],
        tmp_path: Path) -> None:
    config = SimulationConfig(seed=SEED, rate=8.0, agents=200, duration=24 * 3600.0)
    produced = []
    for event in simulate(config):
        produced.append(event)
        if len(produced) >= ROUNDS * EVENTS_PER_ROUND:
            break
    keys = {e.subject.encode() for e in produced}
    group = Group(settings, worker_id)
    joined_mid_drain = 0
    try:
        for round_ in range(ROUNDS):
            # The second worker starts while a backlog is written, so it joins mid-drain.
            second = _start_worker(settings, worker_id, tmp_path / f"worker-b{round_}.log")
            chunk = produced[round_ * EVENTS_PER_ROUND:(round_ + 1) * EVENTS_PER_ROUND]
            try:
                _produce(settings, [encode(e) for e in chunk], [e.subject for e in chunk],
                         [e.type for e in chunk])
                wait_for(lambda: group.members() == 2, "the second worker to join", 120)
                joined_mid_drain += group.lag() > 0
                _wait_drained(group, first_worker)
            finally:
                stop_process(second)
                print_tail(tmp_path / f"worker-b{round_}.log", 15)
            wait_for(lambda: group.members() == 1, "the second worker to leave", 120)
            _wait_drained(group, first_worker)
    finally:
        group.close()
    assert joined_mid_drain >= 2, "the second worker joined after the drain: nothing tested"
    _assert_tables_equal_the_offline_fold(settings, keys)


def _wait_drained(group: Group, worker: subprocess.Popen[bytes]) -> None:
    def drained() -> bool:
        assert worker.poll() is None, "the first worker exited"
        return group.lag() == 0
    wait_for(drained, "every committed offset to reach the end of the log", DRAIN_DEADLINE_S)


def _assert_tables_equal_the_offline_fold(settings: Settings, keys: set[bytes]) -> None:
    models = ReadModels()
    for record in _read_to_end(settings, (CONVERSATIONS, AGENTS)):
        if record.key in keys:
            apply_event(models, decode(record.value), Position(record.partition, record.offset))
    assert not models.rejected
    assert models.queues, "no queue in the offline fold: nothing compared"
    expected: dict[str, dict[bytes, bytes]] = {
        PROJECTION_CONVERSATIONS: {k.encode(): dump(s) for k, s in models.conversations.items()},
        PROJECTION_AGENTS: {k.encode(): dump(s) for k, s in models.agents.items()
                            if k.encode() in keys},
        # This module's topics hold only this test's events (the per-module prefix).
        PROJECTION_QUEUES: {k.encode(): dump(s) for k, s in models.queues.items()},
    }
    for topic, states in expected.items():
        # The latest record of each key once the changelog is read to its end.
        live = {r.key: r.value for r in _read_to_end(settings, (topic,))
                if r.key in states and r.value is not None}
        differ = [k for k, v in states.items()
                  if k not in live or orjson.loads(live[k]) != orjson.loads(v)]
        if differ:
            got = orjson.loads(live[differ[0]]) if differ[0] in live else {}
            want = orjson.loads(states[differ[0]])
            fields = {f: (got.get(f), want.get(f)) for f in want if got.get(f) != want.get(f)}
            raise AssertionError(f"{topic}: {len(differ)} of {len(states)} differ; "
                                 f"{differ[0]!r} live vs offline: {fields}")
