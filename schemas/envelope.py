"""The CloudEvents 1.0 envelope (structured JSON mode) around every event."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

from schemas.events.registry import EventData, wire_type_of

SPECVERSION = "1.0"
CONTENT_TYPE = "application/cloudevents+json"
CONTENT_TYPE_BATCH = "application/cloudevents-batch+json"
DATA_CONTENT_TYPE = "application/json"

D = TypeVar("D", bound=EventData, covariant=True)
E = TypeVar("E", bound=EventData)


@dataclass(frozen=True, slots=True, kw_only=True)
class Envelope(Generic[D]):
    """One immutable fact: who said what happened to which aggregate, and when.

    `subject` is the aggregate id and the Kafka key; `id` is the idempotency key.
    """

    id: str
    source: str
    type: str
    subject: str
    time: datetime
    data: D
    sequence: int | None = None
    correlationid: str | None = None
    causationid: str | None = None


def new_event(
    data: E,
    *,
    subject: str,
    source: str,
    time: datetime,
    id: str | None = None,
    correlationid: str | None = None,
    causationid: str | None = None,
    sequence: int | None = None,
) -> Envelope[E]:
    """Wrap a payload in an envelope; a fresh UUID is the id unless one is given."""
    if time.tzinfo is None:
        raise ValueError("event time must be timezone-aware")
    return Envelope(
        id=id or str(uuid.uuid4()),
        source=source,
        type=wire_type_of(data),
        subject=subject,
        time=time,
        data=data,
        sequence=sequence,
        correlationid=correlationid,
        causationid=causationid,
    )
