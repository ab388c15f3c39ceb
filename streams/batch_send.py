"""A batch's records handed to the producer as one record batch per partition.

Faust sends every record on its own: a `FutureMessage`, a place in its producer buffer,
a task step that publishes it, and aiokafka's per-record append. For the worker, which
writes one changelog record per key and one change record per queue and agent after
each batch, that path cost about as much as the folds themselves, and its buffer is
unbounded: draining a backlog, 1,600 records (85 MB of queue states) waited there
(measured 2026-12-03). Here the records of a partition go into aiokafka batches built
at once, on the same producer, so Faust's commit (which flushes that producer) still
waits for them; and a partition takes a new batch only once its previous one left for
the broker, which bounds what waits to one batch per partition.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.partitioner import murmur2
from aiokafka.structs import RecordMetadata


def producer_of(app: Any) -> AIOKafkaProducer:
    """The aiokafka producer under a Faust app's producer (started with the app). Faust
    keeps it behind a private accessor; this is the one place that reaches for it."""
    producer: AIOKafkaProducer = app.producer._ensure_producer()
    return producer


def key_partition(key: bytes, partitions: int) -> int:
    """The partition of `partitions` a keyed send puts `key` in: Kafka's clients' default
    partitioner (murmur2 of the key), which every producer of a topic must share."""
    return (murmur2(key) & 0x7FFFFFFF) % partitions


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One record for a given partition (value None: a tombstone)."""

    partition: int
    key: bytes
    value: bytes | None


@dataclass(frozen=True, slots=True)
class SentBatch:
    """Records handed to the producer as one batch; `delivered` gives the offset of the
    first (the others follow it, in order)."""

    partition: int
    records: Sequence[Outgoing]
    delivered: asyncio.Future[RecordMetadata]


async def send_batches(producer: AIOKafkaProducer, topic: str,
                       records: Sequence[Outgoing]) -> list[SentBatch]:
    """Hand `records` to `producer`, in their order within each partition. Returns once
    every batch is in the producer's queue (not delivered): a caller that awaits this
    before acknowledging its input gets its records flushed by the next commit. Two
    callers writing the same partitions must not overlap (their order would be lost)."""
    by_partition: dict[int, list[Outgoing]] = {}
    for record in records:
        by_partition.setdefault(record.partition, []).append(record)
    sent: list[SentBatch] = []
    for partition, batch_records in by_partition.items():
        start = 0
        while start < len(batch_records):
            builder: Any = producer.create_batch()
            end = start
            while end < len(batch_records):
                record = batch_records[end]
                # A batch takes its first record whatever its size (the broker is
                # the judge of that); after that, None means full.
                if builder.append(key=record.key, value=record.value, timestamp=None) is None:
                    break
                end += 1
            builder.close()
            delivered = await producer.send_batch(builder, topic, partition=partition)
            sent.append(SentBatch(partition, batch_records[start:end], delivered))
            start = end
    return sent
