"""Is a server process still there? Answers that survive zombies, threads and reused pids."""

from __future__ import annotations

import os
import time
from pathlib import Path


def process_alive(pid: int) -> bool:
    """The process still has a running thread (a fully dead child of ours counts as gone).

    A JVM's main thread can turn zombie while its other threads still serve and
    shut down (seen here after SIGTERM), so the thread count decides, not the state.
    """
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        threads = len(os.listdir(f"/proc/{pid}/task"))
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    if state == "Z" and threads <= 1:
        _reap(pid)
        return False
    return True


def _reap(pid: int) -> None:
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass  # not our child: its parent reaps it


def wait_gone(pid: int, timeout_s: float) -> bool:
    """Poll until `pid` is gone; False if it is still there after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not process_alive(pid):
            return True
        time.sleep(0.1)
    return not process_alive(pid)


def tail_of(path: Path, lines: int = 20) -> str:
    """The last lines of a log file, for error messages."""
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no output)"
