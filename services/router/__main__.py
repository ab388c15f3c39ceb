"""`switchboard router [--config FILE] [--domain NAME] [--instance ID] [--snapshot FILE]`."""

from __future__ import annotations

import argparse
import logging
import os
import socket
import sys
from collections.abc import Sequence
from pathlib import Path

from services.router.service import SNAPSHOT_EVERY_S, run_router
from services.runtime.settings import from_env


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="switchboard router", description=(
        "Route one domain's waiting conversations to agents. Start two for a hot standby."))
    parser.add_argument("--config", type=Path, default=os.environ.get("SWITCHBOARD_ROUTING_CONFIG"),
                        help="routing TOML file (default: SWITCHBOARD_ROUTING_CONFIG, else built-in "
                             "defaults); reloaded when it changes")
    parser.add_argument("--domain", default="default", help="routing domain (default: default)")
    parser.add_argument("--instance", default=f"{socket.gethostname()}-{os.getpid()}",
                        help="this instance's name in logs and event sources")
    parser.add_argument("--snapshot", type=Path,
                        default=os.environ.get("SWITCHBOARD_ROUTER_SNAPSHOT") or None,
                        help="file the model is saved to now and then and restored from at "
                             "start, so a restart reads only the log written since (default: "
                             "SWITCHBOARD_ROUTER_SNAPSHOT, else none: replay from offset 0)")
    parser.add_argument("--snapshot-every-s", type=float, default=SNAPSHOT_EVERY_S,
                        help=f"seconds between snapshots (default {SNAPSHOT_EVERY_S:.0f})")
    parser.add_argument("--loglevel", default="INFO")
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.loglevel, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    logging.getLogger("kafka").setLevel(logging.WARNING)
    # Group membership decides which instance routes: worth seeing in the log.
    logging.getLogger("kafka.coordinator").setLevel(logging.INFO)
    logging.getLogger("aiokafka.consumer.group_coordinator").setLevel(logging.INFO)
    if args.snapshot_every_s <= 0:
        parser.error("--snapshot-every-s must be above 0")
    return run_router(from_env(), args.domain, args.instance, args.config, args.snapshot,
                      args.snapshot_every_s)


if __name__ == "__main__":
    # Through the command line's entry, so `python -m` gets its settings check, its clean
    # stop on SIGTERM and its messages instead of a traceback.
    from services.cli.main import main as switchboard

    sys.exit(switchboard(["router", *sys.argv[1:]]))
