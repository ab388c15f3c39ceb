"""The active router's writes, fenced by the broker.

A router that is paused (SIGSTOP, a long GC or VM pause, a frozen container) past its
lease can wake up still believing it routes. Its lease cannot stop it: the flag that
says so is only cleared when its consumer next talks to the group. The broker can.
Every router of a domain writes with one transactional id (the domain's), each
pass's decisions in one transaction; a router that takes the lease first calls
`init_transactions`, which bumps the id's epoch and aborts whatever transaction the
previous holder left open. From then on the broker refuses the old producer's writes
and commits (`ProducerFencedError`), its records already sent stay aborted, and
read-committed consumers (every consumer of the domain topics:
`services.runtime.kafka_clients.READ_COMMITTED`) never see them. The old router sees
`Fenced` and stands by until the group gives it the lease again.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from kafka import KafkaProducer
from kafka.errors import InvalidProducerEpochError, KafkaError, KafkaTimeoutError, ProducerFencedError

from services.router.lease import group_of
from services.runtime.kafka_clients import transactional_producer
from services.runtime.settings import Settings

log = logging.getLogger("switchboard.router.writer")

COMMIT_TIMEOUT_MS = 10_000
"""How long a write waits for its records and its commit before it counts as failed."""
_FENCING = (ProducerFencedError, InvalidProducerEpochError)

Record = tuple[str, bytes, bytes]
"""Topic (on the cluster), key, value."""


class Fenced(Exception):
    """Another router initialised the domain's transactional id: this one must stop writing."""


def transactional_id(settings: Settings, domain: str) -> str:
    """One id per routing domain (the name of its routers' group): whoever initialises it
    last is the only one that writes."""
    return settings.group(group_of(domain))


class FencedWriter:
    def __init__(self, settings: Settings, domain: str, client_id: str) -> None:
        self.settings, self.client_id = settings, client_id
        self.transactional_id = transactional_id(settings, domain)
        self._producer: KafkaProducer | None = None

    @property
    def ready(self) -> bool:
        """Whether `acquire` succeeded and nothing failed since."""
        return self._producer is not None

    def acquire(self) -> None:
        """Take the domain's id: fences the previous writer and ends its open transaction
        (committed or aborted) before returning, so the log's end read after this holds all
        that writer will ever have committed. KafkaError if the broker could not be asked."""
        self.release()
        producer = transactional_producer(self.settings, self.transactional_id, self.client_id)
        try:
            producer.init_transactions()
        except BaseException:
            producer.close(timeout=0)
            raise
        self._producer = producer

    def write(self, records: Sequence[Record]) -> None:
        """All of `records` or none of them, as read-committed consumers see it. Fenced if
        another router took the id; KafkaError if the outcome is not known (the producer is
        dropped: `acquire` again, and write the same records with the same event ids)."""
        producer = self._producer
        if producer is None:
            raise KafkaError("the writer holds no transactional id: acquire it first")
        try:
            producer.begin_transaction()
            futures = [producer.send(topic, key=key, value=value) for topic, key, value in records]
            producer.flush(timeout=COMMIT_TIMEOUT_MS / 1000)
            for future in futures:
                future.get(timeout=0)
            # commit_transaction() waits without a limit: a broker gone for good would
            # hold the router (and its SIGTERM) forever. The same two steps, bounded.
            result = producer._transaction_manager.begin_commit()
            producer._sender.wakeup()
            if not result.wait(timeout_ms=COMMIT_TIMEOUT_MS):
                raise KafkaTimeoutError(f"no commit within {COMMIT_TIMEOUT_MS} ms")
        except KafkaError as exc:
            fenced = isinstance(exc, _FENCING) or isinstance(
                producer._transaction_manager.last_error, _FENCING)
            self.release()
            if fenced:
                raise Fenced(f"{self.transactional_id} was initialised by another router") from exc
            raise

    def release(self) -> None:
        """Drop the producer (an open transaction is aborted by whoever acquires next, or
        by the broker after `TRANSACTION_TIMEOUT_MS`)."""
        producer, self._producer = self._producer, None
        if producer is not None:
            try:
                producer.close(timeout=0)
            except Exception:  # noqa: BLE001 - closing is best effort
                log.debug("closing the transactional producer", exc_info=True)
