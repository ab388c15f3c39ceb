"""Topics, tables and agents of the stream processor, declared once and registered
on the app by `register(app, settings)` from the worker's composition root."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import faust
from faust.types import EventT, TableT

from schemas import deadletter, topics
from streams.stats import WorkerStats
from streams.steps import (
    Applied,
    DeadLetter,
    agent_change_step,
    agent_event_step,
    conversation_step,
    queue_step,
)

COMPONENT = "switchboard/worker"
CHANGES_BY_QUEUE = "changes-by-queue"
"""Conversation placement changes re-keyed by queue."""
CHANGES_BY_AGENT = "changes-by-agent"
"""Conversation placement changes re-keyed by agent."""
Step = Callable[[bytes, str, "bytes | None"], "Applied | DeadLetter"]


@dataclass(slots=True)
class Wiring:
    """What `register` declared, for tests and the progress reporter."""

    topics: dict[str, faust.TopicT]
    tables: dict[str, TableT]
    stats: WorkerStats


def _raw_schema() -> faust.Schema:
    # Bytes in, bytes out: events are decoded by schemas.codec, states by
    # projections.state_codec, never by Faust's own (class-name based) models.
    return faust.Schema(key_type=bytes, value_type=bytes, key_serializer="raw",
                        value_serializer="raw")


def _raw_topic(app: faust.App, name: str) -> faust.TopicT:
    return app.topic(name, schema=_raw_schema())


def _raw_table(app: faust.App, name: str, changelog: faust.TopicT, help_: str) -> TableT:
    # The table's changelog IS the published projection topic (compacted): every
    # state change reaches subscribers with one write instead of two.
    return app.Table(name, default=None, schema=_raw_schema(), changelog_topic=changelog,
                     help=help_)


def register(app: faust.App) -> Wiring:
    """Declare the topics and tables and attach the agents."""
    t = {name: _raw_topic(app, name) for name in (
        topics.CONVERSATIONS, topics.AGENTS, topics.DEADLETTER, topics.PROJECTION_CONVERSATIONS,
        topics.PROJECTION_QUEUES, topics.PROJECTION_AGENTS)}
    # Re-keyed changes are this app's own internal topics (named after its id, created
    # by Faust with the configured partition count), like a repartition topic.
    for name in (CHANGES_BY_QUEUE, CHANGES_BY_AGENT):
        t[name] = app.topic(f"{app.conf.id}-{name}", schema=_raw_schema(), internal=True,
                            partitions=app.conf.topic_partitions)
    tables = {
        "conversations": _raw_table(app, "conversations", t[topics.PROJECTION_CONVERSATIONS],
                                    "conversation id -> state"),
        "queues": _raw_table(app, "queues", t[topics.PROJECTION_QUEUES],
                             "queue -> waiting conversations in routing order"),
        "agents": _raw_table(app, "agents", t[topics.PROJECTION_AGENTS],
                             "agent id -> status, skills, capacity, load"),
    }
    stats = WorkerStats()
    wiring = Wiring(t, tables, stats)

    async def fold(stream: faust.StreamT, step: Step, table: TableT) -> None:
        async for event in stream.events():
            await _apply(wiring, event, step, table)

    @app.agent(t[topics.CONVERSATIONS], name="fold-conversations", concurrency=1)
    async def fold_conversations(stream: faust.StreamT) -> None:
        await fold(stream, conversation_step, tables["conversations"])

    @app.agent(t[CHANGES_BY_QUEUE], name="fold-queues", concurrency=1)
    async def fold_queues(stream: faust.StreamT) -> None:
        await fold(stream, queue_step, tables["queues"])

    @app.agent(t[topics.AGENTS], name="fold-agent-events", concurrency=1)
    async def fold_agent_events(stream: faust.StreamT) -> None:
        await fold(stream, agent_event_step, tables["agents"])

    @app.agent(t[CHANGES_BY_AGENT], name="fold-agent-load", concurrency=1)
    async def fold_agent_load(stream: faust.StreamT) -> None:
        await fold(stream, agent_change_step, tables["agents"])

    return wiring


async def _apply(w: Wiring, event: EventT, step: Step, table: TableT) -> None:
    message = event.message
    key_bytes: bytes | None = message.key
    value: bytes | None = message.value
    if key_bytes is None:
        outcome: Applied | DeadLetter = DeadLetter("missing_key", "records must be keyed by subject")
    elif value is None:
        outcome = DeadLetter("empty_value", "a tombstone on an event topic")
    else:
        outcome = step(value, key_bytes.decode("utf-8", "replace"), table.get(key_bytes))
    if isinstance(outcome, DeadLetter):
        w.stats.dead_lettered += 1
        await w.topics[topics.DEADLETTER].send(key=key_bytes, value=message.value, headers=deadletter.headers(
            reason=outcome.reason, detail=outcome.detail, topic=message.topic,
            partition=message.partition, offset=message.offset, component=COMPONENT))
        return
    table[key_bytes] = outcome.state
    for record in outcome.by_queue:
        await w.topics[CHANGES_BY_QUEUE].send(key=record.key.encode(), value=record.value)
    for record in outcome.by_agent:
        await w.topics[CHANGES_BY_AGENT].send(key=record.key.encode(), value=record.value)
    w.stats.applied += 1


