"""Eager delivery: a coroutine run to its first suspension outside a task, then finished
by one, behaves as if a task had run it from the start."""

from __future__ import annotations

import asyncio
from typing import cast

import faust
import pytest

from services.runtime.kafka_clients import FETCH_MAX_WAIT_MS, READ_COMMITTED
from streams.eager_delivery import EagerConsumer, EagerTransport, _finish
from tests.unit.scripted_consumer import ScriptedPartition, scripted_consumer, start_fetching, until


async def test_a_coroutine_that_never_waits_finishes_in_its_first_step() -> None:
    async def deliver() -> str:
        return "done"

    coro = deliver()
    with pytest.raises(StopIteration) as finished:
        coro.send(None)
    assert finished.value.value == "done"


async def test_a_suspended_coroutine_is_finished_by_a_task_with_its_result() -> None:
    gate: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    steps: list[str] = []

    async def deliver() -> int:
        steps.append("before")
        value = await gate
        steps.append("after")
        return value + 1

    coro = deliver()
    first = coro.send(None)
    assert first is gate and steps == ["before"]
    task = asyncio.ensure_future(_finish(coro, first))
    await asyncio.sleep(0)
    assert not task.done()
    gate.set_result(41)
    assert await task == 42
    assert steps == ["before", "after"]


async def test_cancelling_the_task_cancels_the_suspended_coroutine() -> None:
    gate: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    cleaned: list[bool] = []

    async def deliver() -> None:
        try:
            await gate
        finally:
            cleaned.append(True)

    coro = deliver()
    task = asyncio.ensure_future(_finish(coro, coro.send(None)))
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert cleaned == [True] and gate.cancelled()


async def test_an_error_after_the_suspension_reaches_the_awaiter() -> None:
    gate: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    async def deliver() -> None:
        await gate
        raise ValueError("bad record")

    coro = deliver()
    task = asyncio.ensure_future(_finish(coro, coro.send(None)))
    gate.set_result(None)
    with pytest.raises(ValueError, match="bad record"):
        await task


async def test_the_installed_faust_delivers_records_without_tasks_on_the_fast_path() -> None:
    log = ScriptedPartition(8)
    consumer, queue, _ = scripted_consumer(EagerConsumer, log)
    await consumer.perform_seek()
    task, stop = start_fetching(consumer)
    log.available = 8
    await until(lambda: queue.qsize() == 8)
    stop.set()
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert consumer.eager_deliveries == 8


async def _nothing(*args: object) -> None:
    return None


async def test_the_worker_consumer_waits_briefly_and_reads_committed_data_only() -> None:
    # Faust hard-codes 1,500 ms; a busy partition then waited behind a fetch of quiet ones.
    app = faust.App("fetch-wait", broker="kafka://127.0.0.1:1")
    consumer = cast(EagerConsumer, EagerTransport(app.conf.broker_consumer, app).create_consumer(
        callback=_nothing, on_partitions_revoked=_nothing, on_partitions_assigned=_nothing))
    client = consumer._thread._create_worker_consumer(consumer.transport)
    try:
        assert client._fetch_max_wait_ms == FETCH_MAX_WAIT_MS < 1500
        # The router's aborted decisions never reach the tables (issue 12 §3).
        assert client._isolation_level == READ_COMMITTED
    finally:
        await client.stop()
