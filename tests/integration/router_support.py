"""Router processes, routing config files and log reading for the router's integration tests."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from kafka import KafkaConsumer, TopicPartition
from tests_support import ROOT, child_env, stop_process

from schemas.codec import decode
from schemas.envelope import Envelope
from schemas.errors import DecodeError
from schemas.events import EventData
from schemas.topics import AGENTS, CONVERSATIONS
from services.runtime.kafka_clients import READ_COMMITTED
from services.runtime.settings import Settings
from services.simulator.config import QueueSpec

Event = Envelope[EventData]


def run_queues(run: str) -> tuple[QueueSpec, ...]:
    """Queues (and skills) private to one test run, so runs sharing the broker never meet."""
    return (QueueSpec(name=f"{run}-billing", skill=f"{run}-billing", weight=0.4),
            QueueSpec(name=f"{run}-tech", skill=f"{run}-tech", weight=0.35),
            QueueSpec(name=f"{run}-sales", skill=f"{run}-sales", weight=0.25))


def write_config(path: Path, run: str, *, extra: str = "", offer_timeout_s: float = 1.5,
                 auto_accept: bool = False) -> Path:
    """A routing file whose one domain routes this run's queues and agents only."""
    queues = [q.name for q in run_queues(run)] + [f"{run}-tier2"]
    skills = [q.skill for q in run_queues(run)] + [f"{run}-tier2"]
    path.write_text(f"""
[routing]
tick_ms = 250

[domains.{run}]
queues = {queues!r}
agent_skills = {skills!r}

[queues.default]
strategy = "longest_idle"
offer_timeout_s = {offer_timeout_s}
decline_exclusion_s = 5
auto_accept = {str(auto_accept).lower()}
{extra}
""")
    return path


@contextmanager
def router_process(settings: Settings, config: Path, domain: str, instance: str,
                   log: Path, *extra: str) -> Iterator[subprocess.Popen[bytes]]:
    """`switchboard router` (with `extra` arguments) as its own process; stopped with
    SIGTERM (or already killed) on exit."""
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "services.cli.main", "router", "--config", str(config),
             "--domain", domain, "--instance", instance, *extra], env=child_env(settings),
            cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
        try:
            yield proc
        finally:
            stop_process(proc, timeout_s=20)


class Tail:
    """The events of `cc.conversations` and `cc.agents` written after it was created, for keys
    with a prefix."""

    def __init__(self, settings: Settings, prefix: str) -> None:
        self.consumer = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap_servers,
                                      group_id=None, enable_auto_commit=False,
                                      isolation_level=READ_COMMITTED)
        partitions = [TopicPartition(topic, p)
                      for topic in (settings.topic(CONVERSATIONS), settings.topic(AGENTS))
                      for p in sorted(self.consumer.partitions_for_topic(topic) or ())]
        self.consumer.assign(partitions)
        self.consumer.seek_to_end(*partitions)
        for tp in partitions:
            self.consumer.position(tp)  # resolve "end" now, before anything is written
        self.key = prefix.encode()
        self.seen: list[Event] = []

    def read(self) -> list[Event]:
        """Everything seen so far, after reading what is new."""
        for records in self.consumer.poll(timeout_ms=200).values():
            for r in records:
                if r.key and r.key.startswith(self.key):
                    try:
                        self.seen.append(decode(r.value))
                    except DecodeError:
                        continue  # junk a test wrote on purpose
        return self.seen

    def types_of(self, subject: str) -> list[str]:
        """The short types (`offered`, `assigned`...) of one conversation's events, in order."""
        return [e.type.split(".")[2] for e in self.read() if e.subject == subject]

    def close(self) -> None:
        self.consumer.close()
