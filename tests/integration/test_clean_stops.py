"""`switchboard dev` stops every component on SIGINT, SIGTERM and SIGHUP, each within a
few seconds and with exit 0; killed with SIGKILL, its components do not outlive it, and
the next start is clean; a second stack of the same checkout is refused with the command
that stops the first (issue 12 §2). The servers here are the test session's (external to
`switchboard dev`, which then neither starts nor stops them)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import orjson
import pytest
from tests_support import ROOT, child_env, free_port, wait_for

from services.infra.process_liveness import process_alive
from services.runtime.settings import Settings

pytestmark = pytest.mark.integration
COMPONENTS = {"ingest", "worker", "projector", "router", "simulate"}
STOP_S = 10.0
"""What "within a few seconds" means for one component."""


class Dev:
    def __init__(self, proc: subprocess.Popen[str], url: str, registry: Path, log: Path):
        self.proc, self.url, self.registry, self.log = proc, url, registry, log

    def children(self) -> dict[str, int]:
        return {k: int(v) for k, v in orjson.loads(self.registry.read_bytes())["children"].items()}

    def output(self) -> str:
        return self.log.read_text()


@contextmanager
def dev_stack(settings: Settings, cache: Path, name: str) -> Iterator[Dev]:
    port = free_port()
    env = child_env(settings, SWITCHBOARD_INGEST_PORT=str(port),
                    SWITCHBOARD_CACHE_DIR=str(cache), SWITCHBOARD_WORKER_ID=f"dev-{name}")
    log = cache / f"{name}.out"
    cache.mkdir(parents=True, exist_ok=True)
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "services.cli.main", "dev", "--every", "1", "--rate", "1",
             "--agents", "5"], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
            text=True, start_new_session=True)
    dev = Dev(proc, f"http://127.0.0.1:{port}", cache / "dev" / "stack.json", log)
    try:
        yield dev
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for pid in _recorded(dev):
            if process_alive(pid):
                os.kill(pid, signal.SIGKILL)


def _recorded(dev: Dev) -> list[int]:
    """The children this stack recorded (not another stack's, sharing the registry)."""
    try:
        recorded = orjson.loads(dev.registry.read_bytes())
    except (OSError, ValueError):
        return []
    return [int(p) for p in recorded["children"].values()] if recorded["dev"] == dev.proc.pid \
        else []


def running(dev: Dev) -> bool:
    """Every component started, the ingest answers, and progress lines are coming."""
    assert dev.proc.poll() is None, dev.output()
    try:
        healthy = httpx.get(f"{dev.url}/healthz", timeout=1).status_code == 200
    except httpx.TransportError:
        return False
    return healthy and dev.registry.exists() and dev.output().count("events/s") >= 2


def stop_times(output: str) -> dict[str, tuple[int, float]]:
    return {name: (int(code), float(seconds)) for name, code, seconds in
            re.findall(r"stopped (\w+) \(exit (-?\d+), ([\d.]+) s\)", output)}


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP],
                         ids=lambda s: s.name)
def test_switchboard_dev_stops_every_component_cleanly(
        settings: Settings, tmp_path: Path, sig: signal.Signals) -> None:
    with dev_stack(settings, tmp_path, sig.name.lower()) as dev:
        wait_for(lambda: running(dev), "switchboard dev to run every component", 120)
        children = dev.children()
        assert set(children) == COMPONENTS
        dev.proc.send_signal(sig)
        assert dev.proc.wait(timeout=60) == 0, dev.output()
        stopped = stop_times(dev.output())
        assert set(stopped) == COMPONENTS, dev.output()
        for name, (code, seconds) in stopped.items():
            assert code == 0 and seconds <= STOP_S, (name, code, seconds, dev.output())
        assert not [n for n, pid in children.items() if process_alive(pid)]
        assert not dev.registry.exists()


def test_components_do_not_outlive_a_killed_dev_and_the_next_start_is_clean(
        settings: Settings, tmp_path: Path) -> None:
    with dev_stack(settings, tmp_path, "first") as first:
        wait_for(lambda: running(first), "switchboard dev to run every component", 120)
        with dev_stack(settings, tmp_path, "second") as second:
            assert second.proc.wait(timeout=60) == 1
            assert f"kill {first.proc.pid}" in second.output(), second.output()
        children = first.children()
        first.proc.kill()  # SIGKILL: no chance to stop anything itself
        first.proc.wait()
        wait_for(lambda: not [p for p in children.values() if process_alive(p)],
                 "every component of the killed switchboard dev to stop", 30)
    with dev_stack(settings, tmp_path, "again") as again:
        wait_for(lambda: running(again), "a new switchboard dev to run every component", 120)
        again.proc.send_signal(signal.SIGTERM)
        assert again.proc.wait(timeout=60) == 0, again.output()
