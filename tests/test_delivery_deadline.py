"""The deadline holds whatever a plugin does (issue 15, item 9).

An async plugin that blocks the event loop (``time.sleep`` in ``async def deliver``) used to stall
every route of the run, so another provider's route timed out and the run took as long as the
block; a plugin that swallows cancellation kept the run going until it chose to stop.
"""

from __future__ import annotations

import asyncio
import dataclasses
import threading
import time
from pathlib import Path
from typing import Any

from cavra_notify.plugins import reset_registry
from cavra_notify.provider import DeliveryRequest, Provider, Receipt

from .test_delivery import FAST, ToySettings, by_connector, classes, deliver, hook, receiver, toy, toy_registry

__all__ = ["receiver"]  # the fixture, re-used

BLOCK = 8.0  # how long a misbehaving plugin holds on; every run below must end well before it lets go


async def blocks_the_loop(request: DeliveryRequest) -> Receipt:
    time.sleep(BLOCK)  # a sync call inside async def: blocks whatever loop runs it
    return Receipt(200)


async def swallows_cancellation(request: DeliveryRequest) -> Receipt:
    until = time.monotonic() + BLOCK
    while time.monotonic() < until:
        try:
            await asyncio.sleep(0.05)
        except asyncio.CancelledError:
            continue  # a plugin that refuses to be cancelled
    return Receipt(200)


def test_an_async_plugin_that_blocks_the_loop_costs_only_its_own_routes(tmp_path: Path, receiver: Any) -> None:
    registry = toy_registry(Provider("blocker", ToySettings, blocks_the_loop))
    reset_registry(registry)
    try:
        healthy = receiver()
        options = dataclasses.replace(FAST, retries=0, timeout=1.0, deadline=3.0)
        result, elapsed = deliver(tmp_path, registry, {"blocker": toy("blocker"), "ok": hook(healthy)}, options)
    finally:
        reset_registry(None)

    evidence = by_connector(result)
    assert classes(evidence["blocker"]) == ["timeout"], "the blocked attempt is abandoned at its timeout"
    assert classes(evidence["ok"]) == ["ok"], "another provider's route must not time out"
    assert elapsed < BLOCK / 2, f"the run waited for the blocking plugin ({elapsed:.1f}s)"


def test_a_plugin_that_swallows_cancellation_cannot_run_past_the_deadline(tmp_path: Path, receiver: Any) -> None:
    registry = toy_registry(Provider("swallower", ToySettings, swallows_cancellation))
    reset_registry(registry)
    try:
        healthy = receiver()
        options = dataclasses.replace(FAST, retries=3, timeout=5.0, deadline=1.0)
        result, elapsed = deliver(tmp_path, registry, {"swallower": toy("swallower"), "ok": hook(healthy)}, options)
    finally:
        reset_registry(None)

    evidence = by_connector(result)
    assert classes(evidence["swallower"]) == ["timeout"], "the abandoned attempt is recorded as a timeout"
    assert evidence["swallower"]["failure_class"] == "timeout" and evidence["ok"]["outcome"] == "delivered"
    assert elapsed < BLOCK / 2, f"the run waited for the plugin that ignores cancellation ({elapsed:.1f}s)"


def test_each_async_provider_runs_on_a_loop_of_its_own_thread(tmp_path: Path) -> None:
    seen: dict[str, tuple[int, int]] = {}

    def recorder(name: str) -> Provider:
        async def deliver(request: DeliveryRequest) -> Receipt:
            seen[name] = (threading.get_ident(), id(asyncio.get_running_loop()))
            return Receipt(200)

        return Provider(name, ToySettings, deliver)

    registry = toy_registry(recorder("one"), recorder("two"))
    reset_registry(registry)
    try:
        result, _ = deliver(tmp_path, registry, {"one": toy("one"), "two": toy("two")}, FAST)
    finally:
        reset_registry(None)
    assert result.outcome == "delivered"
    assert seen["one"][0] != seen["two"][0] and seen["one"][1] != seen["two"][1]
    assert threading.get_ident() not in (seen["one"][0], seen["two"][0])


def test_an_async_plugin_raising_systemexit_fails_only_its_route(tmp_path: Path, receiver: Any) -> None:
    async def exits(request: DeliveryRequest) -> Receipt:
        raise SystemExit(3)

    registry = toy_registry(Provider("exits", ToySettings, exits))
    reset_registry(registry)
    try:
        healthy = receiver()
        result, _ = deliver(tmp_path, registry, {"exits": toy("exits"), "ok": hook(healthy)}, FAST)
    finally:
        reset_registry(None)
    evidence = by_connector(result)
    assert classes(evidence["exits"]) == ["plugin_error"] and "SystemExit" in evidence["exits"]["error"]
    assert evidence["ok"]["outcome"] == "delivered" and result.outcome == "partial"
