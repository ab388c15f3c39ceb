"""Faust's aiokafka transport, delivering each fetched record without starting tasks
when the delivery does not have to wait.

Faust's consumer hands every record to its streams with
`wait_first(deliver(record), suspend_flow.wait())`, so that a rebalance can abandon
a delivery stuck behind a full stream buffer. That call starts four tasks and waits
on them, for every record: 14% of a draining worker's samples here. Nearly every
delivery completes without waiting, so this consumer runs it eagerly, to its first
suspension, in the fetch loop itself (what Python 3.12's eager tasks do). Only a
delivery that does suspend, or one that starts while the flow is already
suspended, takes Faust's own path, with the same abandonment on rebalance.

The fetch loop is `streams.seek_safe_consumer`'s, which calls `_delivered` for each
record. Its aiokafka consumer waits at most `FETCH_MAX_WAIT_MS` for a fetch instead of
the 1,500 ms Faust hard-codes (why: `services.runtime.kafka_clients`).

Eager delivery played no part in the stall `seek_safe_consumer` fixes: Faust's own
consumer, without it, stalls the same way (tests/unit/test_rebalance_seek.py).
"""

from __future__ import annotations

from collections.abc import Awaitable, Coroutine, Generator
from typing import Any

from faust.transport.drivers import aiokafka as faust_aiokafka

from services.runtime.kafka_clients import FETCH_MAX_WAIT_MS, READ_COMMITTED
from streams.seek_safe_consumer import SeekSafeConsumer


class _Resumed:
    """The rest of a coroutine that already ran to its first suspension on `first`:
    awaiting it hands `first` to the task driving it, then goes on with the coroutine."""

    def __init__(self, coro: Coroutine[Any, Any, Any], first: Any) -> None:
        self._coro, self._first = coro, first

    def __await__(self) -> Generator[Any, Any, Any]:
        pending = self._first
        while True:
            try:
                sent = yield pending
            except GeneratorExit:
                self._coro.close()
                raise
            except BaseException as exc:  # noqa: BLE001 - cancellation goes in, as to any coroutine
                try:
                    pending = self._coro.throw(exc)
                except StopIteration as done:
                    return done.value
            else:
                try:
                    pending = self._coro.send(sent)
                except StopIteration as done:
                    return done.value


async def _finish(coro: Coroutine[Any, Any, Any], first: Any) -> Any:
    return await _Resumed(coro, first)


class _ConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    """Faust's thread of the aiokafka consumer, with a shorter fetch wait, reading
    committed data only."""

    def _create_worker_consumer(self, transport: Any) -> Any:
        consumer = super()._create_worker_consumer(transport)
        # Faust passes fetch_max_wait_ms=1500 with no setting to change it; the consumer
        # reads the attribute when it starts, which is after this.
        consumer._fetch_max_wait_ms = FETCH_MAX_WAIT_MS
        # Faust reads committed data only when it writes transactions itself; the router's
        # aborted decisions must never reach the tables either way.
        consumer._isolation_level = READ_COMMITTED
        return consumer


class EagerConsumer(SeekSafeConsumer):
    """The aiokafka consumer of Faust (with seeks that hold across rebalances,
    `streams.seek_safe_consumer`) and eager per-record delivery."""

    eager_deliveries = 0
    """Deliveries completed without a task (a metric, and what the tests check)."""

    def _new_consumer_thread(self) -> faust_aiokafka.AIOKafkaConsumerThread:
        return _ConsumerThread(self, loop=self.loop, beacon=self.beacon)

    async def _delivered(self, delivery: Awaitable[Any]) -> None:
        if self.suspend_flow.is_set() or not isinstance(delivery, Coroutine):
            return await super()._delivered(delivery)
        try:
            first = delivery.send(None)
        except StopIteration:
            self.eager_deliveries += 1
            return None
        await self.wait_first(_finish(delivery, first), self.suspend_flow.wait())
        return None


class EagerTransport(faust_aiokafka.Transport):
    """Faust's aiokafka transport with `EagerConsumer`."""

    Consumer = EagerConsumer
