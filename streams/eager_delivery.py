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
"""

from __future__ import annotations

from collections.abc import Coroutine, Generator
from typing import Any

from faust.transport.drivers import aiokafka as faust_aiokafka
from mode.services import WaitArgT, WaitResults


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


class EagerConsumer(faust_aiokafka.Consumer):
    """The aiokafka consumer of Faust with eager per-record delivery."""

    async def wait_first(self, *coros: WaitArgT, timeout: Any = None) -> WaitResults:
        if timeout is not None or len(coros) != 2 or not self._is_suspend_wait(coros[1]):
            return await super().wait_first(*coros, timeout=timeout)
        delivery, suspended = coros
        if self.suspend_flow.is_set() or not isinstance(delivery, Coroutine):
            return await super().wait_first(*coros)
        try:
            first = delivery.send(None)
        except StopIteration as done:
            suspended.close()  # type: ignore[union-attr]  # never awaited: nothing to wait for
            return WaitResults([delivery], [done.value], False)
        return await super().wait_first(_finish(delivery, first), suspended)

    def _is_suspend_wait(self, coro: WaitArgT) -> bool:
        # The drain loop's call, told apart by its second argument: a fresh
        # `self.suspend_flow.wait()` coroutine (whatever Event class Faust uses).
        frame = getattr(coro, "cr_frame", None)
        return (frame is not None and frame.f_code is type(self.suspend_flow).wait.__code__
                and frame.f_locals.get("self") is self.suspend_flow)


class EagerTransport(faust_aiokafka.Transport):
    """Faust's aiokafka transport with `EagerConsumer`."""

    Consumer = EagerConsumer
