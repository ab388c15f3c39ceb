"""Who routes a domain: the member of its consumer group assigned partition 0 of the lease topic.

Kafka's group coordinator does the election: when the active router dies its
session times out and the partition moves to a standby within seconds. The lease
consumer is aiokafka's (the group protocol Faust relies on), on its own thread
and event loop, polling all the time as the protocol requires; it publishes one
flag that the routing loop reads before every batch of decisions. (kafka-python
3.0.12's consumer was seen here to spin at 100% CPU in a second rebalance and
never finish it, leaving the domain without a router.) The flag alone cannot stop a
paused ex-leader (it is cleared only when its consumer next talks to the group):
the broker does, through `services.router.fenced_writer`.
"""

from __future__ import annotations

import asyncio
import logging
import threading

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from kafka.errors import KafkaError

from schemas.topics import ROUTER_LEASE
from services.router.lease_assignor import LeaseAssignor
from services.runtime.settings import Settings

log = logging.getLogger("switchboard.router.lease")

SESSION_TIMEOUT_MS = 6_000
"""The broker's minimum: a dead router is noticed after this long."""
POLL_MS = 200
LEASE_PARTITION = 0
"""The partition of the lease topic whose holder routes the domain."""


def group_of(domain: str) -> str:
    """The consumer group whose members are the routers of `domain` (its logical name:
    `Settings.group` gives the one on the cluster)."""
    return f"switchboard-router.{domain}"


class _Listener(ConsumerRebalanceListener):
    def __init__(self, lease: Lease) -> None:
        self.lease = lease

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        # Before the group moves anything: stop deciding at once.
        self.lease._set(False)

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        if self.lease.partition in assigned:
            # The claim this process makes at the next rebalance (`lease_assignor`): the
            # coordinator holds the generation just joined by now.
            self.lease.assignor.held_in = self.lease.group_generation()
        self.lease._set(self.lease.partition in assigned)


class Lease:
    def __init__(self, settings: Settings, domain: str, client_id: str) -> None:
        self.settings, self.domain, self.client_id = settings, domain, client_id
        self.partition = TopicPartition(settings.topic(ROUTER_LEASE), LEASE_PARTITION)
        self._held = threading.Event()
        self.generation = 0
        """Counts the times this process won the lease: a router fenced while holding it
        (`services.router.fenced_writer`) waits for the next one."""
        self._stop = threading.Event()
        self._started = threading.Event()
        self._failure: BaseException | None = None
        self.assignor = LeaseAssignor.for_process()
        self.consumer: AIOKafkaConsumer | None = None
        self._thread = threading.Thread(target=self._run, name="router-lease", daemon=True)
        self._thread.start()
        self._started.wait(timeout=60)
        if self._failure is not None:
            raise self._failure

    def _set(self, held: bool) -> None:
        if held:
            if not self._held.is_set():
                self.generation += 1
            self._held.set()
        else:
            self._held.clear()

    def _run(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.settings.kafka_bootstrap_servers, client_id=self.client_id,
            group_id=self.settings.group(group_of(self.domain)), enable_auto_commit=False,
            session_timeout_ms=SESSION_TIMEOUT_MS, heartbeat_interval_ms=1_000,
            max_poll_interval_ms=60_000, metadata_max_age_ms=30_000,
            # One assignor only: aiokafka 0.14 sends one JoinGroup per assignor, each with a
            # different protocol list, and the broker rebalances on each ("Updating metadata
            # for member"), so two routers with two assignors each rebalanced in a loop
            # without end (hundreds of generations, neither holding the lease; upstream
            # aio-libs/aiokafka#1168).
            partition_assignment_strategy=(self.assignor,))
        self.consumer = consumer
        consumer.subscribe([self.partition.topic], listener=_Listener(self))
        try:
            await consumer.start()
        except KafkaError as exc:
            self._failure = exc
            self._started.set()
            return
        self._started.set()
        try:
            while not self._stop.is_set():
                try:
                    await consumer.getmany(timeout_ms=POLL_MS)
                except KafkaError as exc:
                    self._set(False)
                    log.warning("lease poll failed (%s); retrying", exc)
                    await asyncio.sleep(1.0)
                    continue
                self._set(self.partition in consumer.assignment())
        finally:
            self._set(False)
            await consumer.stop()  # leaves the group: a standby takes over at once

    def group_generation(self) -> int:
        """The group generation this process last joined (0 before it joined). aiokafka
        keeps it on its private coordinator: read here only."""
        coordinator = getattr(self.consumer, "_coordinator", None)
        return int(getattr(coordinator, "generation", 0) or 0)

    def held(self) -> bool:
        """True while this process is the domain's active router."""
        return self._held.is_set()

    def close(self) -> None:
        """Leave the group at once, so a standby takes over without waiting for the timeout."""
        self._stop.set()
        self._thread.join(timeout=15)
