"""The one place a `faust.App` is constructed (STYLE.md point 4)."""

from __future__ import annotations

import faust
from faust.types import TransportT

from services.runtime.settings import Settings
from streams.eager_delivery import EagerTransport
from streams.monitor import TotalsMonitor


class WorkerApp(faust.App):
    """Faust's app on the eager-delivery transport (`streams.eager_delivery`)."""

    def _new_transport(self) -> TransportT:
        return EagerTransport(self.conf.broker_consumer, self)


SESSION_TIMEOUT_S = 10.0
"""How long a worker that stopped answering keeps its partitions."""


def create_app(settings: Settings, *, store: str = "memory://") -> faust.App:
    """A Faust app with the settings DESIGN.md §11 recommends for this workload."""
    datadir = settings.worker_data_dir or settings.cache_dir / "faust" / settings.worker_group
    datadir.mkdir(parents=True, exist_ok=True)
    brokers = [f"kafka://{hp}" for hp in settings.kafka_bootstrap_servers.split(",")]
    return WorkerApp(
        settings.worker_group,
        broker=brokers,
        store=store,
        datadir=str(datadir),
        topic_partitions=settings.topic_partitions,
        topic_replication_factor=settings.topic_replication,
        topic_allow_declare=True,
        topic_disable_leader=True,
        consumer_auto_offset_reset="earliest",
        broker_max_poll_records=500,
        table_standby_replicas=0,
        web_enabled=False,
        producer_acks=-1,
        # Batch changelog and change records (10 ms) instead of one request each.
        producer_linger=0.01,
        producer_max_batch_size=512 * 1024,
        stream_wait_empty=False,
        stream_buffer_maxsize=32_768,
        # A worker killed outright keeps its partitions, and the whole group waits for
        # it at the next rebalance, until its session times out: Faust's default is 60 s
        # (the chaos run saw the surviving worker stand still 100 s after a kill -9 and a
        # restart). Heartbeats come from the consumer's own thread, so a busy fold does
        # not miss them.
        broker_session_timeout=SESSION_TIMEOUT_S,
        broker_heartbeat_interval=1.0,
        monitor=TotalsMonitor(),
    )
