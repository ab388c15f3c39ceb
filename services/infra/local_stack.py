"""Bring the local Kafka broker and PostgreSQL server up or down for a `Settings`.

Used by `python -m services.infra` and by `switchboard dev`. A server whose
address came from the environment (KAFKA_BOOTSTRAP_SERVERS / DATABASE_URL) is
someone else's: we neither start nor stop it, only create the topics.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from services.infra.kafka_local import (
    default_instance_dir,
    kafka_running,
    start_kafka,
    stop_kafka,
)
from services.infra.postgres_local import postgres_running, start_postgres, stop_postgres
from services.runtime.kafka_clients import ensure_topics
from services.runtime.settings import Settings


@dataclass(frozen=True, slots=True)
class StackStatus:
    """What runs where; `*_managed` is False for servers given by the environment."""

    kafka_bootstrap_servers: str
    kafka_managed: bool
    kafka_running: bool
    database_url: str
    postgres_managed: bool
    postgres_running: bool

    def describe(self) -> str:
        """Human-readable lines for the terminal."""
        def state(managed: bool, running: bool) -> str:
            if not managed:
                return "external (from the environment)"
            return "running (local)" if running else "stopped (local)"
        kafka = state(self.kafka_managed, self.kafka_running)
        postgres = state(self.postgres_managed, self.postgres_running)
        return "\n".join([f"kafka     {self.kafka_bootstrap_servers:<50} {kafka}",
                          f"postgres  {self.database_url:<50} {postgres}"])


def kafka_instance_dir(settings: Settings) -> Path:
    """The local broker's instance directory for these settings."""
    return default_instance_dir(settings.cache_dir, settings.kafka_port)


def postgres_data_dir(settings: Settings) -> Path:
    """The local PostgreSQL data directory for these settings."""
    return settings.cache_dir / "postgres" / f"data-{settings.postgres_port}"


def stack_up(settings: Settings, quiet: bool = False) -> StackStatus:
    """Start the local servers the settings ask for, then create the topics."""
    if settings.postgres_embedded:
        started = time.monotonic()
        start_postgres(postgres_data_dir(settings), settings.postgres_port)
        if not quiet:
            print(f"PostgreSQL ready on 127.0.0.1:{settings.postgres_port} after "
                  f"{time.monotonic() - started:.1f}s", flush=True)
    if settings.kafka_embedded:
        start_kafka(kafka_instance_dir(settings), settings.kafka_port, settings.kafka_port + 1,
                    settings.cache_dir, quiet=quiet)
    created = ensure_topics(settings)
    if created and not quiet:
        print(f"created topics: {', '.join(created)}", flush=True)
    return stack_status(settings)


def stack_down(settings: Settings) -> StackStatus:
    """Stop the local servers (external ones are left alone)."""
    if settings.kafka_embedded:
        stop_kafka(kafka_instance_dir(settings))
    if settings.postgres_embedded:
        stop_postgres(postgres_data_dir(settings))
    return stack_status(settings)


def stack_status(settings: Settings) -> StackStatus:
    """Which local servers are running."""
    return StackStatus(
        kafka_bootstrap_servers=settings.kafka_bootstrap_servers,
        kafka_managed=settings.kafka_embedded,
        kafka_running=settings.kafka_embedded and kafka_running(kafka_instance_dir(settings)),
        database_url=settings.database_url,
        postgres_managed=settings.postgres_embedded,
        postgres_running=(settings.postgres_embedded
                          and postgres_running(postgres_data_dir(settings).resolve())),
    )
