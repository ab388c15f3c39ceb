"""`python -m services.infra up|down|status|fetch`: the local Kafka and PostgreSQL servers."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from services.infra.kafka_jars import KafkaSetupError, ensure_kafka_jars
from services.infra.kafka_local import KafkaStartError
from services.infra.local_stack import stack_down, stack_status, stack_up
from services.infra.postgres_local import PostgresStartError
from services.runtime.kafka_clients import BrokerUnavailable
from services.runtime.settings import SettingsError, from_env


def main(argv: Sequence[str] | None = None) -> int:
    """Run one infra command; returns the process exit code."""
    parser = argparse.ArgumentParser(prog="python -m services.infra",
                                     description="Local Kafka broker and PostgreSQL server.")
    parser.add_argument("command", choices=["up", "down", "status", "fetch"],
                        help="up: start both and create topics; down: stop both; "
                             "status: show what runs where; fetch: download the Kafka jars only")
    args = parser.parse_args(argv)
    try:
        settings = from_env()
        if args.command == "fetch":
            print(ensure_kafka_jars(settings.cache_dir))
            return 0
        if args.command == "up":
            status = stack_up(settings)
        elif args.command == "down":
            status = stack_down(settings)
        else:
            status = stack_status(settings)
    except (SettingsError, KafkaSetupError, KafkaStartError, PostgresStartError,
            BrokerUnavailable) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(status.describe())
    return 0


if __name__ == "__main__":
    sys.exit(main())
