"""One local Apache Kafka 3.9 broker+controller (KRaft) on 127.0.0.1, run from cached jars.

The broker runs detached (own session) so it outlives the command that started
it; its pid file, config, data and logs all live in one instance directory.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from kafka import KafkaAdminClient
from kafka.errors import KafkaError

from services.infra.kafka_jars import (
    KafkaSetupError,
    ensure_kafka_jars,
    java_executable,
)
from services.infra.process_liveness import process_alive, tail_of, wait_gone

__all__ = ["KafkaSetupError", "KafkaStartError", "LocalKafka", "default_instance_dir",
           "ensure_kafka_jars", "kafka_running", "kill_kafka", "server_properties",
           "start_kafka", "stop_kafka"]

LOG4J = Path(__file__).with_name("log4j.properties")
_PID = "kafka.pid"
_OUT = "kafka.out"


class KafkaStartError(RuntimeError):
    """The broker did not come up; the message points at its log."""


def default_instance_dir(cache_dir: Path, port: int) -> Path:
    """Where the broker listening on `port` keeps its config, data and logs."""
    return cache_dir / "kafka" / f"instance-{port}"


def server_properties(instance_dir: Path, port: int, controller_port: int) -> str:
    """The `server.properties` of a single-node KRaft broker+controller on loopback."""
    return "\n".join([
        "process.roles=broker,controller",
        "node.id=1",
        f"controller.quorum.voters=1@127.0.0.1:{controller_port}",
        f"listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}",
        f"advertised.listeners=PLAINTEXT://127.0.0.1:{port}",
        "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "controller.listener.names=CONTROLLER",
        "inter.broker.listener.name=PLAINTEXT",
        f"log.dirs={instance_dir / 'data'}",
        # Topics are created explicitly with declared partition counts (DESIGN.md §11).
        "auto.create.topics.enable=false",
        "num.partitions=6",
        "offsets.topic.replication.factor=1",
        "transaction.state.log.replication.factor=1",
        "transaction.state.log.min.isr=1",
        # A router stopped mid-transaction with no standby to fence it holds read-committed
        # consumers back until its transaction times out: look for those every second
        # (default 10 s).
        "transaction.abort.timed.out.transaction.cleanup.interval.ms=1000",
        "group.initial.rebalance.delay.ms=0",
        "",
    ])


def kafka_running(instance_dir: Path) -> bool:
    """True when the broker recorded in the instance's pid file is alive."""
    pid = _read_pid(instance_dir)
    return pid is not None and _is_broker(pid)


def start_kafka(instance_dir: Path, port: int, controller_port: int, cache_dir: Path,
                timeout_s: float = 60.0, quiet: bool = False) -> str:
    """Start the broker (idempotent), wait until it answers metadata; return bootstrap servers."""
    instance_dir = instance_dir.resolve()
    bootstrap = f"127.0.0.1:{port}"
    if kafka_running(instance_dir):
        _wait_for_metadata(instance_dir, bootstrap, timeout_s, quiet=True)
        return bootstrap
    _check_ports_free(port, controller_port)
    libs = ensure_kafka_jars(cache_dir, quiet=quiet)
    java = java_executable()
    instance_dir.mkdir(parents=True, exist_ok=True)
    config = instance_dir / "server.properties"
    config.write_text(server_properties(instance_dir, port, controller_port))
    classpath = f"{libs}/*"
    _format_storage(java, classpath, instance_dir, config)
    (instance_dir / "logs").mkdir(exist_ok=True)
    with open(instance_dir / _OUT, "ab") as out:
        proc = subprocess.Popen(
            [java, "-Xms512m", "-Xmx1g", "-XX:+UseG1GC", "-Djava.awt.headless=true",
             f"-Dlog4j.configuration=file:{LOG4J}",
             f"-Dkafka.logs.dir={instance_dir / 'logs'}",
             "-cp", classpath, "kafka.Kafka", str(config)],
            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            cwd=instance_dir, start_new_session=True)
    (instance_dir / _PID).write_text(f"{proc.pid}\n")
    if not quiet:
        print(f"starting Kafka {bootstrap} (pid {proc.pid}, logs in {instance_dir / 'logs'})",
              flush=True)
    _wait_for_metadata(instance_dir, bootstrap, timeout_s, quiet=quiet)
    return bootstrap


def stop_kafka(instance_dir: Path, timeout_s: float = 20.0) -> None:
    """Stop the broker cleanly (SIGTERM), killing it if it has not exited in `timeout_s`."""
    instance_dir = instance_dir.resolve()
    pid = _read_pid(instance_dir)
    if pid is not None and _is_broker(pid):
        os.kill(pid, signal.SIGTERM)
        if not wait_gone(pid, timeout_s):
            os.kill(pid, signal.SIGKILL)
            wait_gone(pid, 10.0)
    (instance_dir / _PID).unlink(missing_ok=True)


def kill_kafka(instance_dir: Path) -> None:
    """SIGKILL the broker, as a crash would (for failure tests)."""
    instance_dir = instance_dir.resolve()
    pid = _read_pid(instance_dir)
    if pid is not None and _is_broker(pid):
        os.kill(pid, signal.SIGKILL)
        wait_gone(pid, 10.0)
    (instance_dir / _PID).unlink(missing_ok=True)


@dataclass(frozen=True, slots=True)
class LocalKafka:
    """A handle on one local broker: start/stop/kill it, e.g. to test recovery."""

    instance_dir: Path
    port: int
    controller_port: int
    cache_dir: Path

    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self, timeout_s: float = 60.0) -> str:
        """Start (or find running) the broker; returns the bootstrap servers."""
        return start_kafka(self.instance_dir, self.port, self.controller_port, self.cache_dir,
                           timeout_s=timeout_s, quiet=True)

    def stop(self) -> None:
        """Clean shutdown."""
        stop_kafka(self.instance_dir)

    def kill(self) -> None:
        """Crash (SIGKILL)."""
        kill_kafka(self.instance_dir)

    def running(self) -> bool:
        """True when the broker process is alive (not necessarily ready)."""
        return kafka_running(self.instance_dir)


def _check_ports_free(*ports: int) -> None:
    """Refuse to start when another process holds a port: it would answer in our place."""
    for port in ports:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.settimeout(1.0)
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                raise KafkaStartError(
                    f"port 127.0.0.1:{port} is already in use by another process; stop it, "
                    "choose other ports (SWITCHBOARD_KAFKA_PORT uses it and it + 1), or set "
                    "KAFKA_BOOTSTRAP_SERVERS to use an existing cluster")


def _format_storage(java: str, classpath: str, instance_dir: Path, config: Path) -> None:
    if (instance_dir / "data" / "meta.properties").exists():
        return
    tool = [java, "-Xmx256m", f"-Dlog4j.configuration=file:{LOG4J}",
            f"-Dkafka.logs.dir={instance_dir / 'logs'}", "-cp", classpath,
            "kafka.tools.StorageTool"]
    cluster_id = _check_output(tool + ["random-uuid"]).strip().splitlines()[-1]
    _check_output(tool + ["format", "-t", cluster_id, "-c", str(config)])


def _check_output(argv: list[str]) -> str:
    result = subprocess.run(argv, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise KafkaStartError(f"{' '.join(argv[-4:])} failed: {result.stdout}{result.stderr}")
    return result.stdout


def _wait_for_metadata(instance_dir: Path, bootstrap: str, timeout_s: float, quiet: bool) -> None:
    started = time.monotonic()
    next_note = started + 10
    pid = _read_pid(instance_dir)
    while True:
        # Liveness of the pid alone: the cmdline check of kafka_running can race an exec.
        if pid is None or not process_alive(pid):
            raise KafkaStartError(f"the Kafka broker exited during start-up; see "
                                  f"{instance_dir / _OUT} and {instance_dir / 'logs/server.log'}:\n"
                                  f"{tail_of(instance_dir / _OUT)}")
        if _answers_metadata(bootstrap):
            if not quiet:
                print(f"Kafka ready on {bootstrap} after {time.monotonic() - started:.1f}s",
                      flush=True)
            return
        now = time.monotonic()
        if now - started > timeout_s:
            raise KafkaStartError(f"Kafka on {bootstrap} did not answer metadata requests within "
                                  f"{timeout_s:.0f}s; see {instance_dir / 'logs/server.log'}")
        if not quiet and now > next_note:
            print(f"  still waiting for Kafka on {bootstrap} ({now - started:.0f}s)...", flush=True)
            next_note = now + 10
        time.sleep(0.3)


def _answers_metadata(bootstrap: str) -> bool:
    host, port = bootstrap.rsplit(":", 1)
    # A plain TCP probe first: kafka-python's bootstrap backs off up to 30 s per
    # attempt against a closed port, which would make us notice readiness late.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(1.0)
        if probe.connect_ex((host, int(port))) != 0:
            return False
    try:
        admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="switchboard-infra",
                                 request_timeout_ms=5000, bootstrap_timeout_ms=5000,
                                 reconnect_backoff_max_ms=500)
    except (KafkaError, OSError):
        return False
    try:
        admin.list_topics()
        return True
    except (KafkaError, OSError):
        return False
    finally:
        admin.close()


def _read_pid(instance_dir: Path) -> int | None:
    try:
        return int((instance_dir / _PID).read_text().strip())
    except (FileNotFoundError, ValueError):
        return None


def _is_broker(pid: int) -> bool:
    """Alive and really our broker: a stale pid file may name a reused pid."""
    if not process_alive(pid):
        return False
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (FileNotFoundError, ProcessLookupError):
        return False
    # Empty for an instant while the process is mid-exec (the java launcher may re-exec).
    return not cmdline or b"kafka.Kafka" in cmdline
