"""Faust's own consumer code over a scripted in-memory partition, to drive its fetch
loop, seeks and commit bookkeeping deterministically (no broker, no clock).

Only the calls that would reach the broker are scripted (fetch, seek, committed and
first offsets); the fetch loop, deliveries, acks and `_new_offset` are the code
under test. A gate holds the delivery of a chosen offset, as a full stream buffer
or a suspended flow control would.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

import faust
from faust.transport.consumer import Consumer
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types import TP

TOPIC = "scripted"
PARTITION = TP(TOPIC, 0)


@dataclass
class Record:
    """What `_to_message` reads of an aiokafka record."""

    topic: str
    partition: int
    offset: int
    key: bytes
    value: bytes
    timestamp: int = 0
    timestamp_type: int = 0
    headers: tuple[Any, ...] = ()
    checksum: None = None
    serialized_key_size: int = 1
    serialized_value_size: int = 1


class ScriptedPartition:
    """One partition's log, fetch position and committed offset. Only the first
    `available` records can be fetched (the test lets more be written)."""

    def __init__(self, size: int, fetch_size: int = 4) -> None:
        self.size, self.fetch_size = size, fetch_size
        self.available = 0
        self.position = 0
        self.committed: int | None = None
        self.fetch_gate: asyncio.Event | None = None
        """While set to an unset event, a fetch waits for it (a fetch in flight)."""
        self.fetches_waiting = 0

    def fetch(self) -> list[Record]:
        end = min(self.available, self.position + self.fetch_size)
        records = [Record(TOPIC, 0, o, b"k", b"v") for o in range(self.position, end)]
        self.position = end
        return records


def scripted_consumer(base: type[Consumer], log: ScriptedPartition,
                      ) -> tuple[Consumer, asyncio.Queue[Any], dict[int, asyncio.Event]]:
    """A consumer of class `base` reading `log`; its deliveries land in the returned
    queue (registered with the app's flow control, like a stream's buffer), and a
    delivery of offset `o` waits while `gates[o]` is unset."""
    app = faust.App("scripted-consumer", broker="kafka://127.0.0.1:1")
    app.topics._acking_topics.add(TOPIC)
    # A stream's buffer: cleared whenever the flow control resumes, as Faust's are.
    queue = cast(asyncio.Queue[Any], app.FlowControlQueue(maxsize=1000, clear_on_resume=True))
    app.flow_control.resume()  # as a started app's is
    gates: dict[int, asyncio.Event] = {}

    async def deliver(message: Any) -> None:
        if (gate := gates.get(message.offset)) is not None:
            await gate.wait()
        await queue.put(message)

    class ScriptedThread:
        """The consumer thread Faust delegates every broker call to, scripted."""

        async def getmany(self, active_partitions: Any, timeout: float) -> Any:
            await asyncio.sleep(0)
            if log.fetch_gate is not None:
                log.fetches_waiting += 1
                await log.fetch_gate.wait()
                log.fetches_waiting -= 1
            if not consumer.flow_active or PARTITION not in (active_partitions or ()):
                return {}
            return {PARTITION: log.fetch()}

        async def seek_to_committed(self) -> Mapping[TP, int | None]:
            if log.committed:  # aiokafka moves only partitions with a commit
                log.position = log.committed
            return {PARTITION: log.committed}

        async def earliest_offsets(self, *partitions: TP) -> Mapping[TP, int]:
            return {tp: 0 for tp in partitions}

        async def seek_wait(self, partitions: Mapping[TP, int]) -> None:
            log.position = partitions[PARTITION]

        def assignment(self) -> set[TP]:
            return {PARTITION}

        def highwater(self, tp: TP) -> int:
            return log.size

    transport = faust_aiokafka.Transport(app.conf.broker_consumer, app)
    consumer = base(transport, callback=deliver, on_partitions_revoked=None,
                    on_partitions_assigned=None)
    consumer._thread = ScriptedThread()
    consumer._commit_every = None  # commits are the test's to make
    consumer._set_active_tps({PARTITION})  # as `on_partitions_assigned` does
    return consumer, queue, gates


class _Fetcher:
    """What `_drain_messages` reads of the Fetcher service: whether it stopped."""

    def __init__(self) -> None:
        self._stopped = asyncio.Event()


def start_fetching(consumer: Consumer) -> tuple[asyncio.Task[None], asyncio.Event]:
    """Run the consumer's fetch loop in a task; set the event to stop it."""
    fetcher = _Fetcher()
    task = asyncio.ensure_future(consumer._drain_messages(cast(Any, fetcher)))
    return task, fetcher._stopped


def process(consumer: Consumer, queue: asyncio.Queue[Any]) -> list[int]:
    """Ack everything the streams hold, as agents folding it would; the offsets."""
    done = []
    while not queue.empty():
        message = queue.get_nowait()
        consumer.ack(message)
        done.append(message.offset)
    return done


def commit(consumer: Consumer, log: ScriptedPartition) -> int | None:
    """What a commit would store now (as Faust computes it), stored."""
    offset = consumer._new_offset(PARTITION)
    if offset is not None and consumer._should_commit(PARTITION, offset):
        consumer._committed_offset[PARTITION] = offset
        log.committed = offset
    return log.committed


async def until(condition: Any, deadline_s: float = 2.0) -> None:
    """Let the event loop run until `condition()` holds (fails past the deadline)."""
    loop = asyncio.get_running_loop()
    end = loop.time() + deadline_s
    while not condition():
        if loop.time() > end:
            raise AssertionError("condition not met before the deadline")
        await asyncio.sleep(0.001)
