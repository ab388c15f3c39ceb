"""`switchboard <component>`: start one process of the stack, or all of them (`dev`).

Imports are inside the commands so one component's dependencies never load in another.
"""

from __future__ import annotations

import argparse
import dataclasses
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from services.runtime.parent_death import follow_parent
from services.runtime.settings import Settings, SettingsError, from_env
from services.runtime.stop_signals import interrupt_on

COMMANDS: dict[str, str] = {
    "dev": "start Kafka, PostgreSQL, every component and the simulator (make run)",
    "infra": "start/stop the local Kafka broker and PostgreSQL server: infra up|down|status",
    "topics": "create the Kafka topics that are missing",
    "ingest": "the HTTP ingest and read API (127.0.0.1:8080)",
    "worker": "the Faust stream processor (live tables, dead letters)",
    "projector": "the PostgreSQL read-model projector",
    "router": "assign waiting conversations to agents (one active per domain, more are standbys)",
    "rebuild": "replay the log from offset 0 into fresh read-model tables",
    "simulate": "drive the ingest API with simulated contact-center traffic",
    "bench": "run the benchmarks (make bench)",
    "chaos": "the stack under traffic and faults, then checked (make chaos)",
    "kpi": "the KPIs of a past period, folded from the log (--from --to --by --definitions)",
}


def _topics(settings: Settings, argv: Sequence[str]) -> int:
    from services.runtime.kafka_clients import ensure_topics

    created = ensure_topics(settings)
    print(f"created {len(created)} topic(s): {', '.join(created) or 'none missing'}")
    return 0


def _infra(settings: Settings, argv: Sequence[str]) -> int:
    from services.infra.__main__ import main

    return main(list(argv))


def _ingest(settings: Settings, argv: Sequence[str]) -> int:
    from services.ingest.__main__ import main

    return main(list(argv)) or 0


def _worker(settings: Settings, argv: Sequence[str]) -> int:
    from services.runtime.kafka_clients import BrokerUnavailable
    from streams.main import run_worker

    parser = argparse.ArgumentParser(prog="switchboard worker")
    parser.add_argument("--store", default="memory://",
                        help="table store: memory:// (replays changelogs at start) or rocksdb:// "
                        "(see streams/README.md)")
    parser.add_argument("--data-dir", type=Path,
                        help="local table data, one per worker instance (default: "
                        "SWITCHBOARD_WORKER_DATA_DIR, else .cache/faust/<worker id>)")
    parser.add_argument("--loglevel", default="WARNING")
    args = parser.parse_args(argv)
    if args.data_dir is not None:
        settings = dataclasses.replace(settings, worker_data_dir=args.data_dir)
    try:
        run_worker(settings, store=args.store, loglevel=args.loglevel)
    except BrokerUnavailable as exc:
        print(f"switchboard worker: {exc}\nStart the broker (`make run` starts one) or point "
              "KAFKA_BOOTSTRAP_SERVERS at a running cluster, then start the worker again.",
              file=sys.stderr)
        return 69  # EX_UNAVAILABLE: a supervisor may restart it once the broker is up
    return 0


def _projector(settings: Settings, argv: Sequence[str]) -> int:
    from projections.postgres.projector import main

    return main(list(argv)) or 0


def _router(settings: Settings, argv: Sequence[str]) -> int:
    from services.router.__main__ import main

    return main(list(argv))


def _rebuild(settings: Settings, argv: Sequence[str]) -> int:
    from projections.postgres.rebuild import main

    return main(list(argv)) or 0


def _simulate(settings: Settings, argv: Sequence[str]) -> int:
    from services.simulator.driver import main

    return main(list(argv)) or 0


def _dev(settings: Settings, argv: Sequence[str]) -> int:
    from services.cli.dev import main

    return main(settings, list(argv))


def _bench(settings: Settings, argv: Sequence[str]) -> int:
    from services.bench.__main__ import main

    return main(list(argv)) or 0


def _chaos(settings: Settings, argv: Sequence[str]) -> int:
    from services.chaos.__main__ import main

    return main(list(argv))


def _kpi(settings: Settings, argv: Sequence[str]) -> int:
    from services.kpi.offline import main

    return main(settings, argv)


HANDLERS: dict[str, Callable[[Settings, Sequence[str]], int]] = {
    "dev": _dev, "infra": _infra, "topics": _topics, "ingest": _ingest, "worker": _worker,
    "projector": _projector, "router": _router, "rebuild": _rebuild, "simulate": _simulate, "bench": _bench,
    "chaos": _chaos, "kpi": _kpi,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Parse `switchboard <command> [args]` and run the command."""
    argv = list(sys.argv[1:] if argv is None else argv)
    # Until a component installs its own handlers (Faust's, uvicorn's), SIGINT and SIGTERM
    # raise StopRequested: a stop asked for while it starts ends it cleanly too.
    interrupt_on((signal.SIGINT, signal.SIGTERM))
    follow_parent()  # started by `switchboard dev`: stop when it dies
    if not argv or argv[0] in ("-h", "--help") or argv[0] not in HANDLERS:
        width = max(map(len, COMMANDS))
        lines = "\n".join(f"  {name.ljust(width)}  {text}" for name, text in COMMANDS.items())
        print(f"usage: switchboard <command> [options]\n\ncommands:\n{lines}\n\n"
              "Configuration comes from environment variables; see README.md.")
        known = not argv or argv[0] in ("-h", "--help")
        if not known:
            print(f"\nunknown command {argv[0]!r}", file=sys.stderr)
        return 0 if known else 2
    try:
        settings = from_env()
    except SettingsError as exc:
        print(f"switchboard: configuration error: {exc}", file=sys.stderr)
        return 2
    try:
        return HANDLERS[argv[0]](settings, argv[1:])
    except KeyboardInterrupt:
        print(f"switchboard {argv[0]}: stopped", file=sys.stderr)
        return 0


if __name__ == "__main__":
    sys.exit(main())
