"""A child of `switchboard dev` that does not outlive it, even when it is killed (SIGKILL).

Linux sends a process a chosen signal when its parent dies (`prctl(PR_SET_PDEATHSIG)`);
a component started by `switchboard dev` asks for SIGTERM, so it stops as it would on
Ctrl-C: committing what it applied. `switchboard dev` names itself in
`SWITCHBOARD_PARENT_PID`; the child checks that parent is still there after asking, since
it may have died in between.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys

PARENT_PID = "SWITCHBOARD_PARENT_PID"
_PR_SET_PDEATHSIG = 1


def follow_parent() -> None:
    """SIGTERM this process when the parent named in SWITCHBOARD_PARENT_PID dies; exit now
    if it already has. Does nothing without that variable, or off Linux."""
    expected = os.environ.get(PARENT_PID)
    if not expected or not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) != 0:
        return  # not fatal: `switchboard dev` still stops its children on every other exit
    if str(os.getppid()) != expected:
        sys.exit(f"switchboard: the process that started this one ({expected}) is gone")
