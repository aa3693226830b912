"""An event loop per async provider, each in a daemon thread of its own (docs/delivery.md, Dispatch).

A coroutine ``deliver`` runs on its provider's loop, never on the dispatcher's: a plugin that blocks
its loop (``time.sleep`` or a sync client inside ``async def deliver``) delays only its own
provider's routes, and the dispatcher's timeouts and deadline fire on time. A plugin that swallows
cancellation keeps running on its own loop, but the dispatcher stops waiting at the attempt's timeout.

Handing work across threads costs a wake-up of the other thread each time; at a thousand routes a
second that is most of the price. So both directions ring a doorbell only when their queue was
empty: the routes a loop iteration starts reach the provider's loop in one wake-up, and the answers
that finish together come back in one.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Coroutine
from typing import Any

from .provider import DeliveryFailure, FailureClass


class _Call:
    """One coroutine handed to a provider's loop, and the dispatcher's future for its result."""

    __slots__ = ("coroutine", "future", "task", "abandoned")

    def __init__(self, coroutine: Coroutine[Any, Any, Any], future: asyncio.Future[Any]) -> None:
        self.coroutine, self.future = coroutine, future
        self.task: asyncio.Task[Any] | None = None
        self.abandoned = False


async def _guarded(coroutine: Coroutine[Any, Any, Any]) -> Any:
    try:
        return await coroutine
    except (Exception, asyncio.CancelledError, GeneratorExit):  # GeneratorExit: the coroutine is being closed
        raise
    except BaseException as exc:  # SystemExit & co. from a plugin fail its route, not the provider's loop
        raise DeliveryFailure(FailureClass.PLUGIN_ERROR, f"{type(exc).__name__} in deliver") from None


class ProviderLoop:
    """The loop one provider's coroutines run on, fed from the dispatcher's loop."""

    def __init__(self, name: str, home: asyncio.AbstractEventLoop) -> None:
        self.home = home  # the dispatcher's loop: results are settled there
        self.loop = asyncio.new_event_loop()
        self._lock = threading.Lock()
        self._inbox: list[_Call] = []
        self._outbox: list[_Call] = []
        threading.Thread(target=self._serve, name=f"cavra-{name}", daemon=True).start()

    def submit(self, coroutine: Coroutine[Any, Any, Any]) -> asyncio.Future[Any]:
        """Run ``coroutine`` on this provider's loop; cancelling the returned future abandons it there."""
        call = _Call(coroutine, self.home.create_future())
        call.future.add_done_callback(lambda future: self._abandon(call) if future.cancelled() else None)
        with self._lock:
            self._inbox.append(call)
            ring = len(self._inbox) == 1
        if ring:
            self._ring(self.loop, self._start)
        return call.future

    def close(self) -> None:
        """Stop the loop once its current step ends; nobody waits for a loop a plugin blocks."""
        self._ring(self.loop, self.loop.stop)

    @staticmethod
    def _ring(loop: asyncio.AbstractEventLoop, callback: Any, *args: Any) -> None:
        with contextlib.suppress(RuntimeError):  # that loop is closed: nobody waits any more
            loop.call_soon_threadsafe(callback, *args)

    # on the provider's loop

    def _start(self) -> None:
        with self._lock:
            calls, self._inbox = self._inbox, []
        for call in calls:
            if call.abandoned:
                call.coroutine.close()
                continue
            call.task = self.loop.create_task(_guarded(call.coroutine))
            call.task.add_done_callback(lambda _, call=call: self._finished(call))  # type: ignore[misc]

    def _cancel(self, call: _Call) -> None:
        if call.task is not None:
            call.task.cancel()

    def _finished(self, call: _Call) -> None:
        with self._lock:
            self._outbox.append(call)
            ring = len(self._outbox) == 1
        if ring:
            self._ring(self.home, self._settle)

    def _serve(self) -> None:
        loop = self.loop
        asyncio.set_event_loop(loop)
        loop.run_forever()
        pending = asyncio.all_tasks(loop)  # abandoned attempts: cancel them, give them a second
        for task in pending:
            task.cancel()
        if pending:
            loop.run_until_complete(asyncio.wait(pending, timeout=1.0))
        loop.run_until_complete(loop.shutdown_asyncgens())  # closes what plugins keep per loop (connections)
        if not asyncio.all_tasks(loop):
            loop.close()

    # on the dispatcher's loop

    def _abandon(self, call: _Call) -> None:
        call.abandoned = True
        self._ring(self.loop, self._cancel, call)

    def _settle(self) -> None:
        with self._lock:
            calls, self._outbox = self._outbox, []
        for call in calls:
            task, future = call.task, call.future
            if future.done() or task is None:
                continue
            if task.cancelled():
                future.cancel()
            elif task.exception() is not None:
                future.set_exception(task.exception())  # type: ignore[arg-type]
            else:
                future.set_result(task.result())


class ProviderLoops:
    """The provider loops of one run, made on first use and stopped with :meth:`close`."""

    def __init__(self) -> None:
        self._loops: dict[str, ProviderLoop] = {}

    def submit(self, name: str, coroutine: Coroutine[Any, Any, Any]) -> asyncio.Future[Any]:
        loop = self._loops.get(name)
        if loop is None:
            loop = self._loops[name] = ProviderLoop(name, asyncio.get_running_loop())
        return loop.submit(coroutine)

    def close(self) -> None:
        for loop in self._loops.values():
            loop.close()
        self._loops.clear()
