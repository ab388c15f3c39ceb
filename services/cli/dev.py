"""`switchboard dev` (behind `make run`): the whole stack on one machine, with live progress.

Starts the local Kafka broker and PostgreSQL server (unless the environment points
elsewhere), every component as a child process, and the simulator; prints what runs
where and a progress line every few seconds; Ctrl-C, SIGTERM or SIGHUP stops everything
cleanly, and its components stop with it even when it is killed (SIGKILL).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from services.cli.leftovers import StackRunning, check_and_clear, port_taken, record
from services.cli.progress import progress_line
from services.cli.watch import LagWatcher
from services.infra.kafka_jars import KafkaSetupError
from services.infra.kafka_local import KafkaStartError
from services.infra.local_stack import stack_down, stack_up
from services.infra.postgres_local import PostgresStartError
from services.runtime.kafka_clients import BrokerUnavailable
from services.runtime.parent_death import PARENT_PID
from services.runtime.settings import Settings
from services.runtime.stop_signals import interrupt_on, waiting_while_stopping

STOP_TIMEOUT_S = 30.0


@dataclass(slots=True)
class Child:
    name: str
    proc: subprocess.Popen[bytes]
    log: Path


def _parse(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="switchboard dev", description=__doc__)
    parser.add_argument("--rate", type=float, default=2.0, help="new conversations per second")
    parser.add_argument("--agents", type=int, default=60, help="simulated agents")
    parser.add_argument("--duration", type=float, default=3600.0, help="simulated seconds")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-simulator", action="store_true", help="start the stack only")
    parser.add_argument("--routing", type=Path, default=None,
                        help="routing configuration file (default: built-in defaults)")
    parser.add_argument("--keep-infra", action="store_true",
                        help="leave Kafka and PostgreSQL running on exit")
    parser.add_argument("--every", type=float, default=5.0, help="seconds between progress lines")
    return parser.parse_args(argv)


def _spawn(name: str, argv: list[str], log_dir: Path) -> Child:
    log = log_dir / f"{name}.log"
    out = open(log, "ab")  # noqa: SIM115 - the child owns it for its lifetime
    # Its own session: Ctrl-C reaches only this process, which stops the children in order.
    # SWITCHBOARD_PARENT_PID: the child gets SIGTERM if this process dies, even by SIGKILL.
    proc = subprocess.Popen([sys.executable, "-m", "services.cli.main", *argv], stdout=out,
                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            start_new_session=True, env={**os.environ, "PYTHONUNBUFFERED": "1",
                                                         PARENT_PID: str(os.getpid())})
    return Child(name, proc, log)


def _stop(children: list[Child]) -> None:
    for child in children:
        if child.proc.poll() is None:
            child.proc.send_signal(signal.SIGTERM)
    began = time.monotonic()
    deadline = began + STOP_TIMEOUT_S
    for child in children:
        try:
            child.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.proc.kill()
            child.proc.wait()
        print(f"  stopped {child.name} (exit {child.proc.returncode}, "
              f"{time.monotonic() - began:.1f} s)", flush=True)


def _ready(settings: Settings, registry: Path) -> str | None:
    """Why this stack cannot start now, after stopping an earlier run's leftovers."""
    try:
        for what in check_and_clear(registry):
            print(f"  stopped {what}, left running by an earlier switchboard dev", flush=True)
    except StackRunning as exc:
        return str(exc)
    if port_taken(settings.ingest_host, settings.ingest_port):
        return (f"{settings.ingest_host}:{settings.ingest_port} is taken by another program; "
                "stop it, or set SWITCHBOARD_INGEST_PORT to a free port")
    return None


def main(settings: Settings, argv: Sequence[str]) -> int:
    """Run the stack until Ctrl-C, SIGTERM or SIGHUP, or until a component dies."""
    args = _parse(argv)
    interrupt_on((signal.SIGTERM, signal.SIGHUP))  # stop the stack as Ctrl-C does
    registry = settings.cache_dir / "dev" / "stack.json"
    problem = _ready(settings, registry)
    if problem:
        print(f"switchboard dev: {problem}", file=sys.stderr)
        return 1
    print("starting the infrastructure...", flush=True)
    try:
        status = stack_up(settings)
    except (KafkaSetupError, KafkaStartError, PostgresStartError, BrokerUnavailable) as exc:
        print(f"switchboard dev: {exc}", file=sys.stderr)
        stack_down(settings)  # do not leave half the infrastructure running
        return 1
    except KeyboardInterrupt:
        print("\nstopping...", flush=True)
        stack_down(settings)
        return 0
    log_dir = settings.cache_dir / "dev" / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    url = f"http://{settings.ingest_host}:{settings.ingest_port}"
    plan = [("ingest", ["ingest"]), ("worker", ["worker"]), ("projector", ["projector"]),
            ("router", ["router", "--snapshot", str(settings.cache_dir / "dev" / "router.snapshot"),
                        *(["--config", str(args.routing)] if args.routing else [])])]
    if not args.no_simulator:
        plan.append(("simulate", ["simulate", "--live", "--url", url, "--rate", str(args.rate),
                                  "--agents", str(args.agents), "--duration", str(args.duration),
                                  "--seed", str(args.seed)]))
    children = [_spawn(name, cmd, log_dir) for name, cmd in plan]
    record(registry, {child.name: child.proc.pid for child in children})
    print(f"\n{status.describe()}\ningest    {url:<50} HTTP API, docs at {url}/docs")
    for child in children:
        print(f"{child.name:<9} pid {child.proc.pid:<46} log {child.log}")
    print("\nCtrl-C stops everything.\n", flush=True)
    watcher = LagWatcher(settings)
    interrupted = False
    try:
        previous = watcher.snapshot()
        while True:
            time.sleep(args.every)
            dead = [c for c in children if c.proc.poll() is not None and c.name != "simulate"]
            if dead:
                for child in dead:
                    print(f"{child.name} exited with {child.proc.returncode}; see {child.log}",
                          file=sys.stderr, flush=True)
                return 1
            current = watcher.snapshot()
            print(progress_line(previous, current), flush=True)
            previous = current
    except KeyboardInterrupt:
        interrupted = True
        print("\nstopping...", flush=True)
        return 0
    finally:
        with waiting_while_stopping():
            _stop(children)
            registry.unlink(missing_ok=True)
            watcher.close()
            if not args.keep_infra:
                stack_down(settings)
                print("  stopped Kafka and PostgreSQL" if interrupted
                      else "  stopped infrastructure", flush=True)


