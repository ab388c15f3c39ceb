"""The one error shape of the ingest API and the handlers that produce it.

Every error answers `{"error": {"code", "message", "details": [{"index", "path",
"problem"}]}}`; `index` is the position in a batch, or null for a single event.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.types import Send

from schemas.errors import DecodeError

RETRY_AFTER_S = 2


class ErrorDetail(BaseModel):
    """One problem: where (batch index, JSON Pointer) and what."""

    index: int | None = None
    path: str = ""
    problem: str


class ErrorInfo(BaseModel):
    """A stable machine-readable code, a human message, and the details."""

    code: str
    message: str
    details: list[ErrorDetail] = []


class ErrorBody(BaseModel):
    """The body of every non-2xx answer."""

    error: ErrorInfo


class ApiError(StarletteHTTPException):
    """An answer other than success, raised anywhere below a route.

    An HTTPException, so FastAPI passes it through unchanged even from body reading.
    """

    def __init__(self, status: int, code: str, message: str,
                 details: Sequence[ErrorDetail] = (), headers: Mapping[str, str] | None = None):
        super().__init__(status_code=status, detail=message, headers=dict(headers or {}))
        self.status = status
        self.code = code
        self.message = message
        self.details = list(details)
        self.headers = dict(headers or {})

    def body(self) -> dict[str, Any]:
        """The JSON body of this error."""
        info = ErrorInfo(code=self.code, message=self.message, details=self.details)
        return ErrorBody(error=info).model_dump()


def kafka_unavailable(reason: str) -> ApiError:
    """503 with Retry-After: the event is not on the log, the client should retry."""
    return ApiError(503, "kafka_unavailable", f"Kafka cannot take the write now: {reason}",
                    headers={"Retry-After": str(RETRY_AFTER_S)})


def decode_details(error: DecodeError, index: int | None) -> list[ErrorDetail]:
    """The details of a codec error, each tagged with the event's batch index."""
    problems = error.problems or ()
    if not problems:
        return [ErrorDetail(index=index, path="", problem=error.message)]
    return [ErrorDetail(index=index, path=p.path, problem=p.problem) for p in problems]


def validation_details(errors: Iterable[Mapping[str, Any]]) -> list[ErrorDetail]:
    """Pydantic errors to details: `("body", "priority")` becomes the pointer `/priority`."""
    details = []
    for err in errors:
        loc = [str(part) for part in err.get("loc", ())]
        where = loc[0] if loc else ""
        rest = loc[1:] if where == "body" else loc
        path = "".join("/" + part.replace("~", "~0").replace("/", "~1") for part in rest)
        details.append(ErrorDetail(index=None, path=path, problem=str(err.get("msg", "invalid"))))
    return details


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": text}
    for status, text in {
        400: "malformed_json, unknown_type, schema_violation, clock_skew (a time too far "
             "ahead), batch_too_large or empty_batch",
        401: "unauthorized: no or wrong API key (Authorization: Bearer ...)",
        403: "forbidden: the API key lacks the scope",
        413: "payload_too_large: body over the size limit",
        415: "unsupported_media_type",
        503: "kafka_unavailable: nothing was accepted; retry after Retry-After seconds",
    }.items()
}
"""OpenAPI `responses=` for every write route."""


def json_response(obj: Any, status: int, headers: Mapping[str, str] | None = None) -> Response:
    """A JSON response serialized with orjson (as the codec does)."""
    return Response(orjson.dumps(obj), status_code=status, headers=headers,
                    media_type="application/json")


def _respond(error: ApiError) -> Response:
    return json_response(error.body(), error.status, error.headers)


async def _on_api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return _respond(exc)


async def _on_validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    invalid = [err for err in errors if err.get("type") == "json_invalid"]
    if invalid:
        # pydantic puts the character position where a pointer would go
        details = [ErrorDetail(index=None, path="", problem=f"{err.get('msg')} at position "
                               f"{err.get('loc', ('', '?'))[-1]}") for err in invalid]
        return _respond(ApiError(400, "malformed_json", "the body is not valid JSON", details))
    return _respond(ApiError(400, "schema_violation", "the request does not match its schema",
                             validation_details(errors)))


async def _on_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    return _respond(ApiError(exc.status_code, code, str(exc.detail), headers=exc.headers))


def install_error_handlers(app: FastAPI) -> None:
    """Make every error of the app, FastAPI's own included, answer the one error shape."""
    app.add_exception_handler(ApiError, _on_api_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)


async def send_error(send: Send, error: ApiError) -> None:
    """Answer `error` straight from ASGI middleware, in the one error shape."""
    body = orjson.dumps(error.body())
    await send({"type": "http.response.start", "status": error.status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
