"""The dead-letter contract: the original bytes as the value, the why in headers.

A record on `cc.deadletter` keeps the original key and value untouched so it can
be inspected and replayed; these headers say where it came from and why it failed.
"""

from __future__ import annotations

REASON = "dlq.reason"
"""Machine-readable reason: a DecodeError code or a LifecycleError reason."""
DETAIL = "dlq.detail"
TOPIC = "dlq.topic"
"""The topic the record was read from, as named on the cluster (with the stack's topic
prefix, if it has one)."""
PARTITION = "dlq.partition"
OFFSET = "dlq.offset"
COMPONENT = "dlq.component"


def headers(*, reason: str, detail: str, topic: str, partition: int, offset: int,
            component: str) -> list[tuple[str, bytes]]:
    """Kafka headers of a dead letter."""
    return [
        (REASON, reason.encode()),
        (DETAIL, detail[:2000].encode()),
        (TOPIC, topic.encode()),
        (PARTITION, str(partition).encode()),
        (OFFSET, str(offset).encode()),
        (COMPONENT, component.encode()),
    ]
