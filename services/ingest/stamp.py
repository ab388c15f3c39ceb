"""What the typed endpoints add to a command to make events: time, fresh ids, source."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import cast

from schemas.envelope import Envelope, new_event
from schemas.events import EventData

SOURCE = "switchboard/ingest"


def uuid_str() -> str:
    """A fresh random UUID as text."""
    return str(uuid.uuid4())


@dataclass(frozen=True, slots=True)
class Stamp:
    """The clock reading and id source of one request, passed in so the mapping stays pure."""

    now: datetime
    new_id: Callable[[], str] = field(default=uuid_str)
    source: str = SOURCE

    def event(self, data: object, subject: str, time: datetime | None = None,
              id: str | None = None) -> Envelope[EventData]:
        """An envelope with a fresh id (unless given), at `time` if given, else now."""
        # `data` is typed object: the catalog classes get WIRE_TYPE from a decorator,
        # which mypy cannot see, so they do not match the EventData protocol statically.
        return new_event(cast(EventData, data), subject=subject, source=self.source,
                         time=time or self.now, id=id or self.new_id())
