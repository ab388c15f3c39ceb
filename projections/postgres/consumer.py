"""The projector's Kafka consumer and the retry loop it is opened with (the imperative
shell: the projector waits for a broker or database that is down rather than failing)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from typing import TypeVar

from kafka import KafkaConsumer
from kafka.errors import KafkaError

from projections.postgres.migrate import DEFAULT_SCHEMA
from projections.postgres.store import PROJECTOR
from services.runtime.kafka_clients import FETCH_MAX_WAIT_MS, READ_COMMITTED
from services.runtime.settings import Settings

log = logging.getLogger("switchboard.projector")
T = TypeVar("T")
MAX_RECORDS = 2000
"""Records per poll, and so per batch and transaction."""


def group_id_for(schema: str) -> str:
    """The consumer group: one per target schema, so projectors of two schemas never share
    (its logical name: `Settings.group` gives the one on the cluster)."""
    return PROJECTOR if schema == DEFAULT_SCHEMA else f"{PROJECTOR}.{schema}"


BOOTSTRAP_TIMEOUT_MS = 5_000
"""How long one attempt waits for the broker: short, so a stop is noticed between tries."""


def open_consumer(settings: Settings, schema: str, stop: threading.Event) -> KafkaConsumer | None:
    """The projector's consumer, once the broker answers (None if stopped before):
    a broker that is down at start is waited for, like one that goes down later."""
    return until_it_works(lambda: KafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        group_id=settings.group(group_id_for(schema)), client_id=f"{PROJECTOR}-{schema}",
        enable_auto_commit=False, auto_offset_reset="earliest", isolation_level=READ_COMMITTED,
        max_poll_records=MAX_RECORDS, fetch_max_wait_ms=FETCH_MAX_WAIT_MS,
        session_timeout_ms=10_000,
        heartbeat_interval_ms=3_000, max_poll_interval_ms=300_000,
        bootstrap_timeout_ms=BOOTSTRAP_TIMEOUT_MS,
    ), KafkaError, f"Kafka unavailable at {settings.kafka_bootstrap_servers} (start the broker "
       "with `switchboard infra up` or point KAFKA_BOOTSTRAP_SERVERS at one)", stop)


def wait_for_topics(consumer: KafkaConsumer, topics: Sequence[str],
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
