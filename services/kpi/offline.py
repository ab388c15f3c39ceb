"""`switchboard kpi`: the KPIs of any past period, folded from the log.

Reads `cc.conversations` and `cc.agents` from their start (read committed, as every Switchboard consumer),
derives the facts with the same reducer the live and durable projections run, and
prints one row per scope and interval whose interval starts in [--from, --to).
`--definitions OTHER` computes the same period under another definitions file; given
twice, the period is printed under each, one after the other.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

from projections.dedupe import Position
from projections.kpi.definitions import Definitions, DefinitionsError, read_definitions
from projections.kpi.intervals import SIZES, parse_size
from projections.kpi.log_fold import KpiInputs, fold_log
from projections.kpi.rows import BY, By, rows
from schemas.codec import decode
from schemas.envelope import Envelope
from schemas.errors import DecodeError
from schemas.events import EventData
from schemas.times import parse_time
from schemas.topics import AGENTS, CONVERSATIONS
from services.kpi.render import as_csv, as_json, as_table
from services.runtime.log_records import records
from services.runtime.settings import Settings

RENDER = {"table": as_table, "json": as_json, "csv": as_csv}


def main(settings: Settings, argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="switchboard kpi", description=__doc__.split("\n")[0])
    parser.add_argument("--from", dest="start", required=True, help="RFC 3339 time")
    parser.add_argument("--to", dest="end", required=True, help="RFC 3339 time (exclusive)")
    parser.add_argument("--by", choices=BY, default="center")
    parser.add_argument("--interval", choices=SIZES, default="1h")
    parser.add_argument("--definitions", type=Path, action="append", default=[],
                        help="a definitions file (TOML); twice to compare two (default: "
                        "SWITCHBOARD_KPI_DEFINITIONS, else the built-in definitions)")
    parser.add_argument("--format", choices=sorted(RENDER), default="table")
    args = parser.parse_args(list(argv))
    try:
        start, end = parse_time(args.start), parse_time(args.end)
        chosen = [load(path) for path in args.definitions] or [settings.kpi_definitions]
    except (ValueError, OSError) as exc:
        print(f"switchboard kpi: {exc}", file=sys.stderr)
        return 2
    inputs = read_inputs(settings)
    by: By = args.by
    for definitions in chosen:
        found = rows(inputs.facts, definitions, by=by, size=parse_size(args.interval),
                     start=start, end=end, points=inputs.points)
        if len(chosen) > 1:
            print(f"# definitions {definitions.version}")
        print(RENDER[args.format](found))
    return 0


def load(path: Path) -> Definitions:
    """The definitions in `path`; ValueError naming the file and every problem."""
    try:
        return read_definitions(path)
    except DefinitionsError as exc:
        raise ValueError(f"{path}: {exc}") from None


def read_inputs(settings: Settings) -> KpiInputs:
    """Every fact and agent point of the log as it stands (undecodable records are
    skipped, as the worker dead-letters them)."""
    return fold_log(_decoded(settings))


def _decoded(settings: Settings) -> Iterator[tuple[Envelope[EventData], Position]]:
    # A conversation's (an agent's) events are on one partition, in order: per-partition
    # order is all the fold needs.
    for record in records(settings, (CONVERSATIONS, AGENTS)):
        try:
            yield decode(record.value), Position(record.partition, record.offset)
        except DecodeError:
            continue
