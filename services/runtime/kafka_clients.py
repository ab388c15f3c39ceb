"""Kafka client factories and topic creation, shared by every process.

Domain producers are idempotent with acks=all (DESIGN.md §1.4); topics are
created explicitly with configured partition counts, never auto-created.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from aiokafka import AIOKafkaProducer
from kafka import KafkaAdminClient, KafkaProducer
from kafka.errors import KafkaError, TopicAlreadyExistsError

from schemas.topics import ALL_TOPICS, DOMAIN_TOPICS, TopicSpec
from services.runtime.settings import Settings

FETCH_MAX_WAIT_MS = 100
"""How long the broker may hold a consumer's fetch waiting for data: also the longest a
record can wait unseen behind it. Both Kafka clients keep one fetch in flight per broker,
covering only the partitions that had nothing buffered when it was sent; a partition whose
buffer empties meanwhile, however busy, is fetched again only when that fetch returns. So
with the default wait (aiokafka 500 ms, Faust's hard-coded 1,500 ms) a busy partition
stood still behind a fetch of quiet ones: records reached the worker's folds 1.1-1.8 s
after they were produced at 2,000 events/s (measured 2026-12-03), with the folds idle.
An idle consumer pays for it with ten small fetches a second."""


READ_COMMITTED = "read_committed"
"""The isolation level of every consumer of the domain topics. The router writes its
decisions in transactions so that the broker fences an ex-leader
(`services.router.fenced_writer`); a decision of a fenced router is on the log but
aborted, and only a read-committed consumer leaves it out. Producers that write no
transactions (the ingest) are read at once as before: only an open router transaction
holds a partition back, for the milliseconds until it commits."""
TRANSACTION_TIMEOUT_MS = 10_000
"""How long a router's open transaction may hold read-committed consumers back if the
router stops mid-write and no standby takes over (a standby's takeover aborts it at once)."""


class BrokerUnavailable(RuntimeError):
    """The Kafka cluster did not answer in time."""


def topic_config(spec: TopicSpec) -> dict[str, str]:
    """Broker config of a topic (by its logical name): domain topics keep every event
    forever."""
    if spec.compacted:
        return {"cleanup.policy": "compact"}
    if spec.name in DOMAIN_TOPICS:
        return {"retention.ms": "-1", "retention.bytes": "-1"}
    return {"retention.ms": str(30 * 24 * 3600 * 1000)}


def ensure_topics(settings: Settings, specs: Iterable[TopicSpec] = ALL_TOPICS,
                  timeout_s: float = 60.0) -> list[str]:
    """Create the missing topics, named on the cluster as the settings say (`specs` hold
    the logical names), and wait until every one has leaders; returns the names created.
    Existing topics are left alone. Retries while a fresh broker is still fencing itself
    (it refuses creates with InvalidReplicationFactor for a few seconds)."""
    named = {settings.topic(s.name): s for s in specs}
    deadline = time.monotonic() + timeout_s
    admin = _admin(settings, timeout_s)
    created: list[str] = []
    try:
        while True:
            existing = set(admin.list_topics())
            missing = {name: s for name, s in named.items() if name not in existing}
            if not missing:
                return created
            try:
                admin.create_topics(
                    {name: {"num_partitions": settings.topic_partitions,
                            "replication_factor": settings.topic_replication,
                            "configs": topic_config(s)} for name, s in missing.items()},
                    timeout_ms=10_000, wait_for_metadata=True)
                created += list(missing)
            except TopicAlreadyExistsError:
                pass  # another process created some of them: list again
            except KafkaError as exc:
                if time.monotonic() > deadline:
                    raise BrokerUnavailable(
                        f"could not create topics {sorted(missing)} on "
                        f"{settings.kafka_bootstrap_servers}: {exc}") from exc
                time.sleep(0.5)
    finally:
        admin.close()


def _admin(settings: Settings, timeout_s: float) -> KafkaAdminClient:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers,
                                    client_id="switchboard-admin", request_timeout_ms=10_000)
        except KafkaError as exc:
            if time.monotonic() > deadline:
                raise BrokerUnavailable(
                    f"no Kafka broker answered at {settings.kafka_bootstrap_servers} within "
                    f"{timeout_s:.0f}s ({exc}); start one with `switchboard infra up` (or `make run`) or set "
                    "KAFKA_BOOTSTRAP_SERVERS") from exc
            time.sleep(0.5)


def sync_producer(settings: Settings, client_id: str) -> KafkaProducer:
    """A blocking idempotent producer (kafka-python) for services and tools."""
    return KafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        client_id=client_id,
        acks="all",
        enable_idempotence=True,
        linger_ms=5,
        compression_type=None,
    )


def transactional_producer(settings: Settings, transactional_id: str, client_id: str,
                           max_block_ms: int = 10_000) -> KafkaProducer:
    """A blocking transactional producer (kafka-python): `init_transactions()` it before
    use. Its `transactional_id` (already named on the cluster) is its identity to the
    broker: initialising another producer with the same id fences this one."""
    return KafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        client_id=client_id,
        acks="all",
        enable_idempotence=True,
        transactional_id=transactional_id,
        transaction_timeout_ms=TRANSACTION_TIMEOUT_MS,
        max_block_ms=max_block_ms,
        linger_ms=0,
        compression_type=None,
    )


def async_producer(settings: Settings, client_id: str) -> AIOKafkaProducer:
    """An asyncio idempotent producer for the HTTP ingest (start() it inside the loop)."""
    return AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        client_id=client_id,
        acks="all",
        enable_idempotence=True,
        linger_ms=2,
        request_timeout_ms=10_000,
    )
