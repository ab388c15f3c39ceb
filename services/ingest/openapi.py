"""The ingest's OpenAPI document, made exact where FastAPI's own falls short.

- `POST /v1/events` reads its body by hand (to take CloudEvents media types and batches),
  so FastAPI knows no schema for it: the document gets every event type's published
  JSON Schema (`schemas/json`), one of them per event, a batch an array of them.
- FastAPI documents a `422` on every route with parameters; this app answers every
  invalid request `400` in its one error shape, so the `422`s go.
- Routes under `/v1/` need an API key: the document says so (bearer scheme).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from schemas.envelope import CONTENT_TYPE, CONTENT_TYPE_BATCH
from schemas.events import EVENT_TYPES
from schemas.json_schema import event_schema
from services.ingest.auth import PROTECTED_PREFIX

Doc = dict[str, Any]
JSON = "application/json"
BEARER = "apiKey"


def install(app: FastAPI, max_batch: int) -> None:
    """Serve the exact document at /openapi.json (built once, on first request)."""

    def openapi() -> Doc:
        if app.openapi_schema is None:
            doc = get_openapi(title=app.title, version=app.version,
                              description=app.description, routes=app.routes)
            app.openapi_schema = exact(doc, max_batch)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def exact(doc: Doc, max_batch: int) -> Doc:
    """`doc` with the event bodies, without the 422s, with the API-key scheme."""
    components = doc.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    for wire_type, cls in EVENT_TYPES.items():
        schemas[wire_type] = {k: v for k, v in event_schema(wire_type, cls).items()
                              if not k.startswith("$")}
    components["securitySchemes"] = {BEARER: {
        "type": "http", "scheme": "bearer", "description": "an API key with the route's scope"}}
    for path, operations in doc.get("paths", {}).items():
        for operation in operations.values():
            operation.get("responses", {}).pop("422", None)
            if path.startswith(PROTECTED_PREFIX):
                operation["security"] = [{BEARER: []}]
    events = doc["paths"]["/v1/events"]["post"]
    events["requestBody"] = {"required": True, "content": event_bodies(max_batch)}
    return doc


def event_bodies(max_batch: int) -> Doc:
    """The media types of `POST /v1/events` and the schema of each."""
    one = {"oneOf": [{"$ref": f"#/components/schemas/{t}"} for t in sorted(EVENT_TYPES)]}
    batch = {"type": "array", "minItems": 1, "maxItems": max_batch, "items": one}
    return {CONTENT_TYPE: {"schema": one}, CONTENT_TYPE_BATCH: {"schema": batch},
            JSON: {"schema": {"oneOf": [one, batch]}}}
