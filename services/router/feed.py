"""Reads every partition of `cc.conversations` and `cc.agents` from the start (or from a
snapshot's marks), decoded.

No consumer group: every router instance (active or standby) keeps a complete,
current picture, so a standby can take over as soon as it is caught up.
Records that do not decode are counted and skipped; the worker dead-letters them.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass

from kafka import KafkaConsumer, TopicPartition

from projections.dedupe import Position
from schemas.codec import from_obj, parse
from schemas.envelope import Envelope
from schemas.errors import DecodeError
from schemas.events import EventData
from schemas.topics import AGENTS, CONVERSATIONS
from services.runtime.kafka_clients import READ_COMMITTED
from services.runtime.settings import Settings

Offsets = dict[TopicPartition, int]
PROBE_TIMEOUT_S = 30.0


@dataclass(frozen=True, slots=True)
class Mark:
    """Where the feed stands on a partition: the next offset to read, and the timestamp of
    the record just before it (None when unknown or at the start), by which a snapshot's
    resume knows the log is still the one it was taken from."""

    offset: int
    before_ms: int | None


Marks = dict[tuple[str, int], Mark]

NOT_FOR_ROUTING = frozenset({
    "cc.conversation.message_received.v1", "cc.conversation.message_sent.v1",
    "cc.conversation.status_changed.v1", "cc.conversation.survey_sent.v1",
    "cc.conversation.survey_answered.v1",
})
"""Types that change nothing the router decides on; skipped before validation, which is
most of the decoding cost (messages are the bulk of the log)."""


class Feed:
    def __init__(self, settings: Settings, client_id: str) -> None:
        self.consumer = KafkaConsumer(
            bootstrap_servers=settings.kafka_bootstrap_servers, client_id=client_id,
            enable_auto_commit=False, group_id=None, fetch_max_wait_ms=20,
            max_poll_records=2000, auto_offset_reset="earliest", isolation_level=READ_COMMITTED,
        )
        self.partitions = [TopicPartition(topic, p)
                           for topic in (settings.topic(CONVERSATIONS), settings.topic(AGENTS))
                           for p in sorted(self._partitions_of(topic))]
        self.consumer.assign(self.partitions)
        self.consumer.seek_to_beginning(*self.partitions)
        self.undecodable: Counter[str] = Counter()
        self.skipped = 0
        self._last: dict[tuple[str, int], tuple[int, int]] = {}
        """(topic, partition) -> offset and timestamp of the last record read there."""

    def resume(self, marks: Marks) -> str | None:
        """Read on from `marks` (a snapshot's); the reason they do not fit this log, if they
        do not (the feed then stays at the beginning)."""
        if set(marks) != {(tp.topic, tp.partition) for tp in self.partitions}:
            return "it names other partitions than the log has"
        starts = self.consumer.beginning_offsets(self.partitions)
        ends = self.end_offsets()
        for tp in self.partitions:
            offset = marks[(tp.topic, tp.partition)].offset
            if not starts[tp] <= offset <= ends[tp]:
                return (f"its offset {offset} on {tp.topic}/{tp.partition} is outside the log "
                        f"({starts[tp]}..{ends[tp]})")
        if (different := self._check_records_before(marks)) is not None:
            self.consumer.seek_to_beginning(*self.partitions)  # the probe moved them
            return different
        for tp in self.partitions:
            mark = marks[(tp.topic, tp.partition)]
            self.consumer.seek(tp, mark.offset)
            if mark.before_ms is not None:
                self._last[(tp.topic, tp.partition)] = (mark.offset - 1, mark.before_ms)
        return None

    def _check_records_before(self, marks: Marks) -> str | None:
        """Whether the record before each mark is the one the snapshot saw (same timestamp):
        offsets alone cannot tell a log recreated since from the same log."""
        probe = {tp: marks[(tp.topic, tp.partition)] for tp in self.partitions
                 if marks[(tp.topic, tp.partition)].before_ms is not None}
        for tp, mark in probe.items():
            self.consumer.seek(tp, mark.offset - 1)
        self.consumer.pause(*[tp for tp in self.partitions if tp not in probe])
        seen: dict[TopicPartition, tuple[int, int]] = {}
        deadline = time.monotonic() + PROBE_TIMEOUT_S
        try:
            while len(seen) < len(probe) and time.monotonic() < deadline:
                for tp, records in self.consumer.poll(timeout_ms=200).items():
                    if tp not in seen and records:
                        seen[tp] = (records[0].offset, records[0].timestamp)
                        self.consumer.pause(tp)
        finally:
            self.consumer.resume(*self.partitions)
        for tp, mark in probe.items():
            if tp not in seen:
                return f"the record before offset {mark.offset} on {tp.topic}/{tp.partition} " \
                       f"could not be read within {PROBE_TIMEOUT_S:.0f} s"
            if seen[tp] != (mark.offset - 1, mark.before_ms):
                return (f"the log is not the one it was taken from (the record before offset "
                        f"{mark.offset} on {tp.topic}/{tp.partition} differs)")
        return None

    def marks(self) -> Marks:
        """Where the feed stands on every partition."""
        marks = {}
        for tp in self.partitions:
            offset = self.consumer.position(tp)
            last = self._last.get((tp.topic, tp.partition))
            before = last[1] if last is not None and last[0] == offset - 1 else None
            marks[(tp.topic, tp.partition)] = Mark(offset, before)
        return marks

    def _partitions_of(self, topic: str) -> set[int]:
        partitions = self.consumer.partitions_for_topic(topic)
        if not partitions:
            raise RuntimeError(f"topic {topic} does not exist; run `switchboard topics` first")
        return partitions

    def poll(self, timeout_ms: int) -> list[tuple[Envelope[EventData], Position]]:
        """The next events, in log order per partition, each with where it was read."""
        events = []
        for tp, records in self.consumer.poll(timeout_ms=timeout_ms).items():
            if records:
                self._last[(tp.topic, tp.partition)] = (records[-1].offset, records[-1].timestamp)
            for record in records:
                try:
                    obj = parse(record.value)
                    if isinstance(obj, dict) and obj.get("type") in NOT_FOR_ROUTING:
                        self.skipped += 1
                        continue
                    events.append((from_obj(obj), Position(tp.partition, record.offset)))
                except DecodeError as exc:
                    self.undecodable[exc.code] += 1
        return events

    def end_offsets(self) -> Offsets:
        """Where the log ends now, per partition."""
        ends: Offsets = self.consumer.end_offsets(self.partitions)
        return ends

    def reached(self, target: Offsets) -> bool:
        """Whether everything up to `target` has been read."""
        return all(self.consumer.position(tp) >= end for tp, end in target.items())

    def lag(self) -> int:
        """Events on the log not yet read."""
        ends = self.end_offsets()
        return sum(max(0, end - self.consumer.position(tp)) for tp, end in ends.items())

    def close(self) -> None:
        self.consumer.close()
