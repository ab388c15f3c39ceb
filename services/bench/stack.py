"""The benchmark's own stack: a fresh broker and PostgreSQL, and component subprocesses.

Everything lives under `.cache/bench/` and is wiped at start; `close()` stops what
was started (also after Ctrl-C or an error). A watcher thread reads every process's
peak RSS four times a second (so a process that dies keeps its figure) and, as a
deployment's supervisor would, restarts a long-running component that exits, recording
the exit: the worker exits with 70 on purpose when it must be restarted.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kafka import KafkaAdminClient

from schemas.topics import ALL_TOPICS
from services.bench.processes import children_of, vm_hwm_kb, vm_rss_kb
from services.infra.kafka_local import start_kafka, stop_kafka
from services.infra.postgres_local import database_url, start_postgres, stop_postgres
from services.runtime.kafka_clients import ensure_topics
from services.runtime.settings import PROJECT_ROOT, Settings, from_env
from services.runtime.stop_signals import waiting_while_stopping


@dataclass(frozen=True, slots=True)
class StackPorts:
    kafka: int = 29192
    kafka_controller: int = 29193
    postgres: int = 55440
    ingest: int = 28480


MAX_RESTARTS = 5
"""A supervised component that exits more often than this stays down (and fails the run)."""
WATCH_EVERY_S = 0.25


@dataclass(slots=True)
class Component:
    name: str
    proc: subprocess.Popen[bytes]
    log: Path
    argv: list[str]
    env: dict[str, str]
    nice: int
    supervised: bool
    """Restarted when it exits (a long-running service), not waited for."""
    restarts: int = 0
    exited_at: float | None = None
    """When the watcher first saw it exited (its restart waits `restart_after_s`)."""


@dataclass(slots=True)
class BenchStack:
    """Owns the servers and subprocesses of one benchmark run."""

    root: Path
    ports: StackPorts = field(default_factory=StackPorts)
    peak_rss_kb: dict[str, int] = field(default_factory=dict)
    components: dict[str, Component] = field(default_factory=dict)
    exits: list[dict[str, Any]] = field(default_factory=list)
    """Supervised components that exited, when, in which phase, with their last lines."""
    phase: str = ""
    """The phase running now (set by the caller), for the exits' record."""
    began: float = field(default_factory=time.monotonic)
    max_restarts: int = MAX_RESTARTS
    restart_after_s: float = 0.0
    """How long an exited supervised component stays down before it is started again (a
    pause keeps one whose server is down from being restarted four times a second)."""
    _lock: threading.RLock = field(default_factory=threading.RLock)
    _watching: threading.Event = field(default_factory=threading.Event)
    _watcher: threading.Thread | None = None

    @property
    def kafka_dir(self) -> Path:
        return self.root / "kafka"

    @property
    def postgres_dir(self) -> Path:
        return self.root / "postgres"

    def env(self, **extra: str) -> dict[str, str]:
        """Environment for a component process pointed at this stack."""
        env = dict(os.environ)
        env.update(KAFKA_BOOTSTRAP_SERVERS=f"127.0.0.1:{self.ports.kafka}",
                   DATABASE_URL=database_url(self.ports.postgres),
                   SWITCHBOARD_INGEST_PORT=str(self.ports.ingest),
                   PYTHONPATH=str(PROJECT_ROOT), PYTHONUNBUFFERED="1",
                   # Component scratch data (Faust's datadir) stays inside the bench dir.
                   SWITCHBOARD_CACHE_DIR=str(self.root / "cache"))
        env.pop("SWITCHBOARD_API_KEYS", None)  # the dev key then works
        env.update(extra)
        return env

    def settings(self, **extra: str) -> Settings:
        """The settings a component of this stack reads."""
        return from_env(self.env(**extra))

    def start_servers(self) -> None:
        """Wipe and start the broker and PostgreSQL, then create the topics."""
        self.stop_servers(record=False)
        shutil.rmtree(self.root, ignore_errors=True)
        (self.root / "logs").mkdir(parents=True)
        (self.root / "run").mkdir()
        # Faust's mkdir of its datadir (cache_dir/faust/<id>) does not create parents.
        (self.root / "cache" / "faust").mkdir(parents=True)
        started = time.monotonic()
        start_postgres(self.postgres_dir, self.ports.postgres)
        start_kafka(self.kafka_dir, self.ports.kafka, self.ports.kafka_controller,
                    PROJECT_ROOT / ".cache", quiet=True)
        self.create_topics()
        print(f"bench: Kafka 127.0.0.1:{self.ports.kafka} and PostgreSQL 127.0.0.1:"
              f"{self.ports.postgres} up after {time.monotonic() - started:.1f}s", flush=True)

    def create_topics(self, settings: Settings | None = None, timeout_s: float = 60.0) -> None:
        """Create the domain topics as `settings` name them (default: this stack's)."""
        # ensure_topics can return without error while a just-started KRaft broker did not
        # create anything (seen here: the first producer then waits on missing topics), so
        # check the topics are there and retry.
        settings = settings or self.settings()
        wanted = {settings.topic(spec.name) for spec in ALL_TOPICS}
        deadline = time.monotonic() + timeout_s
        while True:
            ensure_topics(settings)
            admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers)
            try:
                missing = wanted - set(admin.list_topics())
            finally:
                admin.close()
            if not missing:
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"topics {sorted(missing)} still missing after {timeout_s}s")
            print(f"bench: topics {sorted(missing)} not created yet; retrying", flush=True)
            time.sleep(1.0)

    def start(self, name: str, argv: list[str], nice: int = 0, supervised: bool = False,
              **extra_env: str) -> Component:
        """Start `python <argv>` as component `name`, output to `.cache/bench/logs/<name>.log`,
        at CPU priority `nice` (negative: ahead of the others; needs root); `supervised`:
        a long-running service, restarted when it exits."""
        log, env = self.root / "logs" / f"{name}.log", self.env(**extra_env)
        comp = Component(name, self._spawn(argv, env, nice, log), log, argv, env, nice, supervised)
        with self._lock:
            self.components[name] = comp
        if self._watcher is None:
            self._watcher = threading.Thread(target=self._watch, name="bench-watch", daemon=True)
            self._watcher.start()
        return comp

    def _spawn(self, argv: list[str], env: dict[str, str], nice: int,
               log: Path) -> subprocess.Popen[bytes]:
        with open(log, "ab") as out:
            # cwd is a scratch dir: Faust writes its `<app id>-data` folder there.
            return subprocess.Popen([sys.executable, *argv], env=env, cwd=self.root / "run",
                                    stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    preexec_fn=(lambda: os.nice(nice)) if nice else None)

    def _watch(self) -> None:
        while not self._watching.wait(WATCH_EVERY_S):
            with self._lock:
                for comp in list(self.components.values()):
                    self._note_rss(comp)
                    if comp.supervised and comp.proc.poll() is not None:
                        now = time.monotonic()
                        comp.exited_at = comp.exited_at or now
                        if now - comp.exited_at >= self.restart_after_s:
                            self._revive(comp)

    def _revive(self, comp: Component) -> bool:
        """Record the exit of a supervised component and start it again (False when it
        exited too often and stays down)."""
        if comp.restarts >= self.max_restarts:
            return False
        lines = comp.log.read_text(errors="replace").splitlines()
        self.exits.append({"name": comp.name, "code": comp.proc.returncode, "phase": self.phase,
                           "at_s": round(time.monotonic() - self.began, 1),
                           "last_lines": [line[:300] for line in lines[-3:]]})
        print(f"bench: {comp.name} exited with {comp.proc.returncode} during {self.phase}; "
              f"restarted (see {comp.log})", flush=True)
        comp.proc = self._spawn(comp.argv, comp.env, comp.nice, comp.log)
        comp.restarts += 1
        comp.exited_at = None
        return True

    def check_running(self, name: str) -> None:
        """Raise, with the end of its log, if component `name` has exited (and, when
        supervised, could not be restarted)."""
        with self._lock:
            comp = self.components[name]
            code = comp.proc.poll()
            if code is None or (comp.supervised and self._revive(comp)):
                return
        tail = "\n".join(comp.log.read_text(errors="replace").splitlines()[-15:])
        raise RuntimeError(f"{name} exited with {code}; end of {comp.log}:\n{tail}")

    def wait(self, name: str, timeout_s: float) -> int:
        """Wait for a component that ends by itself; return its exit code."""
        with self._lock:
            comp = self.components.pop(name)
        return self._reap(comp, timeout_s)

    def stop(self, name: str) -> None:
        """SIGTERM a component (SIGKILL after 20 s) and record its peak RSS."""
        with self._lock:
            comp = self.components.pop(name, None)
        if comp is None:
            return
        self._note_rss(comp)
        if comp.proc.poll() is None:
            comp.proc.send_signal(signal.SIGTERM)
        self._reap(comp, 20.0)

    def rss_kb(self, name: str) -> int | None:
        """Resident set size now of component `name` (None when it is gone)."""
        with self._lock:
            return vm_rss_kb(self.components[name].proc.pid)

    def _note_rss(self, comp: Component) -> None:
        # VmHWM of the live process, not wait4's ru_maxrss: Linux carries the parent's
        # peak at fork() into the child's ru_maxrss, so every child "had" our size.
        kb = vm_hwm_kb(comp.proc.pid)
        if kb:
            self.peak_rss_kb[comp.name] = max(self.peak_rss_kb.get(comp.name, 0), kb)

    def _reap(self, comp: Component, timeout_s: float) -> int:
        deadline = time.monotonic() + timeout_s
        while True:
            self._note_rss(comp)  # VmHWM only grows: the last read before exit is the peak
            code = comp.proc.poll()
            if code is not None:
                return code
            if time.monotonic() > deadline:
                comp.proc.kill()
                deadline = time.monotonic() + 10
            time.sleep(0.05)

    def record_server_rss(self) -> None:
        """Peak RSS of the broker (java) and PostgreSQL (postmaster, and the largest and the
        sum of its children: shared buffers are counted in each, so the sum overstates)."""
        kafka_pid = _pid_file(self.kafka_dir / "kafka.pid")
        if kafka_pid and (kb := vm_hwm_kb(kafka_pid)):
            self.peak_rss_kb["kafka (java)"] = kb
        pg_pid = _pid_file(self.postgres_dir / "postmaster.pid")
        if pg_pid and (kb := vm_hwm_kb(pg_pid)):
            self.peak_rss_kb["postgres postmaster"] = kb
            kids = [k for k in (vm_hwm_kb(p) for p in children_of(pg_pid)) if k]
            if kids:
                self.peak_rss_kb["postgres largest child"] = max(kids)
                self.peak_rss_kb["postgres all (sum)"] = kb + sum(kids)

    def stop_servers(self, record: bool = True) -> None:
        """Stop the broker and PostgreSQL of this stack (no-op when not running)."""
        if record:
            self.record_server_rss()
        stop_kafka(self.kafka_dir)
        stop_postgres(self.postgres_dir)

    def close(self) -> None:
        """Stop every component, then the servers (a second Ctrl-C waits for it)."""
        with waiting_while_stopping():
            self._watching.set()
            if self._watcher is not None:
                self._watcher.join()
            for name in list(self.components):
                self.stop(name)
            self.stop_servers()


def _pid_file(path: Path) -> int | None:
    try:
        return int(path.read_text().split("\n", 1)[0].strip())
    except (FileNotFoundError, ValueError):
        return None
