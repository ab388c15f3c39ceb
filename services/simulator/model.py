"""The pure traffic model: a seeded discrete-event simulation of a contact center.

`simulate(config)` yields `Envelope`s in simulated-time order; no I/O, no clock.
The same config (seed and start included) always yields the same events, ids
included, so replaying a run against the ingest API is idempotent.
"""

from __future__ import annotations

from collections.abc import Iterator

from schemas.envelope import Envelope
from schemas.events import EventData
from services.simulator import journeys, routing, staff
from services.simulator.config import SimulationConfig
from services.simulator.world import World


def simulate(config: SimulationConfig) -> Iterator[Envelope[EventData]]:
    """Every event of the simulated period, in time order."""
    world = World(config)
    if config.route:
        world.request_dispatch = lambda: routing.request_dispatch(world)
    staff.start_shifts(world)
    journeys.start_arrivals(world)
    while (item := world.next_action()) is not None:
        when, action = item
        if when > config.duration and not config.drain:
            return
        world.now = when
        action()
        if world.outbox:
            batch, world.outbox = world.outbox, []
            yield from batch


def offset_of(config: SimulationConfig, event: Envelope[EventData]) -> float:
    """Simulated seconds from the start of the run to the event."""
    return (event.time - config.start).total_seconds()
