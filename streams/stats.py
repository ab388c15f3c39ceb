"""Counters the worker reports as progress."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class WorkerStats:
    applied: int = 0
    dead_lettered: int = 0
