"""A Faust app whose agents take the domain topics' records in the worker's batches and
do nothing with them: how fast the worker could drain if its folds and writes cost
nothing (bench phase "drain"). Run: `python -m services.bench.faust_noop`, with
`SWITCHBOARD_WORKER_ID` naming its consumer group."""

from __future__ import annotations

import sys
from typing import cast

import faust

from schemas.topics import AGENTS, CONVERSATIONS
from services.runtime.settings import from_env
from streams.app import create_app
from streams.main import run_app
from streams.wiring import BATCH_MAX, BATCH_WITHIN_S, raw_topic


def build() -> faust.App:
    """The worker's app (same transport and settings) with one no-op agent per domain topic,
    as the worker has one fold per topic."""
    settings = from_env()
    app = create_app(settings)
    for name in (CONVERSATIONS, AGENTS):
        async def take(stream: faust.StreamT) -> None:
            async for _events in cast(faust.Stream, stream).take_events(BATCH_MAX, BATCH_WITHIN_S):
                pass  # acked when the next batch is taken, as the worker's are

        app.agent(raw_topic(app, settings.topic(name)), name=f"noop-{name}", concurrency=1)(take)
    return app


def main() -> int:
    """Run until SIGTERM/SIGINT."""
    run_app(build())
    return 0


if __name__ == "__main__":
    sys.exit(main())
