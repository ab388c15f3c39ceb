"""Refuse request bodies over the size limit, by Content-Length and by bytes actually read."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.ingest.errors import ApiError, send_error


def too_large(limit: int) -> ApiError:
    """413 for a body over `limit` bytes."""
    return ApiError(413, "payload_too_large", f"the body is over the limit of {limit} bytes")


class BodyLimit:
    """ASGI middleware: 413 before reading when Content-Length is over the limit, and an
    `ApiError(413)` from `receive` as soon as the bytes read pass it (a lying or absent
    Content-Length, chunked uploads)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            await send_error(send, too_large(self.max_bytes))
            return
        await self.app(scope, self._counting(receive), send)

    def _counting(self, receive: Receive) -> Receive:
        total = 0

        async def counted() -> Message:
            nonlocal total
            message = await receive()
            if message["type"] == "http.request":
                total += len(message.get("body", b""))
                if total > self.max_bytes:
                    raise too_large(self.max_bytes)
            return message

        return counted


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
