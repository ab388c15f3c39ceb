"""A configuration file reloaded when it changes: the router's routing file, the KPI
definitions. A broken edit is reported and the previous version kept, so a typo never
takes a running service down."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Generic, TypeVar

T = TypeVar("T")
log = logging.getLogger("switchboard.config")
CHECK_EVERY_S = 1.0
"""How often the file's modification time is looked at, at most."""


class FileWatch(Generic[T]):
    """`changed()` gives a newly loaded `T` once the file at `path` changed."""

    def __init__(self, path: Path | None, load: Callable[[Path], T], what: str) -> None:
        self.path, self.load, self.what = path, load, what
        self._stamp = self._mtime()
        self._checked = time.monotonic()

    def _mtime(self) -> int | None:
        try:
            return self.path.stat().st_mtime_ns if self.path else None
        except OSError:
            return None

    def changed(self) -> T | None:
        """A new valid version if the file changed since the last look; None otherwise,
        also when the new version is broken (logged; the caller keeps what it has)."""
        if self.path is None or time.monotonic() - self._checked < CHECK_EVERY_S:
            return None
        self._checked = time.monotonic()
        stamp = self._mtime()
        if stamp == self._stamp:
            return None
        self._stamp = stamp
        try:
            loaded = self.load(self.path)
        except (OSError, ValueError) as exc:
            log.error("%s %s not reloaded, keeping the previous one: %s", self.what, self.path,
                      exc)
            return None
        log.info("%s %s reloaded", self.what, self.path)
        return loaded
