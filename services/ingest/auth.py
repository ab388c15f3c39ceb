"""API keys: `Authorization: Bearer <key>`, each key with a set of scopes."""

from __future__ import annotations

import hmac
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from fastapi import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from services.ingest.errors import ApiError, send_error
from services.runtime.settings import ApiKey, Settings

PROTECTED_PREFIX = "/v1/"
"""Every route under it needs a key; health checks and the OpenAPI document do not."""


def authenticate(header: str | None, keys: Sequence[ApiKey]) -> ApiKey:
    """The key named by an Authorization header; else 401."""
    scheme, _, token = (header or "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise ApiError(401, "unauthorized", "send an API key as `Authorization: Bearer <key>`")
    found = None
    for key in keys:
        # Constant-time comparison of every key, so timing says nothing about them.
        if hmac.compare_digest(key.key.encode(), token.encode()):
            found = key
    if found is None:
        raise ApiError(401, "unauthorized", "unknown API key")
    return found


def authorize(header: str | None, keys: Sequence[ApiKey], scope: str) -> ApiKey:
    """The key named by an Authorization header if it holds `scope`; else 401 or 403."""
    found = authenticate(header, keys)
    if scope not in found.scopes:
        raise ApiError(403, "forbidden", f"this API key lacks the scope {scope!r}")
    return found


def require_scope(scope: str) -> Callable[[Request], Coroutine[Any, Any, ApiKey]]:
    """A FastAPI dependency that admits only keys holding `scope` (keys from app.state.settings)."""

    async def check(request: Request) -> ApiKey:
        settings: Settings = request.app.state.settings
        return authorize(request.headers.get("authorization"), settings.api_keys, scope)

    return check


class Authenticate:
    """ASGI middleware: 401 for a request under /v1/ without a known key, before anything
    reads its body, so a malformed body sent without a key is refused as unauthenticated
    rather than parsed first (FastAPI parses a route's body before its dependencies run).
    Each route still checks its scope (403)."""

    def __init__(self, app: ASGIApp, keys: Sequence[ApiKey]) -> None:
        self.app, self.keys = app, keys

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(PROTECTED_PREFIX):
            header = next((v.decode("latin-1") for k, v in scope.get("headers", ())
                           if k == b"authorization"), None)
            try:
                authenticate(header, self.keys)
            except ApiError as error:
                await send_error(send, error)
                return
        await self.app(scope, receive, send)
