"""Composition root of the stream-processing worker: `switchboard worker`."""

from __future__ import annotations

import logging
import sys
import time

import faust

from schemas.topics import ALL_TOPICS
from services.runtime import gc_policy
from services.runtime.kafka_clients import ensure_topics
from services.runtime.settings import Settings
from services.runtime.stop_signals import forward_early_stop
from streams.app import create_app
from streams.sweep import register_sweep
from streams.wiring import change_topics, register

PROGRESS_EVERY_S = 5.0


def build(settings: Settings, store: str = "memory://") -> faust.App:
    """The app with its topics, tables, agents, the sweep of closed conversations and a
    progress reporter."""
    app = create_app(settings, store=store)
    wiring = register(app, settings)
    sweep = register_sweep(app, wiring.tables["conversations"], settings)
    last = {"t": time.monotonic(), "n": 0}

    @app.timer(interval=PROGRESS_EVERY_S)
    async def report_progress() -> None:
        now, n = time.monotonic(), wiring.stats.applied
        rate = (n - last["n"]) / max(now - last["t"], 1e-9)
        last.update(t=now, n=n)
        print(f"worker: {n} applied ({rate:,.0f}/s), {wiring.stats.dead_lettered} dead-lettered, "
              f"{sweep.deleted} closed swept", file=sys.stderr, flush=True)

    return app


def run_worker(settings: Settings, store: str = "memory://", loglevel: str = "WARNING") -> None:
    """Run the worker until SIGINT/SIGTERM; raises BrokerUnavailable when the cluster
    cannot be reached to create its topics."""
    ensure_topics(settings, (*ALL_TOPICS, *change_topics(settings.worker_app_id)))
    run_app(build(settings, store), loglevel)


def run_app(app: faust.App, loglevel: str = "WARNING") -> None:
    """Run a Faust app in this process until SIGINT/SIGTERM."""
    worker = faust.Worker(app, loglevel=loglevel, quiet=True)

    @app.task
    async def forward_stop_asked_while_starting() -> None:
        forward_early_stop()  # Faust's signal handlers are in place once app tasks run

    # aiokafka and faust log at DEBUG for every record; building those records
    # cost ~10% of the worker's time even though no handler printed them.
    level = max(logging.INFO, logging.getLevelName(loglevel.upper()))
    for name in ("aiokafka", "faust", "mode"):
        logging.getLogger(name).setLevel(level)
    gc_policy.for_batches()
    worker.execute_from_commandline()
