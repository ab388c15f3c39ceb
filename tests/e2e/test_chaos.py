"""The chaos run in its short form (`make chaos` runs it for 5 minutes): the whole stack on
its own broker and database, every kind of fault at least once, then the log, the worker
tables, the read models and the routing invariants checked."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from tests_support import free_port

from services.bench.stack import StackPorts
from services.chaos.faults import Kind
from services.chaos.report import table
from services.chaos.run import ChaosConfig, run

SHORT = ChaosConfig(duration_s=110.0, every_s=16.0)
"""Six faults, one of each kind (the plan deals them from a shuffled deck), at the
default traffic; denser faults leave the broker down for too much of a short run to
offer 500 events/s on average."""


def test_the_stack_survives_every_kind_of_fault_with_nothing_lost_or_doubled(
        tmp_path: Path) -> None:
    ports = StackPorts(kafka=free_port(), kafka_controller=free_port(), postgres=free_port(),
                       ingest=free_port())
    outcome = run(ChaosConfig(duration_s=SHORT.duration_s, every_s=SHORT.every_s,
                              root=tmp_path / "chaos", ports=ports))
    print(table(outcome))
    found = {what: found[:5] for what, found in outcome.differences.items() if found}
    print(f"differences (first five of each): {found}")

    assert set(Counter(kind for _, kind, _ in outcome.faults)) == {k.value for k in Kind}
    assert outcome.on_log == outcome.offered > 0
    assert outcome.differences, "the checks ran"
    assert not found, f"differences after the chaos run: {found}"
    # The target is 500 events/s offered; on this 2-core machine, running every process
    # of the stack, the desks and the faults, the short form measured 539 (README of
    # services/chaos). A floor below it keeps a slow run from failing on speed alone.
    assert outcome.offered / outcome.traffic_s >= 450, "the run offered far less than usual"
