"""Property (issue 14 item 4): a dry-run plan and a delivery at the same ``now`` agree route by route.

Random schedules, owner routes, configured connectors, maintenance windows, owner calendars, repeat
intervals and an earlier delivery; then the plan (which consults the notification log) and the
delivery, both at ``now``. Every (owner, provider) pair is exactly one of deliver/suppress/skip, the
counts add up, and the routes the plan says ``deliver`` are exactly the routes delivery sends.
"""

from __future__ import annotations

import contextlib
import json
import tempfile
import types
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, SecretStr

from cavra_notify import hookimpl
from cavra_notify.errors import SettingsError, UnroutableError
from cavra_notify.facade import Cavra, DeliverRequest, DeliveryOptions, PlanRequest
from cavra_notify.plugins import PluginInfo, Registry, reset_registry
from cavra_notify.provider import DeliveryRequest, Provider, Receipt

from .conftest import example

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
OWNERS = ["ops", "dba", "sre"]
PROVIDERS = ["alpha", "beta", "gamma"]


class ToySettings(BaseModel):
    token: SecretStr


def accept(request: DeliveryRequest) -> Receipt:
    return Receipt(status_code=200, details={"route": request.route.route_key})


@pytest.fixture(scope="module", autouse=True)
def toy_registry() -> Iterator[None]:
    @hookimpl
    def cavra_register_providers(register: Callable[[Provider], None]) -> None:
        register(Provider("toy", ToySettings, accept))

    registry = Registry()
    registry.add(types.SimpleNamespace(cavra_register_providers=cavra_register_providers),
                 PluginInfo("toys", "test-toys", "0"))
    reset_registry(registry)
    yield
    reset_registry(None)


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


@st.composite
def worlds(draw: st.DrawFn) -> dict[str, Any]:
    owners = draw(st.lists(st.sampled_from(OWNERS), min_size=1, max_size=3, unique=True))
    providers = draw(st.lists(st.sampled_from(PROVIDERS), min_size=1, max_size=3, unique=True))
    configured = draw(st.lists(st.sampled_from(providers), min_size=1, max_size=3, unique=True))
    narrowing = {owner: {"providers": draw(st.lists(st.sampled_from(PROVIDERS), max_size=3, unique=True))}
                 for owner in owners if draw(st.booleans())}
    window = draw(st.none() | st.fixed_dictionaries({
        "owners": st.lists(st.sampled_from(owners), max_size=1), "providers": st.lists(st.sampled_from(providers),
                                                                                       max_size=1)}))
    away = draw(st.none() | st.sampled_from(owners))
    return {"owners": owners, "providers": providers, "configured": configured, "owner_routes": narrowing,
            "window": window, "away": away, "repeat": draw(st.sampled_from([60, 1440])),
            "earlier": draw(st.none() | st.integers(min_value=1, max_value=3000)),
            "earlier_provider": draw(st.sampled_from(["all", *providers]))}


def write(folder: Path, world: dict[str, Any]) -> Cavra:
    schedule = example("schedule.json")
    schedule.update(owners=world["owners"], notification_providers=world["providers"],
                    owner_routes=world["owner_routes"], next_due_at=iso(NOW + timedelta(days=5)))
    policy: dict[str, Any] = {"repeat_interval_minutes": world["repeat"]}
    if world["window"] is not None:
        policy["maintenance_windows"] = [{"window_id": "w1", "start_at": iso(NOW - timedelta(days=1)),
                                          "end_at": iso(NOW + timedelta(days=1)), "reason": "freeze",
                                          **world["window"]}]
    if world["away"] is not None:
        policy["owner_calendars"] = {world["away"]: {"unavailable_windows": [
            {"start_at": iso(NOW - timedelta(hours=1)), "end_at": iso(NOW + timedelta(hours=1)), "reason": "away"}]}}
    config = {"connectors": {name: {"provider": "toy", "token": "toy-token-0123456789"}
                             for name in world["configured"]}}
    for name, document in (("schedule", schedule), ("history", example("history.json")), ("policy", policy),
                           ("connectors", config)):
        (folder / f"{name}.json").write_text(json.dumps(document))
    return Cavra.from_flags(env={}, mode="promoted", schedule_path=str(folder / "schedule.json"),
                            history_path=str(folder / "history.json"),
                            connector_config_path=str(folder / "connectors.json"),
                            evidence_db=str(folder / "evidence.db"))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(world=worlds())
def test_plan_and_delivery_agree_route_by_route(world: dict[str, Any]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        cavra = write(Path(folder), world)
        policy = str(Path(folder) / "policy.json")
        fast = DeliveryOptions(retries=0, timeout_seconds=5, deadline_seconds=30)
        try:
            if world["earlier"] is not None:
                earlier = NOW - timedelta(minutes=world["earlier"])
                with contextlib.suppress(SettingsError, UnroutableError):  # a selection no route reaches, or
                    cavra.deliver(DeliverRequest(providers=world["earlier_provider"],  # nobody to tell
                                                 routing_policy_path=policy, now=earlier, options=fast))
            plan = cavra.plan(PlanRequest(routing_policy_path=policy, now=NOW))
            if plan.unroutable:
                with pytest.raises(UnroutableError):
                    cavra.deliver(DeliverRequest(routing_policy_path=policy, now=NOW, options=fast))
                assert plan.deliverable == []
                return
            result = cavra.deliver(DeliverRequest(routing_policy_path=policy, now=NOW, options=fast))
        finally:
            cavra.close()

    pairs = [(d.route.owner, d.route.provider) for d in plan.route_decisions]
    assert sorted(pairs) == sorted((o, p) for o in world["owners"] for p in world["providers"]), \
        "every (owner, provider) pair is exactly one decision"
    counts = plan.counts
    assert counts["deliverable_route_count"] + counts["suppressed_route_count"] + counts["skipped_route_count"] \
        == len(pairs)
    assert counts["suppressed_route_count"] == sum(counts[k] for k in (
        "healthy_suppressed_count", "maintenance_suppressed_count", "calendar_suppressed_count",
        "repeat_suppressed_count"))
    planned = sorted(route.route_key for route in plan.deliverable)
    sent = sorted(e.route_key for e in result.evidence)
    assert planned == sent, f"plan says deliver {planned}, delivery sent {sent}"
    assert result.plan.plan_id == plan.plan_id
