"""`switchboard simulate`: command-line entry point of the traffic simulator."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence
from datetime import UTC, datetime

from services.runtime.settings import DEV_API_KEY, Settings, SettingsError, from_env
from services.runtime.stop_signals import interrupt_on
from services.simulator.config import SimulationConfig
from services.simulator.driver import IngestRefused, run_simulation


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="switchboard simulate",
        description="Drive the ingest API with realistic, seeded contact-center traffic.")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rate", type=float, default=0.3, help="conversations per second")
    parser.add_argument("--duration", type=float, default=3600.0, help="simulated seconds")
    parser.add_argument("--agents", type=int, default=50)
    parser.add_argument("--speed", type=float, default=1.0,
                        help="simulated seconds per wall-clock second")
    parser.add_argument("--as-fast-as-possible", action="store_true",
                        help="ignore the clock (load a backlog)")
    parser.add_argument("--start", type=datetime.fromisoformat, default=None,
                        help="simulated start time, ISO 8601 with offset (default: now); "
                             "the same seed and start replay the same event ids")
    parser.add_argument("--url", default=None,
                        help="ingest base URL (default http://$SWITCHBOARD_INGEST_HOST:PORT)")
    parser.add_argument("--api-key", default=None,
                        help="bearer key (default $SWITCHBOARD_API_KEY or the dev key)")
    parser.add_argument("--no-route", action="store_true",
                        help="do not play the stand-in router (the real router offers)")
    parser.add_argument("--drain", action="store_true",
                        help="after the duration, run on until every conversation ends")
    parser.add_argument("--batch", type=int, default=500, help="max events per request")
    live = parser.add_argument_group(
        "live mode", "customers and agents that react to the real router's offers, in real time")
    live.add_argument("--live", action="store_true",
                      help="play live desks against the running router (reads cc.conversations)")
    live.add_argument("--conversations", type=int, default=None,
                      help="live: stop after this many conversations (default: rate x duration)")
    live.add_argument("--via", choices=("http", "kafka"), default="http",
                      help="live: publish through the ingest API (default) or straight to Kafka")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the simulator; exit code 0 when every event was accepted."""
    args = _parser().parse_args(argv)
    start = args.start or datetime.now(UTC)
    if start.tzinfo is None:
        print("simulator: --start needs a UTC offset, e.g. 2025-01-06T08:00:00+00:00",
              file=sys.stderr)
        return 2
    try:
        settings = from_env()
    except SettingsError as exc:
        print(f"simulator: configuration error: {exc}", file=sys.stderr)
        return 2
    interrupt_on()  # SIGTERM stops it as Ctrl-C does, with exit 0
    url = args.url or f"http://{settings.ingest_host}:{settings.ingest_port}"
    api_key = args.api_key or os.environ.get("SWITCHBOARD_API_KEY") or DEV_API_KEY
    if args.live:
        return _live(args, settings, url, api_key)
    try:
        config = SimulationConfig(
            seed=args.seed, rate=args.rate, duration=args.duration, start=start,
            agents=args.agents, route=not args.no_route, drain=args.drain)
    except ValueError as exc:
        print(f"simulator: {exc}", file=sys.stderr)
        return 2
    try:
        stats = asyncio.run(run_simulation(
            config, url, api_key, speed=args.speed,
            as_fast_as_possible=args.as_fast_as_possible, max_batch=args.batch))
    except IngestRefused as exc:
        print(f"simulator: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("simulator: stopped", file=sys.stderr)
        return 0
    return 0 if stats.rejected == 0 and stats.failed == 0 else 1


def _live(args: argparse.Namespace, settings: Settings, url: str, api_key: str) -> int:
    from services.simulator.desks import DeskConfig
    from services.simulator.live import HttpPublisher, KafkaPublisher, Publisher, run_live

    count = args.conversations or max(1, int(args.rate * args.duration))
    try:
        config = DeskConfig(seed=args.seed, rate=args.rate, conversations=count, agents=args.agents,
                            run=f"live{args.seed}-{datetime.now(UTC):%H%M%S}")
    except ValueError as exc:
        print(f"simulator: {exc}", file=sys.stderr)
        return 2
    publisher: Publisher = (KafkaPublisher(settings) if args.via == "kafka"
                            else HttpPublisher(url, api_key))
    try:
        stats = asyncio.run(run_live(config, settings, publisher))
    except KeyboardInterrupt:
        print("simulator-live: stopped", file=sys.stderr)
        return 0
    print(f"simulator-live: done {stats}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
