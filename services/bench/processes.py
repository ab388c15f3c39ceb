"""Peak memory of processes and a description of the machine, read from /proc."""

from __future__ import annotations

import os
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


def _status_kb(pid: int, field: str) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field):
                return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError, PermissionError, ValueError):
        return None
    return None


def vm_hwm_kb(pid: int) -> int | None:
    """Peak resident set size (VmHWM) of a live process in KiB, None when gone/unreadable."""
    return _status_kb(pid, "VmHWM:")


def vm_rss_kb(pid: int) -> int | None:
    """Resident set size now (VmRSS) of a live process in KiB, None when gone/unreadable."""
    return _status_kb(pid, "VmRSS:")


def children_of(pid: int) -> list[int]:
    """Direct children of `pid` (e.g. the backends of the PostgreSQL postmaster)."""
    kids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (FileNotFoundError, ProcessLookupError, IndexError, ValueError):
            continue
        if ppid == pid:
            kids.append(int(entry.name))
    return kids


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    mem_kb = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            mem_kb = int(line.split()[1])
    cpu = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    return {"nproc": os.cpu_count(), "memory_mb": mem_kb // 1024, "cpu": cpu,
            "python": sys.version.split()[0], "platform": platform.platform(),
            "load_avg_at_start": os.getloadavg(),
            "timestamp": datetime.now(UTC).isoformat(timespec="seconds")}
