"""One route's odd answer never costs the others their evidence (issue 15, item 1).

A plugin receipt holding NaN, bytes or an object used to make the whole batch unencodable: nothing
was recorded for any route, the CLI exited 2 with ``record is not JSON-serialisable``, every claim
stayed ``sending`` and each rerun sent the healthy routes again.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from cavra_notify.cli import main
from cavra_notify.delivery import deliver_plan
from cavra_notify.plugins import reset_registry
from cavra_notify.provider import DeliveryFailure, DeliveryRequest, FailureClass, Provider, Receipt
from cavra_notify.store import open_store

from .test_delivery import FAST, ToySettings, cli, hook, receiver, toy, toy_registry, toy_world

__all__ = ["receiver"]  # the fixture, re-used

ODD_DETAILS: dict[str, Any] = {
    "nan": {"ts": math.nan},
    "inf": {"nested": [1, {"x": -math.inf}]},
    "bytes": {"raw": b"\x00sekrit-bytes"},
    "object": {"obj": object()},
    "circular": {},
    "not-a-mapping": ["a", "list"],
}
ODD_DETAILS["circular"]["self"] = ODD_DETAILS["circular"]


def odd_provider(kind: str) -> Provider:
    async def deliver(request: DeliveryRequest) -> Receipt:
        return Receipt(200, details=ODD_DETAILS[kind])

    return Provider("odd", ToySettings, deliver)


@pytest.mark.parametrize("kind", sorted(ODD_DETAILS))
def test_an_unencodable_receipt_is_that_routes_plugin_error_and_the_others_are_recorded(
        tmp_path: Path, receiver: Any, capsys: pytest.CaptureFixture[str], kind: str) -> None:
    registry = toy_registry(odd_provider(kind))
    reset_registry(registry)
    try:
        healthy = receiver()
        argv = cli(tmp_path, {"ok": hook(healthy), "odd": toy("odd")}, "--json")
        code = main(argv)
        captured = capsys.readouterr()
        assert code == 3, captured.err
        payload = json.loads(captured.out)
        evidence = {e["connector"]: e for e in payload["deliveries"]}
        assert evidence["ok"]["outcome"] == "delivered"
        odd = evidence["odd"]
        assert odd["outcome"] == "failed" and odd["failure_class"] == "plugin_error" and odd["receipt"] == {}
        assert "not a JSON object" in odd["error"]
        assert not any(raw in odd["error"].lower() for raw in ("nan", "inf", "sekrit", "object at", "list"))

        store = open_store(tmp_path / "evidence.db")
        try:
            assert store.pending_intents() == [], "no claim is left in 'sending'"
            assert len(store.history(kind="delivery")) == 2
        finally:
            store.close()
        assert main(argv) in (3, 4)  # the odd route is tried again (it failed); the healthy one is not
        capsys.readouterr()
        assert len(healthy.requests) == 1, "the healthy route was sent again"
    finally:
        reset_registry(None)


def test_a_non_finite_retry_after_or_odd_status_from_a_plugin_never_breaks_the_evidence(tmp_path: Path) -> None:
    calls: list[int] = []

    def odd_failure(request: DeliveryRequest) -> Receipt:
        calls.append(request.attempt)
        raise DeliveryFailure(FailureClass.RATE_LIMITED, "slow down", status_code=math.nan,  # type: ignore[arg-type]
                              retry_after=math.inf)

    registry, plan, connectors = toy_world(tmp_path, Provider("oddfail", ToySettings, odd_failure))
    store = open_store(tmp_path / "evidence.db")
    result = deliver_plan(plan, connectors, registry, FAST, store=store)
    [evidence] = result.to_json()["deliveries"]
    json.dumps(evidence, allow_nan=False)
    assert evidence["failure_class"] == "rate_limited" and evidence["status_code"] is None
    assert all(a["retry_after"] is None and a["status_code"] is None for a in evidence["attempts"])
    assert len(calls) == FAST.retries + 1, "a non-finite Retry-After is ignored, not an endless wait"
    assert store.pending_intents() == []
