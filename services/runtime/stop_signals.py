"""SIGTERM (and SIGHUP) as Ctrl-C, for processes whose main loop stops on KeyboardInterrupt.

By default SIGTERM ends a Python process on the spot, skipping `finally` blocks, so what
it started keeps running and what it held is not released; `kill`, `timeout`, service
managers and CI all stop programs with it, and a closed terminal sends SIGHUP.
"""

from __future__ import annotations

import signal
from collections.abc import Iterable


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)


def interrupt_on(signals: Iterable[signal.Signals] = (signal.SIGTERM,)) -> None:
    """Raise KeyboardInterrupt in the main thread when one of `signals` arrives."""
    for sig in signals:
        signal.signal(sig, _interrupt)
