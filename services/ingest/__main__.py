"""`python -m services.ingest` / `switchboard ingest`: create the topics, then serve the API."""

from __future__ import annotations

import argparse
import dataclasses
import logging
import signal
import sys
from collections.abc import Sequence

import uvicorn

from services.ingest.app import create_app
from services.runtime.kafka_clients import ensure_topics
from services.runtime.settings import Settings, from_env
from services.runtime.stop_signals import note_stop


def serve(settings: Settings) -> None:
    """Run the ingest on settings.ingest_host:settings.ingest_port until interrupted."""
    ensure_topics(settings)
    # uvicorn stops gracefully on SIGINT/SIGTERM, then raises the signal again with the
    # handlers it found: these take it, so a requested stop ends with exit 0.
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, _stopped)
    uvicorn.run(create_app(settings), host=settings.ingest_host, port=settings.ingest_port,
                log_level="info", access_log=False)


def _stopped(signum: int, frame: object) -> None:
    # Before uvicorn took the signals, a stop is only noted: the app forwards it to
    # uvicorn once serving (lifespan startup).
    note_stop(signum)
    logging.getLogger(__name__).info("stopped on %s", signal.Signals(signum).name)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: settings from the environment, host and port overridable by flags."""
    parser = argparse.ArgumentParser(prog="switchboard ingest",
                                     description="the HTTP ingest and read API")
    parser.add_argument("--host", help="listen address (default SWITCHBOARD_INGEST_HOST)")
    parser.add_argument("--port", type=int, help="listen port (default SWITCHBOARD_INGEST_PORT)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s %(message)s")
    settings = from_env()
    settings = dataclasses.replace(settings, ingest_host=args.host or settings.ingest_host,
                                   ingest_port=args.port or settings.ingest_port)
    serve(settings)
    return 0


if __name__ == "__main__":
    # Through the command line's entry, so `python -m` gets its settings check, its clean
    # stop on SIGTERM and its messages instead of a traceback.
    from services.cli.main import main as switchboard

    sys.exit(switchboard(["ingest", *sys.argv[1:]]))
