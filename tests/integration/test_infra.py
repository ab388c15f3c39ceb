"""The local infrastructure works: a real broker round trip, explicit topics, a real database."""

from __future__ import annotations

import time
import uuid

import psycopg
from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from kafka.admin import ConfigResource, ConfigResourceType

from schemas.topics import ALL_TOPICS, CONVERSATIONS
from services.infra.kafka_local import LocalKafka
from services.runtime.kafka_clients import sync_producer
from services.runtime.settings import Settings


def _read_one(bootstrap: str, tp: TopicPartition, offset: int, timeout_s: float = 20.0) -> bytes:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    try:
        consumer.assign([tp])
        consumer.seek(tp, offset)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for records in consumer.poll(timeout_ms=500).values():
                for record in records:
                    if record.offset == offset:
                        return bytes(record.value)
        raise AssertionError(f"no record at {tp}@{offset} within {timeout_s}s")
    finally:
        consumer.close()


def test_a_produced_event_is_consumed_back_byte_for_byte(settings: Settings) -> None:
    payload = f'{{"id":"{uuid.uuid4()}","note":"é ✓"}}'.encode()
    producer = sync_producer(settings, "test-infra")
    try:
        meta = producer.send(settings.topic(CONVERSATIONS), key=b"conv-1",
                             value=payload).get(timeout=30)
    finally:
        producer.close()
    tp = TopicPartition(settings.topic(CONVERSATIONS), meta.partition)
    assert _read_one(settings.kafka_bootstrap_servers, tp, meta.offset) == payload


def test_every_topic_exists_with_six_partitions_under_the_modules_prefix(
        settings: Settings) -> None:
    names = {f"t-infra-{s.name}" for s in ALL_TOPICS}
    assert names == {settings.topic(s.name) for s in ALL_TOPICS}
    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers)
    try:
        described = {t["name"]: t for t in admin.describe_topics(sorted(names))}
        unprefixed = {s.name for s in ALL_TOPICS} & set(admin.list_topics())
    finally:
        admin.close()
    assert set(described) == names
    assert {name: len(t["partitions"]) for name, t in described.items()} == dict.fromkeys(names, 6)
    assert not unprefixed  # no test reads or writes the stack's own names


def test_the_conversation_log_is_kept_forever(settings: Settings) -> None:
    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers)
    try:
        configs = admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, settings.topic(CONVERSATIONS))])
    finally:
        admin.close()
    topic_configs = configs["topic"][settings.topic(CONVERSATIONS)]
    assert topic_configs["retention.ms"]["value"] == "-1"


def test_postgres_answers(pg_url: str) -> None:
    with psycopg.connect(pg_url) as conn:
        row = conn.execute("select 1, current_database()").fetchone()
    assert row == (1, "switchboard")


def test_a_fresh_database_is_empty_and_separate(fresh_db: str, pg_url: str) -> None:
    with psycopg.connect(fresh_db) as conn:
        name, tables = conn.execute(
            "select current_database(), (select count(*) from pg_tables "
            "where schemaname = 'public')").fetchone() or (None, None)
    assert name is not None and name.startswith("test_")
    assert tables == 0


def test_the_broker_comes_back_after_a_crash_with_its_data(
        kafka_broker: LocalKafka, settings: Settings) -> None:
    producer = sync_producer(settings, "test-infra-crash")
    try:
        meta = producer.send(settings.topic(CONVERSATIONS), key=b"conv-crash",
                             value=b"before").get(timeout=30)
    finally:
        producer.close()
    kafka_broker.kill()
    assert not kafka_broker.running()
    kafka_broker.start()
    tp = TopicPartition(settings.topic(CONVERSATIONS), meta.partition)
    assert _read_one(settings.kafka_bootstrap_servers, tp, meta.offset) == b"before"
