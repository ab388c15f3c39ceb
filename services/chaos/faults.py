"""Which fault strikes when (pure): a seeded plan, so a failing run can be repeated."""

from __future__ import annotations

import random
from dataclasses import dataclass
from enum import StrEnum


class Kind(StrEnum):
    KILL_WORKER = "kill -9 worker"
    KILL_PROJECTOR = "kill -9 projector"
    KILL_ROUTER = "kill -9 router"
    KILL_INGEST = "kill -9 ingest"
    RESTART_KAFKA = "restart Kafka"
    RESTART_POSTGRES = "restart PostgreSQL"


KILLS = {Kind.KILL_WORKER: "worker", Kind.KILL_PROJECTOR: "projector",
         Kind.KILL_ROUTER: "router", Kind.KILL_INGEST: "ingest"}
"""The component (name prefix in the stack) each kill strikes."""


@dataclass(frozen=True, slots=True)
class Fault:
    at_s: float
    """Seconds after traffic started."""
    kind: Kind


def plan(seed: int, duration_s: float, every_s: float,
         kinds: tuple[Kind, ...] = tuple(Kind)) -> list[Fault]:
    """Faults at random moments, on average `every_s` apart (each gap between half and
    one and a half of it), none in the first or last `every_s / 2` of the run; the kinds
    dealt from shuffled decks of all of them, so every kind strikes as soon as the run
    is long enough for as many faults as there are kinds."""
    rng = random.Random(seed)
    faults: list[Fault] = []
    deck: list[Kind] = []
    at = every_s / 2
    while True:
        at += rng.uniform(every_s / 2, every_s * 1.5) if faults else rng.uniform(0, every_s / 2)
        if at > duration_s - every_s / 2:
            return faults
        if not deck:
            deck = list(kinds)
            rng.shuffle(deck)
        faults.append(Fault(round(at, 1), deck.pop()))
