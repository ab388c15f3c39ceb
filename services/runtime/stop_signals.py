"""SIGTERM (and SIGHUP) as Ctrl-C, for processes whose main loop stops on KeyboardInterrupt.

By default SIGTERM ends a Python process on the spot, skipping `finally` blocks, so what
it started keeps running and what it held is not released; `kill`, `timeout`, service
managers and CI all stop programs with it, and a closed terminal sends SIGHUP.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)


def interrupt_on(signals: Iterable[signal.Signals] = (signal.SIGTERM,)) -> None:
    """Raise KeyboardInterrupt in the main thread when one of `signals` arrives."""
    for sig in signals:
        signal.signal(sig, _interrupt)


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def _stopping(signum: int, frame: object) -> None:
    print(f"\n{signal.Signals(signum).name}: already stopping, please wait", flush=True)


@contextmanager
def waiting_while_stopping() -> Iterator[None]:
    """Inside, a stop signal only says to wait: a second Ctrl-C (or a `timeout` that
    forwards one) must not cut short the stop that is ending what this process started.
    The handlers before are back afterwards. Outside the main thread, where handlers
    cannot be set, nothing changes."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    before = {sig: signal.signal(sig, _stopping) for sig in STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, handler in before.items():
            signal.signal(sig, handler)
