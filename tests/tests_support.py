"""Read topics of the test broker until a condition holds, with a deadline."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from kafka import KafkaConsumer


def latest_by_key(bootstrap: str, topic: str, done: Callable[[dict[bytes, Any]], bool],
                  timeout_s: float = 60.0) -> dict[bytes, Any]:
    """Read `topic` from the start, keeping the latest record per key, until `done(records)`."""
    consumer = KafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                             enable_auto_commit=False, group_id=None)
    latest: dict[bytes, Any] = {}
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            for records in consumer.poll(timeout_ms=500).values():
                for record in records:
                    latest[record.key] = record
            if done(latest):
                return latest
        raise AssertionError(f"{topic}: condition not met within {timeout_s}s; "
                             f"{len(latest)} keys seen")
    finally:
        consumer.close()
