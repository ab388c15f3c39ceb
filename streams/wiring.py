"""Topics, tables and agents of the stream processor, declared once and registered
on the app by `register(app, settings)` from the worker's composition root."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import cast

import faust
from aiokafka import AIOKafkaProducer
from faust.types import EventT

from projections.dedupe import Position
from schemas import deadletter, topics
from schemas.topics import TopicSpec
from services.runtime.settings import Settings
from streams.batch_send import Outgoing, key_partition, producer_of, send_batches
from streams.batch_table import BatchTable
from streams.batches import (
    BatchOutcome,
    Keyed,
    Lookup,
    Record,
    agent_change_batch,
    agent_event_batch,
    conversation_batch,
    queue_batch,
)
from streams.produced_topics import track_produced_topics
from streams.stats import WorkerStats

COMPONENT = "switchboard/worker"
EXIT_BATCH_FAILED = 70
"""Exit status when writing a batch raised: the process must be restarted."""
log = logging.getLogger("switchboard.worker")
CHANGES_BY_QUEUE = "changes-by-queue"
"""Conversation placement changes re-keyed by queue."""
CHANGES_BY_AGENT = "changes-by-agent"
"""Conversation placement changes re-keyed by agent."""
BATCH_MAX = 2000
BATCH_WITHIN_S = 0.05
"""A batch closes at BATCH_MAX records or this long after the last one closed: the
most a quiet stream delays a projection change, per hop."""
BatchFold = Callable[[Sequence[Record], Lookup], BatchOutcome]


def change_topics(app_id: str) -> tuple[TopicSpec, ...]:
    """The app's own internal topics of re-keyed changes, named after its id like a
    repartition topic (logical names: `Settings.topic` gives the ones on the cluster).
    Created before the app starts (see `streams.main`): a topic that
    Faust declares while starting is missing from its consumer's first metadata, so the
    assignor leaves it out and no partition of it is read until the next metadata
    refresh, five minutes later."""
    return tuple(TopicSpec(f"{app_id}-{name}", compacted=False)
                 for name in (CHANGES_BY_QUEUE, CHANGES_BY_AGENT))


@dataclass(slots=True)
class Wiring:
    """What `register` declared, for tests and the progress reporter."""

    topics: dict[str, faust.TopicT]
    tables: dict[str, BatchTable]
    stats: WorkerStats


def _raw_schema() -> faust.Schema:
    # Bytes in, bytes out: events are decoded by schemas.codec, states by
    # projections.state_codec, never by Faust's own (class-name based) models.
    return faust.Schema(key_type=bytes, value_type=bytes, key_serializer="raw",
                        value_serializer="raw")


def raw_topic(app: faust.App, name: str) -> faust.TopicT:
    """A topic read and written as bytes, never through Faust's own codecs (`name`: as on
    the cluster)."""
    return app.topic(name, schema=_raw_schema())


def _raw_table(app: faust.App, name: str, changelog: faust.TopicT, help_: str) -> BatchTable:
    # The table's changelog IS the published projection topic (compacted): every
    # state change reaches subscribers with one write instead of two.
    table = BatchTable(app, name=name, default=None, beacon=app.tables.beacon, schema=_raw_schema(),
                       changelog_topic=changelog, help=help_)
    app.tables.add(table)
    return table


def register(app: faust.App, settings: Settings) -> Wiring:
    """Declare the topics (named on the cluster as `settings` say) and tables and attach
    the agents. `Wiring.topics` is keyed by logical name."""
    t = {name: raw_topic(app, settings.topic(name)) for name in (
        topics.CONVERSATIONS, topics.AGENTS, topics.DEADLETTER, topics.PROJECTION_CONVERSATIONS,
        topics.PROJECTION_QUEUES, topics.PROJECTION_AGENTS)}
    for name, spec in zip((CHANGES_BY_QUEUE, CHANGES_BY_AGENT),
                          change_topics(settings.worker_app_id), strict=True):
        t[name] = app.topic(settings.topic(spec.name), schema=_raw_schema(), internal=True,
                            partitions=app.conf.topic_partitions)
    tables = {
        "conversations": _raw_table(app, "conversations", t[topics.PROJECTION_CONVERSATIONS],
                                    "conversation id -> state"),
        "queues": _raw_table(app, "queues", t[topics.PROJECTION_QUEUES],
                             "queue -> waiting conversations in routing order"),
        "agents": _raw_table(app, "agents", t[topics.PROJECTION_AGENTS],
                             "agent id -> status, skills, capacity, load"),
    }
    # Everything the worker writes: dead letters, changelogs, re-keyed changes.
    track_produced_topics(app, (topic.get_topic_name() for name, topic in t.items()
                                if name not in (topics.CONVERSATIONS, topics.AGENTS)))
    stats = WorkerStats()
    wiring = Wiring(t, tables, stats)

    async def fold(stream: faust.StreamT, batch: BatchFold, table: BatchTable) -> None:
        # StreamT does not declare take_events; every stream an agent gets has it.
        async for events in cast(faust.Stream, stream).take_events(BATCH_MAX, BATCH_WITHIN_S):
            try:
                outcome = batch([Record(e.message.key, e.message.value, Position(
                    e.message.partition, e.message.offset)) for e in events], table.get)
                await _write(wiring, events, outcome, table)
            except Exception:
                # Never bad data (the folds dead-letter that) but a bug or a broken
                # client. Faust would restart the agent and ack this batch on the
                # way, skipping it silently; exit before its offsets can be
                # committed, so the restarted worker folds it again.
                log.critical("writing a batch of %d records failed; exiting with %d so the "
                             "worker is restarted and folds it again", len(events),
                             EXIT_BATCH_FAILED, exc_info=True)
                logging.shutdown()
                os._exit(EXIT_BATCH_FAILED)

    @app.agent(t[topics.CONVERSATIONS], name="fold-conversations", concurrency=1)
    async def fold_conversations(stream: faust.StreamT) -> None:
        await fold(stream, conversation_batch, tables["conversations"])

    @app.agent(t[CHANGES_BY_QUEUE], name="fold-queues", concurrency=1)
    async def fold_queues(stream: faust.StreamT) -> None:
        await fold(stream, queue_batch, tables["queues"])

    @app.agent(t[topics.AGENTS], name="fold-agent-events", concurrency=1)
    async def fold_agent_events(stream: faust.StreamT) -> None:
        await fold(stream, agent_event_batch, tables["agents"])

    @app.agent(t[CHANGES_BY_AGENT], name="fold-agent-load", concurrency=1)
    async def fold_agent_load(stream: faust.StreamT) -> None:
        await fold(stream, agent_change_batch, tables["agents"])

    return wiring


async def _write(w: Wiring, events: Sequence[EventT], outcome: BatchOutcome, table: BatchTable) -> None:
    # States first, before any await: two agents fold into the agents table, and the
    # other must not read a key between this batch's read and its write. Everything is
    # handed to the producer before the batch is acked, so the commit that covers it
    # waits for it (at least once; the change folds are idempotent).
    for key, (state, index) in outcome.states.items():
        table.put(key, state, events[index].message.partition)
    await table.publish()
    producer = producer_of(table.app)
    by_queue, by_agent = outcome.rekeyed()
    for name, records in ((CHANGES_BY_QUEUE, by_queue), (CHANGES_BY_AGENT, by_agent)):
        if records:
            topic = w.topics[name].get_topic_name()
            await send_batches(producer, topic, await _partitioned(producer, topic, records))
    for index, dead in outcome.dead:
        message = events[index].message
        headers = deadletter.headers(
            reason=dead.reason, detail=dead.detail, topic=message.topic,
            partition=message.partition, offset=message.offset, component=COMPONENT)
        # Rare: Faust's own send, forced out now rather than attached to its "current
        # event", which for a batch is none of its records.
        await w.topics[topics.DEADLETTER].send(key=message.key, value=message.value, headers=headers,
                                               force=True)
    w.stats.applied += outcome.applied
    w.stats.dead_lettered += len(outcome.dead)


async def _partitioned(producer: AIOKafkaProducer, topic: str,
                       records: Sequence[Keyed]) -> list[Outgoing]:
    count = len(await producer.partitions_for(topic))
    return [Outgoing(key_partition(key, count), key, record.value)
            for record in records for key in (record.key.encode(),)]
