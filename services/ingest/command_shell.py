"""What every typed endpoint does around its pure mapping: stamp, re-validate, produce."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import UTC, datetime

import orjson
from fastapi import Request
from pydantic import BaseModel

from schemas.codec import decode, encode
from schemas.envelope import Envelope
from schemas.errors import DecodeError
from schemas.events import EventData
from services.ingest.clock_skew import refuse_future
from services.ingest.errors import ApiError, ErrorDetail, decode_details
from services.ingest.publisher import Published, Publisher
from services.ingest.stamp import Stamp
from services.ingest.unencodable import encodable
from services.runtime.settings import Settings


class CommandAccepted(BaseModel):
    """Ids of the events the command produced."""

    accepted: list[str]
    duplicates: list[str]


class ConversationStartedBody(CommandAccepted):
    """The new conversation's id and the id of its `started` event."""

    conversation_id: str
    event_id: str


def stamp_now() -> Stamp:
    """The stamp of a request arriving now (the one clock read of the typed endpoints)."""
    return Stamp(now=datetime.now(UTC))


async def produce(request: Request, events: Sequence[Envelope[EventData]]) -> Published:
    """Check each event against its JSON Schema (the contract) and the clock, then produce
    all of them. A problem in an event's payload is reported at the body's path."""
    for event in events:
        try:
            decode(encode(event))
        except DecodeError as exc:
            details = [d.model_copy(update={"path": d.path.removeprefix("/data")})
                       for d in decode_details(exc, None)]
            raise ApiError(400, exc.code, exc.message, details) from None
        except orjson.JSONEncodeError as exc:  # an integer beyond 64 bits, a lone surrogate
            path = next(iter(encodable(dataclasses.asdict(event.data))[1]), "")
            raise ApiError(400, "schema_violation", f"a value cannot be encoded: {exc}",
                           [ErrorDetail(path=path, problem=str(exc))]) from None
    settings: Settings = request.app.state.settings
    refuse_future(events, settings.max_clock_skew_s, batch=False)
    publisher: Publisher = request.app.state.publisher
    return await publisher.publish(events)


def accepted(published: Published) -> CommandAccepted:
    """The 202 body of a command."""
    return CommandAccepted(accepted=list(published.accepted),
                           duplicates=list(published.duplicates))
