"""API keys: `Authorization: Bearer <key>`, each key with a set of scopes."""

from __future__ import annotations

import hmac
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from fastapi import Request

from services.ingest.errors import ApiError
from services.runtime.settings import ApiKey, Settings


def authorize(header: str | None, keys: Sequence[ApiKey], scope: str) -> ApiKey:
    """The key named by an Authorization header if it holds `scope`; else 401 or 403."""
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
    if scope not in found.scopes:
        raise ApiError(403, "forbidden", f"this API key lacks the scope {scope!r}")
    return found


def require_scope(scope: str) -> Callable[[Request], Coroutine[Any, Any, ApiKey]]:
    """A FastAPI dependency that admits only keys holding `scope` (keys from app.state.settings)."""

    async def check(request: Request) -> ApiKey:
        settings: Settings = request.app.state.settings
        return authorize(request.headers.get("authorization"), settings.api_keys, scope)

    return check
