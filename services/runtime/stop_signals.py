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


class StopRequested(KeyboardInterrupt):
    """A stop signal, caught by every `except KeyboardInterrupt`. Not KeyboardInterrupt
    itself: CPython marks an exact KeyboardInterrupt that leaves a string `exec` (which
    is how dataclasses build their methods at import) as unhandled, and a process so
    marked kills itself with SIGINT on exit (status -2) even after catching it."""


_early: list[signal.Signals] = []
"""Stops that arrived while only these handlers were in place."""


def _interrupt(signum: int, frame: object) -> None:
    _early.append(signal.Signals(signum))
    raise StopRequested(signal.Signals(signum).name)


def interrupt_on(signals: Iterable[signal.Signals] = (signal.SIGTERM,)) -> None:
    """Raise StopRequested (a KeyboardInterrupt) in the main thread when one of `signals`
    arrives."""
    for sig in signals:
        signal.signal(sig, _interrupt)


def note_stop(signum: int) -> None:
    """Remember a stop signal that a handler of this process took without acting on it."""
    _early.append(signal.Signals(signum))


def forward_early_stop() -> None:
    """Call once a component's own handlers are in place (Faust's, uvicorn's): a stop that
    arrived before them is signalled again, to them. An interrupt raised where Python only
    reports exceptions (a weakref callback, a `__del__`) is lost otherwise, and the
    component would start and run as if never asked to stop."""
    if _early:
        sig = _early[0]
        _early.clear()
        signal.raise_signal(sig)


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
