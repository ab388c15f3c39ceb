"""What every typed endpoint does around its pure mapping: stamp, re-validate, produce."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from fastapi import Request
from pydantic import BaseModel

from schemas.codec import decode, encode
from schemas.envelope import Envelope
from schemas.errors import DecodeError
from schemas.events import EventData
from services.ingest.errors import ApiError, decode_details
from services.ingest.publisher import Published, Publisher
from services.ingest.stamp import Stamp


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
    """Check each event against its JSON Schema (the contract), then produce all of them."""
    for event in events:
        try:
            decode(encode(event))
        except DecodeError as exc:
            raise ApiError(400, exc.code, exc.message, decode_details(exc, None)) from None
    publisher: Publisher = request.app.state.publisher
    return await publisher.publish(events)


def accepted(published: Published) -> CommandAccepted:
    """The 202 body of a command."""
    return CommandAccepted(accepted=list(published.accepted),
                           duplicates=list(published.duplicates))
