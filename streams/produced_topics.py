"""Keep every topic the worker writes in its producer's metadata, so no send can stall.

aiokafka's client refreshes metadata for the topics it tracks, and all topics while it
tracks none. It starts tracking a topic only when a send finds the topic missing from
its cluster map. So at start-up the map knows the changelog topics from an all-topics
refresh without tracking them; the first send to a topic created after that (the
worker's own change topics) starts tracking that one alone, and the next refresh
replaces the map with it. A changelog batch appended in between has lost its leader,
and the sender's refreshes never ask about its topic again: the batch, and the shutdown
flush behind it, wait forever. Seen here on a fresh broker: the first worker folded its
events and published none of their states. Tracking the topics up front closes the gap.
"""

from __future__ import annotations

from collections.abc import Iterable

import faust

from streams.batch_send import producer_of


def track_produced_topics(app: faust.App, names: Iterable[str]) -> None:
    """Add `names` to the producer's tracked metadata topics as the app starts."""
    wanted = tuple(names)

    @app.task
    async def track() -> None:
        producer = producer_of(app)
        for name in wanted:
            producer.client.add_topic(name)
        await producer.client.force_metadata_update()
