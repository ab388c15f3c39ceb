"""The worker's Faust monitor: totals only.

Faust always installs a `Monitor` sensor, which times every message and event and
tallies them per topic, stream and table for its web views. The worker runs with the
web server off and reports its own progress, and those per-record hooks cost about
6% of its time, so here they only count.
"""

from __future__ import annotations

from typing import Any

from faust.sensors.monitor import Monitor
from faust.types import TP, CollectionT, EventT, Message, ProducerT, StreamT
from faust.types.tuples import RecordMetadata


class TotalsMonitor(Monitor):
    """Counts messages and events; keeps no per-record timings or tallies."""

    def on_message_in(self, tp: TP, offset: int, message: Message) -> None:
        self.messages_received_total += 1

    def on_stream_event_in(self, tp: TP, offset: int, stream: StreamT,
                           event: EventT) -> dict | None:
        self.events_total += 1
        return None

    def on_stream_event_out(self, tp: TP, offset: int, stream: StreamT, event: EventT,
                            state: dict | None = None) -> None:
        return None

    def on_message_out(self, tp: TP, offset: int, message: Message) -> None:
        return None

    def on_table_get(self, table: CollectionT, key: Any) -> None:
        return None

    def on_table_set(self, table: CollectionT, key: Any, value: Any) -> None:
        return None

    def on_send_initiated(self, producer: ProducerT, topic: str, message: Any,
                          keysize: int, valsize: int) -> Any:
        self.messages_sent += 1
        return None

    def on_send_completed(self, producer: ProducerT, state: Any, metadata: RecordMetadata) -> None:
        return None
