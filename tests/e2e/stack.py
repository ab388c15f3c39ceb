"""The whole stack as real processes (ingest, worker, projector) for end-to-end tests."""

from __future__ import annotations

import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from tests_support import ROOT, child_env, free_port, print_tail, wait_for

from services.runtime.settings import Settings


@dataclass
class Stack:
    url: str
    worker_id: str
    procs: dict[str, subprocess.Popen[bytes]]
    logs: Path

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers={"Authorization": "Bearer dev-key"},
                            timeout=15)


@contextmanager
def running_stack(settings: Settings, database_url: str, logs: Path) -> Iterator[Stack]:
    """Start ingest, worker and projector against the test servers; stop them after."""
    port = free_port()
    worker_id = f"e2e-worker-{uuid.uuid4().hex[:8]}"
    env = child_env(settings, DATABASE_URL=database_url, SWITCHBOARD_INGEST_PORT=str(port),
                    SWITCHBOARD_WORKER_ID=worker_id)
    env.pop("SWITCHBOARD_API_KEYS", None)
    logs.mkdir(parents=True, exist_ok=True)
    procs = {
        name: subprocess.Popen([sys.executable, "-m", "services.cli.main", name], env=env, cwd=ROOT,
                               stdout=open(logs / f"{name}.log", "wb"),  # noqa: SIM115
                               stderr=subprocess.STDOUT)
        for name in ("ingest", "worker", "projector")
    }
    stack = Stack(f"http://127.0.0.1:{port}", worker_id, procs, logs)
    try:
        wait_for(lambda: _ready(stack), "the ingest API to be ready")
        yield stack
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for name, proc in procs.items():
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            print_tail(logs / f"{name}.log")


def _ready(stack: Stack) -> bool | None:
    for name, proc in stack.procs.items():
        if proc.poll() is not None:
            raise AssertionError(f"{name} exited with {proc.returncode}; see {stack.logs}/{name}.log")
    try:
        return True if httpx.get(f"{stack.url}/readyz", timeout=2).status_code == 200 else None
    except httpx.HTTPError:
        return None
