"""`switchboard simulate`: command-line entry point of the traffic simulator."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence
from datetime import UTC, datetime

from services.runtime.settings import DEV_API_KEY
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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the simulator; exit code 0 when every event was accepted."""
    args = _parser().parse_args(argv)
    start = args.start or datetime.now(UTC)
    if start.tzinfo is None:
        print("simulator: --start needs a UTC offset, e.g. 2025-01-06T08:00:00+00:00",
              file=sys.stderr)
        return 2
    host = os.environ.get("SWITCHBOARD_INGEST_HOST", "127.0.0.1")
    port = os.environ.get("SWITCHBOARD_INGEST_PORT", "8080")
    url = args.url or f"http://{host}:{port}"
    api_key = args.api_key or os.environ.get("SWITCHBOARD_API_KEY") or DEV_API_KEY
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
        return 130
    return 0 if stats.rejected == 0 and stats.failed == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
