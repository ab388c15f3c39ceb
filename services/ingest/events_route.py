"""`POST /v1/events`: one CloudEvent or a batch, validated all-or-nothing, then produced."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel
from starlette.responses import Response

from schemas.codec import from_obj, parse
from schemas.envelope import CONTENT_TYPE, CONTENT_TYPE_BATCH, Envelope
from schemas.errors import DecodeError
from schemas.events import EventData
from services.ingest.auth import require_scope
from services.ingest.clock_skew import refuse_future
from services.ingest.errors import (
    ERROR_RESPONSES,
    ApiError,
    ErrorDetail,
    decode_details,
    json_response,
)
from services.ingest.publisher import Publisher
from services.runtime.settings import Settings

JSON = "application/json"
SINGLE_TYPES = frozenset({CONTENT_TYPE, JSON})
BATCH_TYPES = frozenset({CONTENT_TYPE_BATCH, JSON})

router = APIRouter()


class AcceptedBody(BaseModel):
    """Ids produced by this request, and ids already produced before (not produced again)."""

    accepted: list[str]
    duplicates: list[str]


def media_type(header: str | None) -> str:
    """`application/json; charset=utf-8` -> `application/json`."""
    return (header or "").split(";", 1)[0].strip().lower()


def check_media_type(content_type: str) -> None:
    """415 unless the content type is one the route takes."""
    if content_type not in SINGLE_TYPES | BATCH_TYPES:
        raise ApiError(415, "unsupported_media_type",
                       f"use {CONTENT_TYPE}, {CONTENT_TYPE_BATCH} or {JSON}, not {content_type!r}")


def events_of(body: bytes, content_type: str, max_batch: int) -> tuple[list[Any], bool]:
    """The JSON objects of a body and whether it was a batch; 415 or 400 when unusable."""
    check_media_type(content_type)
    try:
        parsed = parse(body)
    except DecodeError as exc:
        raise ApiError(400, exc.code, exc.message, decode_details(exc, None)) from None
    if isinstance(parsed, list):
        if content_type not in BATCH_TYPES:
            raise ApiError(415, "unsupported_media_type",
                           f"a JSON array is a batch: send it as {CONTENT_TYPE_BATCH}")
        if not parsed:
            raise ApiError(400, "empty_batch", "the batch holds no events")
        if len(parsed) > max_batch:
            raise ApiError(400, "batch_too_large",
                           f"the batch holds {len(parsed)} events, at most {max_batch} are allowed")
        return parsed, True
    if content_type not in SINGLE_TYPES:
        raise ApiError(400, "schema_violation", "a batch must be a JSON array",
                       [ErrorDetail(index=None, path="", problem="expected an array")])
    return [parsed], False


def decode_all(objs: list[Any], batch: bool) -> list[Envelope[EventData]]:
    """Every object as a typed envelope, or one 400 listing the problems of all of them."""
    events: list[Envelope[EventData]] = []
    details: list[ErrorDetail] = []
    first: DecodeError | None = None
    for index, obj in enumerate(objs):
        try:
            events.append(from_obj(obj))
        except DecodeError as exc:
            first = first or exc
            details.extend(decode_details(exc, index if batch else None))
    if first is not None:
        failed = len({d.index for d in details})
        message = first.message if not batch else (
            f"{failed} of {len(objs)} events are invalid; nothing was accepted "
            f"(first: {first.message})")
        raise ApiError(400, first.code, message, details)
    return events


@router.post("/v1/events", status_code=202, response_model=AcceptedBody,
             responses=ERROR_RESPONSES, dependencies=[Depends(require_scope("events:write"))])
# its request body is documented by services.ingest.openapi (every event type's schema)
async def post_events(request: Request) -> Response:
    """Validate one CloudEvent or a batch (all-or-nothing) and answer after the broker acked."""
    settings: Settings = request.app.state.settings
    publisher: Publisher = request.app.state.publisher
    content_type = media_type(request.headers.get("content-type"))
    check_media_type(content_type)  # before reading the body
    objs, batch = events_of(await request.body(), content_type, settings.max_batch)
    events = decode_all(objs, batch)
    refuse_future(events, settings.max_clock_skew_s, batch)
    published = await publisher.publish(events)
    body = AcceptedBody(accepted=list(published.accepted), duplicates=list(published.duplicates))
    return json_response(body.model_dump(), 202)
