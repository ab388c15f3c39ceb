"""Who routes a domain: the member of its consumer group assigned partition 0 of the lease topic.

Kafka's group coordinator does the election: when the active router dies its
session times out and the partition moves to a standby within seconds. The group
protocol needs a consumer that polls with some patience (a join waits for every
member), so the lease consumer runs on its own thread and publishes one flag that
the routing loop reads before every batch of decisions.
"""

from __future__ import annotations

import logging
import threading

from kafka import ConsumerRebalanceListener, KafkaConsumer, TopicPartition
from kafka.errors import KafkaError

from schemas.topics import ROUTER_LEASE
from services.runtime.settings import Settings

log = logging.getLogger("switchboard.router.lease")

SESSION_TIMEOUT_MS = 6_000
"""The broker's minimum: a dead router is noticed after this long."""
POLL_MS = 200


def group_of(domain: str) -> str:
    """The consumer group whose members are the routers of `domain`."""
    return f"switchboard-router.{domain}"


class _Listener(ConsumerRebalanceListener):
    def __init__(self, lease: Lease) -> None:
        self.lease = lease

    def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        self.lease._set(False)

    def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        self.lease._set(TopicPartition(ROUTER_LEASE, 0) in assigned)


class Lease:
    def __init__(self, settings: Settings, domain: str, client_id: str) -> None:
        self._held = threading.Event()
        self._stop = threading.Event()
        self.consumer = KafkaConsumer(
            bootstrap_servers=settings.kafka_bootstrap_servers, client_id=client_id,
            group_id=group_of(domain), enable_auto_commit=False,
            session_timeout_ms=SESSION_TIMEOUT_MS, heartbeat_interval_ms=1_000,
            max_poll_interval_ms=60_000, metadata_max_age_ms=30_000,
        )
        # Metadata first: a member that joins before it knows the topic's partitions is
        # assigned nothing, and would only notice at the next metadata refresh.
        if not self.consumer.partitions_for_topic(ROUTER_LEASE):
            self.consumer.close()
            raise RuntimeError(f"topic {ROUTER_LEASE} does not exist; run `switchboard topics` first")
        self.consumer.subscribe([ROUTER_LEASE], listener=_Listener(self))
        self._thread = threading.Thread(target=self._run, name="router-lease", daemon=True)
        self._thread.start()

    def _set(self, held: bool) -> None:
        if held:
            self._held.set()
        else:
            self._held.clear()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.consumer.poll(timeout_ms=POLL_MS)
            except KafkaError as exc:
                # The broker is unreachable or the group is rebalancing: not the leader
                # until the group says so again.
                self._set(False)
                log.warning("lease poll failed (%s); retrying", exc)
                self._stop.wait(1.0)
        self.consumer.close()

    def held(self) -> bool:
        """True while this process is the domain's active router."""
        return self._held.is_set()

    def close(self) -> None:
        """Leave the group at once, so a standby takes over without waiting for the timeout."""
        self._stop.set()
        self._thread.join(timeout=10)
