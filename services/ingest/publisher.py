"""The producing shell: de-duplicate by event id, produce, wait for the broker's acks.

An event counts as accepted only once the broker acknowledged it (idempotent
producer, acks=all); any Kafka error or a send slower than the timeout is
`KafkaUnavailable`, and the producer is thrown away and recreated on the next
write, so the ingest recovers by itself once the broker is back.

The memory of produced ids is refilled from the log (`recall`) before the first
write and after every failed one, when it may lack ids that did reach the log
(`services.ingest.ids_on_log`): a client retrying a `503` or a request the ingest
died in the middle of, with the same event ids, gets them back as duplicates
instead of a second copy on the log.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaConnectionError, KafkaError

from schemas.codec import encode
from schemas.envelope import Envelope
from schemas.events import EventData
from services.ingest.dedupe import DEFAULT_CAPACITY, RecentIds, split_batch

log = logging.getLogger(__name__)

ProducerFactory = Callable[[], AIOKafkaProducer]
TopicOf = Callable[[str], str]
Recall = Callable[[], Awaitable[Iterable[str]]]
"""The ids already on the log for the recent window (raises if it cannot be read)."""
"""The topic (as named on the cluster) of an event type: `Settings.topic_for_type`."""


class KafkaUnavailable(RuntimeError):
    """The broker did not acknowledge the write; nothing of the request counts as accepted."""


@dataclass(frozen=True, slots=True)
class Published:
    """Ids produced now, and ids already produced before (not produced again)."""

    accepted: tuple[str, ...]
    duplicates: tuple[str, ...]


class Publisher:
    """Produces envelopes to their topics keyed by subject, each id at most once per process.

    The memory of produced ids is bounded (`RecentIds`); downstream reducers also
    de-duplicate by event id, so restarts and several ingest instances stay correct.
    """

    def __init__(self, producer_factory: ProducerFactory, topic_of: TopicOf, *,
                 send_timeout_s: float = 10.0, seen_capacity: int = DEFAULT_CAPACITY,
                 recall: Recall | None = None) -> None:
        self._factory = producer_factory
        self._recall = recall
        self._uncertain = recall is not None
        """Whether ids on the log may be missing from `_seen` (at start, after a failure)."""
        self._recall_lock = asyncio.Lock()
        self._topic_of = topic_of
        self._timeout = send_timeout_s
        self._seen = RecentIds(seen_capacity)
        self._pending: dict[str, asyncio.Future[None]] = {}
        self._producer: AIOKafkaProducer | None = None
        self._start_lock = asyncio.Lock()
        self._closing: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        """Connect now if the broker answers; if not, the first write tries again."""
        try:
            await self._started()
        except KafkaUnavailable as exc:
            log.warning("Kafka not reachable at start-up, will retry on first write: %s", exc)

    async def stop(self) -> None:
        """Flush and close the producer."""
        producer, self._producer = self._producer, None
        if producer is not None:
            await _close(producer, self._timeout)
        if self._closing:
            await asyncio.gather(*self._closing, return_exceptions=True)

    async def ready(self, timeout_s: float = 3.0) -> bool:
        """True when the broker answers a metadata request."""
        try:
            async with asyncio.timeout(timeout_s):
                producer = await self._started()
                return bool(await producer.client.force_metadata_update())
        except (KafkaUnavailable, KafkaError, TimeoutError, OSError):
            return False

    async def publish(self, events: Sequence[Envelope[EventData]]) -> Published:
        """Produce the events not produced before; returns after the broker acked all of them.

        An id in flight in a concurrent request is waited for, then reported as a duplicate.
        """
        if self._uncertain:
            await self._refill()
        split = split_batch(events, self._seen)
        waits = [asyncio.shield(self._pending[e.id]) for e in split.fresh if e.id in self._pending]
        to_send = [e for e in split.fresh if e.id not in self._pending]
        in_flight = tuple(e.id for e in split.fresh if e.id in self._pending)
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        for event in to_send:
            self._pending[event.id] = done
        try:
            await self._send_all(to_send)
        except BaseException as exc:
            done.set_exception(KafkaUnavailable(str(exc) or type(exc).__name__))
            done.exception()  # retrieved here, so an unawaited failure is not logged as lost
            raise
        else:
            self._seen.add_all(e.id for e in to_send)
            done.set_result(None)
        finally:
            for event in to_send:
                self._pending.pop(event.id, None)
        if waits:
            await asyncio.gather(*waits)
        return Published(tuple(e.id for e in to_send), split.duplicates + in_flight)

    async def _send_all(self, events: Sequence[Envelope[EventData]]) -> None:
        if not events:
            return
        producer = await self._started()
        try:
            async with asyncio.timeout(self._timeout):
                acks = []
                for e in events:
                    ack = await producer.send(self._topic_of(e.type), encode(e),
                                              key=e.subject.encode())
                    # The first failure answers the request; the others (the rest of a
                    # discarded producer's records) are expected, not news to log.
                    ack.add_done_callback(_retrieve)
                    acks.append(ack)
                await asyncio.gather(*acks)
        except (KafkaError, TimeoutError, OSError) as exc:
            self._discard(producer)
            self._uncertain = self._recall is not None  # some may have landed all the same
            raise KafkaUnavailable(_describe(exc)) from exc

    async def _refill(self) -> None:
        """Learn the ids the log holds for the recall window, once for all waiting writes;
        KafkaUnavailable (503: the client retries) while the log cannot be read."""
        async with self._recall_lock:
            if not self._uncertain or self._recall is None:
                return
            began = asyncio.get_running_loop().time()
            try:
                ids = list(await self._recall())
            except Exception as exc:  # noqa: BLE001 - whatever stops the read, the answer is 503
                log.warning("recalling event ids from the log failed: %s", _describe(exc))
                raise KafkaUnavailable(
                    f"cannot read which events are already on the log ({_describe(exc)})") from exc
            self._seen.add_all(ids)
            self._uncertain = False
            log.info("recalled %d event ids from the log in %.1f s", len(ids),
                     asyncio.get_running_loop().time() - began)

    async def _started(self) -> AIOKafkaProducer:
        async with self._start_lock:
            if self._producer is not None:
                return self._producer
            producer = self._factory()
            try:
                async with asyncio.timeout(self._timeout):
                    await producer.start()
            except BaseException as exc:  # cancelled too: never leak a half-started producer
                self._track(asyncio.create_task(_close(producer, self._timeout)))
                if isinstance(exc, KafkaError | TimeoutError | OSError):
                    raise KafkaUnavailable(_describe(exc)) from exc
                raise
            self._producer = producer
            return producer

    def _discard(self, producer: AIOKafkaProducer) -> None:
        # aiokafka can stay wedged after a broker outage; a fresh producer recovers.
        if self._producer is producer:
            self._producer = None
            _abort(producer)
            self._track(asyncio.create_task(_close(producer, self._timeout)))

    def _track(self, task: asyncio.Task[None]) -> None:
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)


def _retrieve(ack: asyncio.Future[object]) -> None:
    if not ack.cancelled():
        ack.exception()


def _abort(producer: AIOKafkaProducer) -> None:
    """Fail every record not yet acknowledged and stop sending, at once.

    aiokafka's idempotent producer retries a batch forever and its stop() flushes,
    so a record we answered 503 for would otherwise be written when the broker
    comes back. This reaches into aiokafka 0.14 internals, guarded by getattr.
    """
    accumulator = getattr(producer, "_message_accumulator", None)
    if accumulator is not None:
        accumulator.fail_all(KafkaConnectionError("the producer was discarded after a failure"))
    task = getattr(getattr(producer, "_sender", None), "sender_task", None)
    if task is not None:
        task.cancel()


async def _close(producer: AIOKafkaProducer, timeout_s: float) -> None:
    try:
        async with asyncio.timeout(timeout_s):
            await producer.stop()
    except Exception as exc:  # closing a broken producer may fail in many ways; it is gone anyway
        log.info("closing a failed Kafka producer: %s", _describe(exc))
        _abort(producer)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "timed out waiting for the broker"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
