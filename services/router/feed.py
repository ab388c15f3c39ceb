"""Reads every partition of `cc.conversations` and `cc.agents` from the start, decoded.

No consumer group: every router instance (active or standby) keeps a complete,
current picture, so a standby can take over as soon as it is caught up.
Records that do not decode are counted and skipped; the worker dead-letters them.
"""

from __future__ import annotations

from collections import Counter

from kafka import KafkaConsumer, TopicPartition

from schemas.codec import from_obj, parse
from schemas.envelope import Envelope
from schemas.errors import DecodeError
from schemas.events import EventData
from schemas.topics import AGENTS, CONVERSATIONS
from services.runtime.settings import Settings

Offsets = dict[TopicPartition, int]

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
            max_poll_records=2000, auto_offset_reset="earliest",
        )
        self.partitions = [TopicPartition(topic, p) for topic in (CONVERSATIONS, AGENTS)
                           for p in sorted(self._partitions_of(topic))]
        self.consumer.assign(self.partitions)
        self.consumer.seek_to_beginning(*self.partitions)
        self.undecodable: Counter[str] = Counter()
        self.skipped = 0

    def _partitions_of(self, topic: str) -> set[int]:
        partitions = self.consumer.partitions_for_topic(topic)
        if not partitions:
            raise RuntimeError(f"topic {topic} does not exist; run `switchboard topics` first")
        return partitions

    def poll(self, timeout_ms: int) -> list[Envelope[EventData]]:
        """The next events, in log order per partition."""
        events = []
        for records in self.consumer.poll(timeout_ms=timeout_ms).values():
            for record in records:
                try:
                    obj = parse(record.value)
                    if isinstance(obj, dict) and obj.get("type") in NOT_FOR_ROUTING:
                        self.skipped += 1
                        continue
                    events.append(from_obj(obj))
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
