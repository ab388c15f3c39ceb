"""`python -m services.chaos [--duration S] [--every S] [--rate R] [--seed N]` (`make chaos`)."""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
from collections.abc import Sequence

import orjson

from services.chaos.report import clean, table
from services.chaos.run import ChaosConfig, run


def main(argv: Sequence[str] | None = None) -> int:
    defaults = ChaosConfig()
    parser = argparse.ArgumentParser(prog="switchboard chaos", description=(
        "Run the whole stack under simulated traffic, kill -9 its components and restart its "
        "servers at random moments, then check the log, the live tables and the read models."))
    parser.add_argument("--duration", type=float, default=defaults.duration_s,
                        help=f"seconds of traffic and faults (default {defaults.duration_s:.0f})")
    parser.add_argument("--every", type=float, default=defaults.every_s,
                        help=f"mean seconds between faults (default {defaults.every_s:.0f})")
    parser.add_argument("--rate", type=float, default=defaults.rate,
                        help=f"conversations arriving per second (default {defaults.rate:g})")
    parser.add_argument("--seed", type=int, default=defaults.seed)
    args = parser.parse_args(argv)
    if args.duration <= 0 or args.every <= 0 or args.rate <= 0:
        parser.error("--duration, --every and --rate must be positive")
    # The desks' own Kafka clients run in this process; the broker goes away on purpose,
    # and each component's view of it is in its log.
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    for noisy in ("aiokafka", "kafka"):
        logging.getLogger(noisy).setLevel(logging.CRITICAL)
    cfg = dataclasses.replace(defaults, duration_s=args.duration, every_s=args.every,
                              rate=args.rate, seed=args.seed)
    try:
        outcome = run(cfg)
    except KeyboardInterrupt:
        print("chaos: interrupted; the stack is stopped, nothing was checked", file=sys.stderr)
        return 130
    print("\n" + table(outcome))
    report = cfg.root / "report.json"
    report.write_bytes(orjson.dumps(dataclasses.asdict(outcome), option=orjson.OPT_INDENT_2))
    for what, found in outcome.differences.items():
        for line in found[:10]:
            print(f"  {what}: {line}")
    print(f"\nchaos: {'clean' if clean(outcome) else 'DIFFERENCES FOUND'}; the details are in "
          f"{report}, the components' logs in {cfg.root / 'logs'}")
    return 0 if clean(outcome) else 1


if __name__ == "__main__":
    # Through the command line's entry: its clean stop on SIGTERM and its messages.
    from services.cli.main import main as switchboard

    sys.exit(switchboard(["chaos", *sys.argv[1:]]))
