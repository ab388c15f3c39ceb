"""What an earlier `switchboard dev` of this checkout left behind, found and stopped.

`switchboard dev` writes its own pid and its children's to `.cache/dev/stack.json`. A
later one reads it: a `switchboard dev` still running is reported with the command that
stops it (two stacks would fight over ports and consumer groups); components still
running without it (an older version killed with SIGKILL, a crash) are stopped.
"""

from __future__ import annotations

import os
import signal
import socket
from pathlib import Path

import orjson

from services.infra.process_liveness import process_alive, wait_gone

STOP_S = 20.0


class StackRunning(RuntimeError):
    """Another `switchboard dev` of this checkout runs."""


def is_ours(pid: int, *words: str) -> bool:
    """`pid` runs `services.cli.main` (a switchboard command) with `words` in its command."""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    text = [a.decode(errors="replace") for a in argv]
    named = any(a.endswith("switchboard") for a in text) or "services.cli.main" in text
    return named and all(w in text for w in words) and process_alive(pid)


def check_and_clear(registry: Path) -> list[str]:
    """Raise StackRunning when the recorded `switchboard dev` still runs; else stop the
    recorded components still running and say which."""
    try:
        recorded = orjson.loads(registry.read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return []
    dev = int(recorded.get("dev", 0))
    if dev and dev != os.getpid() and is_ours(dev, "dev"):
        raise StackRunning(
            f"a stack of this checkout already runs (switchboard dev, pid {dev}): stop it "
            f"with Ctrl-C in its terminal or `kill {dev}`, then run `make run` again")
    stopped = []
    for name, pid in dict(recorded.get("children", {})).items():
        if is_ours(int(pid), name):
            os.kill(int(pid), signal.SIGTERM)
            if not wait_gone(int(pid), STOP_S):
                os.kill(int(pid), signal.SIGKILL)
            stopped.append(f"{name} (pid {pid})")
    registry.unlink(missing_ok=True)
    return stopped


def record(registry: Path, children: dict[str, int]) -> None:
    """Write this `switchboard dev`'s pid and its children's."""
    registry.parent.mkdir(parents=True, exist_ok=True)
    registry.write_bytes(orjson.dumps({"dev": os.getpid(), "children": children}))


def port_taken(host: str, port: int) -> bool:
    """Something listens on host:port already."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return True
    return False
