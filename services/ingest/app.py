"""Composition root of the ingest: settings, publisher, routers, error handling."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from pydantic import BaseModel
from starlette.responses import Response

from services.ingest import (
    agent_routes,
    conversation_routes,
    events_route,
    openapi,
    read_routes,
)
from services.ingest.auth import Authenticate
from services.ingest.body_limit import BodyLimit
from services.ingest.dedupe import DEFAULT_CAPACITY
from services.ingest.errors import (
    ErrorBody,
    install_error_handlers,
    json_response,
    kafka_unavailable,
)
from services.ingest.ids_on_log import IdsOnLog
from services.ingest.publisher import KafkaUnavailable, Publisher
from services.runtime.kafka_clients import async_producer
from services.runtime.settings import Settings
from services.runtime.stop_signals import forward_early_stop


class Status(BaseModel):
    status: str


def default_publisher(settings: Settings, send_timeout_s: float = 10.0,
                      seen_capacity: int = DEFAULT_CAPACITY) -> Publisher:
    """A publisher over the shared idempotent acks=all aiokafka producer.

    `seen_capacity` ids are remembered for de-duplication (~170 MB at the default 1,000,000).
    """
    on_log = IdsOnLog(settings, settings.ingest_recall_s)

    async def recall() -> set[str]:
        return await asyncio.to_thread(on_log.recall)

    return Publisher(lambda: async_producer(settings, "switchboard-ingest"),
                     settings.topic_for_type, send_timeout_s=send_timeout_s,
                     seen_capacity=seen_capacity,
                     recall=recall if settings.ingest_recall_s > 0 else None)


def create_app(settings: Settings, publisher: Publisher | None = None, *,
               read_api: bool = True) -> FastAPI:
    """The ingest ASGI app; the publisher starts and stops with the app's lifespan.

    With `read_api` the GET routes over the PostgreSQL read models are mounted too.
    """
    pub = publisher or default_publisher(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await pub.start()
        forward_early_stop()  # uvicorn's signal handlers are in place during startup
        try:
            yield
        finally:
            await pub.stop()

    app = FastAPI(title="Switchboard ingest", version="1", lifespan=lifespan,
                  description="Validates CloudEvents and typed commands and produces them to "
                              "Kafka. Every error answers the ErrorBody shape.")
    app.state.settings = settings
    app.state.publisher = pub
    install_error_handlers(app)
    app.add_exception_handler(KafkaUnavailable, _on_kafka_unavailable)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(Authenticate, keys=settings.api_keys)  # outermost: runs first
    app.include_router(events_route.router)
    app.include_router(conversation_routes.router)
    app.include_router(agent_routes.router)
    _add_health(app, pub)
    if read_api:
        read_routes.register(app, settings)
    openapi.install(app, settings.max_batch)
    return app


async def _on_kafka_unavailable(request: Request, exc: Exception) -> Response:
    error = kafka_unavailable(str(exc))
    return json_response(error.body(), error.status, error.headers)


def _add_health(app: FastAPI, pub: Publisher) -> None:
    @app.get("/healthz", response_model=Status, tags=["health"])
    async def healthz() -> Status:
        """Liveness: the process answers."""
        return Status(status="ok")

    @app.get("/readyz", response_model=Status, tags=["health"],
             responses={503: {"model": ErrorBody, "description": "Kafka unreachable"}})
    async def readyz() -> Response:
        """Readiness: the Kafka cluster answers a metadata request."""
        if await pub.ready():
            return json_response({"status": "ready"}, 200)
        error = kafka_unavailable("the broker does not answer")
        return json_response(error.body(), error.status, error.headers)
