"""Phase "routing": the router under the backbone's sustained load, with 500 live agents.

The router runs for a domain of its own queues; live desks (500 agents, customers
arriving as a Poisson stream) answer its offers, straight through Kafka, while the
sustained phase offers its 2,000 events/s through the ingest API. The router folds
all of that traffic. Afterwards the run's log is audited with the router's own
policy: decisions/s, and how long each conversation waited between becoming
routable (queued with an eligible agent free) and the router's decision on the log.
"""

from __future__ import annotations

import time
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from services.bench.stats import summarize_ms
from services.router.audit import audit, merged
from services.router.log_reader import read_prefixed
from services.router.service import load_config
from services.runtime.settings import Settings
from services.simulator.config import QueueSpec
from services.simulator.desks import DeskConfig
from services.simulator.live import KafkaPublisher, run_live

BASELINE_RUN = "benchidle"
"""Desks run alone first (broker and router only): the router's own latency."""
LOADED_RUN = "benchload"
"""Then again under the backbone's sustained load."""
KNEE_RUN = "benchknee"
"""And through the knee's ramp (not audited: the ramp ends past what the stack holds)."""
DOMAIN = "bench"
AGENTS = 500
TICK_MS = 250


def _queues(run: str) -> tuple[QueueSpec, ...]:
    return tuple(QueueSpec(name=f"{run}-{q}", skill=f"{run}-{q}", weight=w)
                 for q, w in (("billing", 0.4), ("tech", 0.35), ("sales", 0.25)))


def write_config(path: Path) -> Path:
    """The bench domain: only the live desks' queues and agents."""
    names = [name for run in (BASELINE_RUN, LOADED_RUN, KNEE_RUN)
             for name in [q.name for q in _queues(run)] + [f"{run}-tier2"]]
    path.write_text(f"""[routing]
tick_ms = {TICK_MS}

[domains.{DOMAIN}]
queues = {names!r}
agent_skills = {names!r}

[queues.default]
offer_timeout_s = 5
decline_exclusion_s = 10
""")
    return path


def desk_config(run: str, duration_s: float, rate: float) -> DeskConfig:
    """500 agents; `rate` conversations/s for `duration_s`, short handling so agents cycle."""
    return DeskConfig(
        seed=11, run=run, rate=rate, conversations=max(1, int(rate * duration_s)), agents=AGENTS,
        queues=_queues(run), escalation_queue=f"{run}-tier2", think_s=(0.1, 1.0),
        handle_s={"voice": 8.0, "chat": 6.0, "messaging": 10.0, "sms": 10.0, "email": 10.0,
                  "social": 10.0},
        patience_s=30.0, break_s=5.0)


def wait_caught_up(log: Path, after: int = 0, timeout_s: float = 300.0) -> float:
    """Wait until the router (writing `log` from byte `after` on) has read the whole log and
    holds the lease; seconds waited."""
    began = time.monotonic()
    while "caught up with the log" not in log.read_bytes()[after:].decode(errors="replace"):
        if time.monotonic() - began > timeout_s:
            raise TimeoutError(f"the router did not catch up within {timeout_s:.0f}s; see {log}")
        time.sleep(0.2)  # polling interval of a deadline wait
    return time.monotonic() - began


async def run_desks(settings: Settings, run: str, duration_s: float,
                    rate: float) -> dict[str, Any]:
    """The live desks for `duration_s`; their stats."""
    return await run_live(desk_config(run, duration_s, rate), settings, KafkaPublisher(settings),
                          settle_s=30.0, progress_interval=10.0)


def measure(settings: Settings, run: str, config_path: Path, desks: dict[str, Any],
            seconds: float) -> dict[str, Any]:
    """Audit the run's log: decisions, routable -> decided latency, invariant violations."""
    print(f"bench: routing: auditing the log of {run}", flush=True)
    # Decisions owed are judged at the moment the log is read up to, not after: the router
    # keeps writing while the log is read, and what it writes then is not in the audit.
    end = datetime.now(UTC)
    config = load_config(config_path, settings.closed_horizon_s)
    report = audit(merged(read_prefixed(settings, f"{run}-")), config, DOMAIN,
                   bound_s=TICK_MS / 1000 + 0.5, end=end)
    latency = summarize_ms(report.delays)
    on_arrival = summarize_ms(report.arrival_delays)
    return {
        "agents": AGENTS, "tick_ms": TICK_MS, "desks": desks, "seconds": seconds,
        "decisions": report.decisions, "decisions_per_s": report.decisions / max(seconds, 1e-9),
        "latency": None if latency is None else asdict(latency),
        "queued_to_decided": None if on_arrival is None else asdict(on_arrival),
        "violations": report.violations()[:20], "violation_count": len(report.violations()),
        "rejected_decisions": dict(report.rejected_decisions),
    }


def main(argv: list[str] | None = None) -> int:
    """`python -m services.bench.routing_phase --duration S --rate R --out FILE`: the live desks
    as their own process, so the load generator's event loop never delays their events."""
    import argparse
    import asyncio

    import orjson

    from services.runtime.settings import from_env

    parser = argparse.ArgumentParser(prog="python -m services.bench.routing_phase")
    parser.add_argument("--run", required=True)
    parser.add_argument("--duration", type=float, required=True)
    parser.add_argument("--rate", type=float, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    stats = asyncio.run(run_desks(from_env(), args.run, args.duration, args.rate))
    args.out.write_bytes(orjson.dumps(stats))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
