"""Group commit of delivery outcomes: a provider's answer is durable within tens of milliseconds.

The dispatcher hands every finished route's evidence to a :class:`Recorder`. The first record of a
group waits ``window`` seconds (10 ms) for others to join it, then the group is written in one
transaction (evidence and outcome of each route, at most ``batch`` routes) by a worker thread, so
the event loop keeps sending while SQLite commits. Records that finish while a group is being
written form the next group, written as soon as the previous one is stored. The window between a
provider's answer and its durable record is therefore one window plus about two commits
(docs/delivery.md gives the measured figures; ``bench/record_window.py`` measures them).

A write that meets a database lock (another process holds the store's write lock past the store's
own busy timeout) waits and tries again, with a growing pause, until the run's deadline: the outcome
is never dropped for a lock. Any other store error ends the recording: nothing more is written, the
error is raised by :meth:`Recorder.finish`, and the dispatcher starts no new route (claims stay, so
a later run sends the unrecorded routes again with the same delivery keys). The
``cavra_delivery_recorded`` hook sees each record once it is stored (at once when there is no store).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import TYPE_CHECKING, Any

from .errors import StoreError

if TYPE_CHECKING:
    from .plugins import Registry
    from .records import DeliveryEvidence
    from .store import EvidenceStore

WINDOW = 0.01
BATCH = 256
LOCK_PAUSE = (0.05, 1.0)  # the first pause after a lock, and the longest


def _locked(error: StoreError) -> bool:
    return "locked" in str(error)


class Recorder:
    """Stores finished routes' evidence and outcomes by group commit (see the module docstring)."""

    def __init__(self, store: EvidenceStore | None, registry: Registry, *, deadline: float,
                 window: float | None = None, batch: int = BATCH) -> None:
        self.store, self.registry, self.deadline = store, registry, deadline
        self.window, self.batch = WINDOW if window is None else window, batch
        self._pending: list[DeliveryEvidence] = []
        self._writer: asyncio.Task[None] | None = None
        self._error: Exception | None = None
        self._ending = asyncio.Event()  # the run is over: write at once, nothing more will join a group

    def add(self, evidence: DeliveryEvidence) -> None:
        if self.store is None:
            self.registry.delivery_recorded(evidence.to_json())
            return
        self._pending.append(evidence)
        if self._writer is None and self._error is None:
            self._writer = asyncio.get_running_loop().create_task(self._drain())

    @property
    def failed(self) -> bool:
        return self._error is not None

    async def finish(self) -> None:
        """Store what is still waiting (at once: no window at the end); a store error is raised here."""
        self._ending.set()
        while self._writer is not None or (self._pending and self._error is None):
            writer = self._writer or asyncio.get_running_loop().create_task(self._drain())
            self._writer = writer
            await writer
        if self._error is not None:
            raise self._error

    async def _drain(self) -> None:
        try:
            if len(self._pending) < self.batch:  # let the routes answered meanwhile join this group
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._ending.wait(), self.window)
            while self._pending and self._error is None:
                group, self._pending = self._pending[:self.batch], self._pending[self.batch:]
                await self._write([e.to_json() for e in group])
        finally:
            self._writer = None

    async def _write(self, group: list[dict[str, Any]]) -> None:
        assert self.store is not None
        pause = LOCK_PAUSE[0]
        while True:
            try:
                await asyncio.to_thread(self.store.record_deliveries, group)
                break
            except StoreError as exc:
                if not _locked(exc) or time.monotonic() + pause >= self.deadline:
                    self._error = exc
                    return
            except Exception as exc:
                self._error = exc
                return
            await asyncio.sleep(pause)  # locked: wait, then try again (never drop an outcome for a lock)
            pause = min(2 * pause, LOCK_PAUSE[1])
        for evidence in group:
            self.registry.delivery_recorded(evidence)
