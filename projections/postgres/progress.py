"""Periodic progress lines (events/s, lag) for long-running consumers."""

from __future__ import annotations

import logging
import time


class Progress:
    """Logs the event rate since the previous report, every `every_s` seconds."""

    def __init__(self, log: logging.Logger, name: str, every_s: float = 5.0) -> None:
        self.log, self.name, self.every_s = log, name, every_s
        self.last_t = time.monotonic()
        self.last_events = 0

    def due(self) -> bool:
        """True when a report is due."""
        return time.monotonic() - self.last_t >= self.every_s

    def report(self, events: int, lag: int | None) -> None:
        """Log the rate since the last report and the current lag."""
        now = time.monotonic()
        rate = (events - self.last_events) / max(now - self.last_t, 1e-9)
        self.log.info("%s: %d events, %.0f events/s, lag %s", self.name, events, rate,
                      "?" if lag is None else lag)
        self.last_t, self.last_events = now, events
