"""The delivery core (SPEC §6) against real plugins and a loopback fake receiver.

Plans come from the real planner (schedule + history files, ``--now``-style fixed times); routes go
through the real webhook plugin (httpx) to :class:`FakeReceiver`, plus tiny in-test providers for
the faults a real service cannot produce (a plugin that raises, a plugin that hangs).
"""

from __future__ import annotations

import asyncio
import dataclasses
import email.utils
import json
import threading
import time
import types
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import cavra_notify_webhook
import pytest
from pydantic import BaseModel, ConfigDict, SecretStr

from cavra_notify import hookimpl, service, settings
from cavra_notify.cli import main
from cavra_notify.delivery import Options, Result, deliver_plan
from cavra_notify.errors import StoreError
from cavra_notify.plugins import PluginInfo, Registry, reset_registry
from cavra_notify.provider import DeliveryFailure, DeliveryRequest, FailureClass, Provider, Receipt
from cavra_notify.store import SQLiteStore, open_store
from cavra_notify.testkit import FakeReceiver, Request, Response, closed_port

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
DUE = datetime(2026, 12, 20, tzinfo=UTC)  # the example schedule is overdue: needs_attention
HEALTHY = datetime(2026, 11, 15, tzinfo=UTC)  # the example schedule is ready: nothing to deliver
OWNER = "release-governance"


# --- helpers ---------------------------------------------------------------------------------

class Script:
    """A receiver handler: answers the scripted responses in order, then 200; records arrival times."""

    def __init__(self, *responses: Response, default: Response | None = None) -> None:
        self.responses = list(responses)
        self.default = default or Response(200, {"ok": True})
        self.times: list[float] = []
        self.lock = threading.Lock()

    def __call__(self, request: Request) -> Response:
        with self.lock:
            self.times.append(time.monotonic())
            return self.responses.pop(0) if self.responses else self.default


@pytest.fixture
def receiver() -> Callable[..., FakeReceiver]:
    started: list[FakeReceiver] = []

    def make(handler: Callable[[Request], Response] | None = None) -> FakeReceiver:
        rx = FakeReceiver(handler).start()
        started.append(rx)
        return rx

    yield make  # type: ignore[misc]
    for rx in started:
        rx.stop()


class ToySettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    token: SecretStr


HANG = threading.Event()


@pytest.fixture(autouse=True)
def _release_hung_threads() -> Iterator[None]:
    HANG.clear()
    yield
    HANG.set()


def raiser(request: DeliveryRequest) -> Receipt:
    raise RuntimeError("the toy SDK blew up")


def hanger(request: DeliveryRequest) -> Receipt:
    HANG.wait()  # a sync deliver that ignores its timeout; released only at test teardown
    return Receipt(200)


async def instant(request: DeliveryRequest) -> Receipt:
    return Receipt(200, details={"toy": request.route.owner})


def toy_registry(*providers: Provider) -> Registry:
    """The real webhook plugin plus in-test providers, through the same Registry.add path."""

    @hookimpl
    def cavra_register_providers(register: Callable[[Provider], None]) -> None:
        for provider in providers:
            register(provider)

    registry = Registry()
    registry.add(cavra_notify_webhook, PluginInfo("webhook", "cavra-notify-webhook", "0.1.0"))
    registry.add(types.SimpleNamespace(cavra_register_providers=cavra_register_providers),
                 PluginInfo("toys", "test-toys", "0"))
    return registry


@pytest.fixture
def registry() -> Iterator[Registry]:
    reg = toy_registry(
        Provider("raiser", ToySettings, raiser),
        Provider("hanger", ToySettings, hanger),
        Provider("instant", ToySettings, instant),
        dataclasses.replace(cavra_notify_webhook.PROVIDER, name="webhook_one", concurrency=1),
        dataclasses.replace(cavra_notify_webhook.PROVIDER, name="webhook_two", concurrency=2),
    )
    reset_registry(reg)
    yield reg
    reset_registry(None)


def hook(rx: FakeReceiver, provider: str = "webhook", path: str = "/hook") -> dict[str, Any]:
    return {"provider": provider, "url": rx.url + path}


def toy(provider: str) -> dict[str, Any]:
    return {"provider": provider, "token": "toy-token-0123456789"}


def write_world(tmp: Path, connectors: dict[str, dict[str, Any]], owners: list[str] | None = None) -> dict[str, str]:
    """Schedule (its providers = the connector names), history and private config files."""
    schedule = json.loads((EXAMPLES / "schedule.json").read_text())
    schedule.update(owners=owners or [OWNER], notification_providers=list(connectors), owner_routes={})
    files = {"schedule": schedule, "history": json.loads((EXAMPLES / "history.json").read_text()),
             "connectors": {"connectors": connectors}}
    for name, document in files.items():
        (tmp / f"{name}.json").write_text(json.dumps(document))
    return {name: str(tmp / f"{name}.json") for name in files}


def plan_and_connectors(tmp: Path, connectors: dict[str, dict[str, Any]], *, owners: list[str] | None = None,
                        now: datetime = DUE) -> tuple[dict[str, Any], dict[str, Any]]:
    files = write_world(tmp, connectors, owners)
    resolved = settings.resolve(mode="promoted", schedule_path=files["schedule"], history_path=files["history"],
                                connector_config_path=files["connectors"], env={})
    ctx = service.context(resolved, now)
    plan = service.notification_plan(ctx, service.schedule_report(ctx), None)
    wanted = [route.provider for route in plan.deliverable]
    return plan, service.connectors_for(ctx, wanted)


def deliver(tmp: Path, registry: Registry, connectors: dict[str, dict[str, Any]], options: Options,
            **kwargs: Any) -> tuple[Result, float]:
    plan, resolved = plan_and_connectors(tmp, connectors, **kwargs)
    started = time.monotonic()
    result = deliver_plan(plan, resolved, registry, options)
    return result, time.monotonic() - started


def by_connector(result: Result) -> dict[str, dict[str, Any]]:
    return {e["connector"]: e for e in result.to_json()["deliveries"]}


def classes(evidence: dict[str, Any]) -> list[str]:
    return [a["class"] for a in evidence["attempts"]]


def toy_world(tmp: Path, provider: Provider, *, owners: list[str] | None = None, observer: Any = None,
              connector: dict[str, Any] | None = None) -> tuple[Registry, dict[str, Any], dict[str, Any]]:
    """A registry with one in-test provider (and a hook observer), and a plan whose routes all go to it."""
    registry = toy_registry(provider)
    if observer is not None:
        registry.add(observer, PluginInfo("observer", "test-observer", "0"))
    reset_registry(registry)
    try:
        plan, connectors = plan_and_connectors(tmp, {"toy": connector or toy(provider.name)}, owners=owners)
    finally:
        reset_registry(None)
    return registry, plan, connectors


FAST = Options(retries=2, timeout=2.0, deadline=20.0, backoff=0.01, max_backoff=0.05)
FAST_IN_FLIGHT = FAST.max_concurrency  # routes that may be under way when a store error arrives


# --- fault tests: class, attempts, outcome, and the other routes still deliver ---------------------

def test_429_retry_after_seconds_waits_at_least_that(tmp_path: Path, registry: Registry, receiver: Any) -> None:
    script = Script(Response(429, {"error": "slow down"}, headers={"Retry-After": "1"}))
    ok, faulty = receiver(), receiver(script)
    result, _ = deliver(tmp_path, registry, {"ok": hook(ok), "faulty": hook(faulty)}, FAST)

    evidence = by_connector(result)
    assert classes(evidence["faulty"]) == ["rate_limited", "ok"]
    assert evidence["faulty"]["attempts"][0]["status_code"] == 429
    assert evidence["faulty"]["attempts"][0]["retry_after"] == 1.0
    assert evidence["faulty"]["outcome"] == "delivered" and evidence["faulty"]["status_code"] == 200
    assert script.times[1] - script.times[0] >= 1.0
    assert evidence["ok"]["outcome"] == "delivered" and len(evidence["ok"]["attempts"]) == 1
    assert result.outcome == "delivered"


def test_429_retry_after_http_date_is_honoured(tmp_path: Path, registry: Registry, receiver: Any) -> None:
    when = email.utils.formatdate(time.time() + 2, usegmt=True)
    script = Script(Response(429, headers={"Retry-After": when}))
    ok, faulty = receiver(), receiver(script)
    result, _ = deliver(tmp_path, registry, {"ok": hook(ok), "faulty": hook(faulty)}, FAST)

    evidence = by_connector(result)
    assert classes(evidence["faulty"]) == ["rate_limited", "ok"]
    waited = evidence["faulty"]["attempts"][0]["retry_after"]
    assert 0.5 < waited <= 2.0  # an HTTP date has whole seconds
    assert script.times[1] - script.times[0] >= waited - 0.05
    assert evidence["ok"]["outcome"] == "delivered"


def test_500_then_200_is_delivered_on_attempt_2(tmp_path: Path, registry: Registry, receiver: Any) -> None:
    ok, faulty = receiver(), receiver(Script(Response(500, {"error": "oops"})))
    result, _ = deliver(tmp_path, registry, {"ok": hook(ok), "faulty": hook(faulty)}, FAST)

    evidence = by_connector(result)
    assert classes(evidence["faulty"]) == ["server_error", "ok"]
    assert [a["status_code"] for a in evidence["faulty"]["attempts"]] == [500, 200]
    assert [a["attempt"] for a in evidence["faulty"]["attempts"]] == [1, 2]
    assert evidence["faulty"]["outcome"] == "delivered" and evidence["faulty"]["failure_class"] is None
    assert evidence["ok"]["outcome"] == "delivered"
    assert result.outcome == "delivered" and result.exit_code == 0


@pytest.mark.parametrize(("status", "failure_class"), [(400, "client_error"), (401, "auth"), (403, "auth")])
def test_client_and_auth_errors_are_not_retried(tmp_path: Path, registry: Registry, receiver: Any, status: int,
                                                failure_class: str) -> None:
    faulty = receiver(Script(default=Response(status, {"error": "no"})))
    ok = receiver()
    result, _ = deliver(tmp_path, registry, {"ok": hook(ok), "faulty": hook(faulty)}, FAST)

    evidence = by_connector(result)
    assert classes(evidence["faulty"]) == [failure_class]
    assert evidence["faulty"]["failure_class"] == failure_class
    assert evidence["faulty"]["status_code"] == status and evidence["faulty"]["outcome"] == "failed"
    assert len(faulty.requests) == 1
    assert evidence["ok"]["outcome"] == "delivered"
    assert result.outcome == "partial" and result.exit_code == 3 and result.http_status == 207


def test_answer_slower_than_the_timeout_is_a_retried_timeout(tmp_path: Path, registry: Registry,
                                                            receiver: Any) -> None:
    faulty = receiver(Script(default=Response(200, delay=1.5)))
    ok = receiver()
    options = dataclasses.replace(FAST, retries=1, timeout=0.4)
    result, elapsed = deliver(tmp_path, registry, {"ok": hook(ok), "faulty": hook(faulty)}, options)

    evidence = by_connector(result)
    assert classes(evidence["faulty"]) == ["timeout", "timeout"]
    assert all(a["duration_ms"] < 1000 for a in evidence["faulty"]["attempts"])
    assert evidence["faulty"]["outcome"] == "failed" and evidence["faulty"]["failure_class"] == "timeout"
    assert elapsed < 1.5
    assert evidence["ok"]["outcome"] == "delivered"
    assert result.outcome == "partial"


def test_connection_refused_is_a_retried_connection_failure(tmp_path: Path, registry: Registry,
                                                           receiver: Any) -> None:
    ok = receiver()
    dead = {"provider": "webhook", "url": f"http://127.0.0.1:{closed_port()}/hook"}
    result, _ = deliver(tmp_path, registry, {"ok": hook(ok), "faulty": dead}, FAST)

    evidence = by_connector(result)
    assert classes(evidence["faulty"]) == ["connection"] * 3
    assert evidence["faulty"]["status_code"] is None and evidence["faulty"]["outcome"] == "failed"
    assert evidence["faulty"]["target"] == evidence["faulty"]["target"].split("/hook")[0]  # scheme + host only
    assert evidence["ok"]["outcome"] == "delivered"


def test_a_plugin_that_raises_is_a_plugin_error_not_retried(tmp_path: Path, registry: Registry,
                                                            receiver: Any) -> None:
    ok = receiver()
    result, _ = deliver(tmp_path, registry, {"ok": hook(ok), "faulty": toy("raiser")}, FAST)

    evidence = by_connector(result)
    assert classes(evidence["faulty"]) == ["plugin_error"]
    assert "RuntimeError" in evidence["faulty"]["error"]
    assert evidence["faulty"]["outcome"] == "failed"
    assert evidence["ok"]["outcome"] == "delivered"
    assert result.outcome == "partial"


def test_a_receipt_with_an_unknown_outcome_is_a_plugin_error(tmp_path: Path) -> None:
    def odd(request: DeliveryRequest) -> Receipt:
        return Receipt(200, outcome="ok")

    registry, plan, connectors = toy_world(tmp_path, Provider("odd", ToySettings, odd))
    result = deliver_plan(plan, connectors, registry, FAST)
    [evidence] = result.to_json()["deliveries"]
    assert classes(evidence) == ["plugin_error"] and result.outcome == "failed"
    assert "not 'delivered' or 'accepted'" in evidence["error"]


def test_a_short_secret_is_scrubbed_from_errors_but_never_corrupts_ids_or_timestamps(tmp_path: Path) -> None:
    token = "2026"  # four characters (the shortest secret scrubbed), and in every timestamp of this run

    def leaky(request: DeliveryRequest) -> Receipt:  # a plugin's own message (raw exception text is never kept)
        raise DeliveryFailure(FailureClass.AUTH, f"token {request.settings.token.get_secret_value()} was refused")

    registry, plan, connectors = toy_world(tmp_path, Provider("leaky", ToySettings, leaky),
                                           connector={"provider": "leaky", "token": token})
    evidence = deliver_plan(plan, connectors, registry, FAST, now=DUE).evidence[0].to_json()
    assert evidence["error"] == "token [REDACTED] was refused"
    assert evidence["started_at"].startswith("2026-12-20T") and evidence["completed_at"].startswith("2026-12-20T")
    assert evidence["attempts"][0]["at"].startswith("2026-12-20T")


def test_a_plugin_that_hangs_forever_times_out_and_the_run_returns_promptly(tmp_path: Path, registry: Registry,
                                                                           receiver: Any) -> None:
    ok = receiver()
    options = dataclasses.replace(FAST, retries=1, timeout=0.3)
    connectors = {"ok": hook(ok), "quick": toy("instant"), "faulty": toy("hanger")}
    result, elapsed = deliver(tmp_path, registry, connectors, options)

    evidence = by_connector(result)
    assert classes(evidence["faulty"]) == ["timeout", "timeout"]
    assert evidence["faulty"]["outcome"] == "failed"
    assert elapsed < 2.0
    assert evidence["ok"]["outcome"] == "delivered" and evidence["quick"]["outcome"] == "delivered"
    assert evidence["quick"]["receipt"] == {"toy": OWNER}
    assert result.outcome == "partial"


def test_the_overall_deadline_stops_retries(tmp_path: Path, registry: Registry, receiver: Any) -> None:
    faulty = receiver(Script(default=Response(503)))
    ok = receiver()
    options = Options(retries=50, timeout=1.0, deadline=1.2, backoff=0.2, max_backoff=0.2)
    result, elapsed = deliver(tmp_path, registry, {"ok": hook(ok), "faulty": hook(faulty)}, options)

    evidence = by_connector(result)
    attempts = evidence["faulty"]["attempts"]
    assert 2 <= len(attempts) < 51 and set(classes(evidence["faulty"])) == {"server_error"}
    assert elapsed < 2.0
    assert evidence["faulty"]["outcome"] == "failed"
    assert evidence["ok"]["outcome"] == "delivered"


def test_a_retry_after_beyond_the_deadline_gives_up_at_once(tmp_path: Path, registry: Registry,
                                                            receiver: Any) -> None:
    faulty = receiver(Script(default=Response(429, headers={"Retry-After": "3600"})))
    ok = receiver()
    options = Options(retries=5, timeout=1.0, deadline=5.0, backoff=0.01)
    result, elapsed = deliver(tmp_path, registry, {"ok": hook(ok), "faulty": hook(faulty)}, options)

    evidence = by_connector(result)
    assert classes(evidence["faulty"]) == ["rate_limited"]
    assert "deadline" in evidence["faulty"]["attempts"][0]["gave_up"]
    assert elapsed < 1.5
    assert evidence["ok"]["outcome"] == "delivered"


def test_attempt_cap_is_retries_plus_one(tmp_path: Path, registry: Registry, receiver: Any) -> None:
    faulty = receiver(Script(default=Response(502)))
    result, _ = deliver(tmp_path, registry, {"faulty": hook(faulty)}, dataclasses.replace(FAST, retries=3))

    assert classes(by_connector(result)["faulty"]) == ["server_error"] * 4
    assert len(faulty.requests) == 4
    assert result.outcome == "failed" and result.exit_code == 4 and result.http_status == 502


def test_evidence_shape_and_idempotency_key(tmp_path: Path, registry: Registry, receiver: Any) -> None:
    rx = receiver()
    plan, connectors = plan_and_connectors(tmp_path, {"webhook": hook(rx)})
    result = deliver_plan(plan, connectors, registry, FAST)

    [evidence] = result.to_json()["deliveries"]
    assert evidence["metadata_kind"] == "release-connector-delivery"
    assert evidence["connector_delivery_source"] == "go_backend_rollback_drill_notification"
    assert evidence["plan_id"] == plan.plan_id and evidence["event_id"] == result.event.event_id
    assert evidence["route_key"] == f"go_backend_python_fallback_monthly:{OWNER}:webhook"
    assert evidence["provider"] == "webhook" and evidence["connector"] == "webhook"
    assert evidence["target"] == rx.url and evidence["receipt"] == {"status": 200}
    assert evidence["started_at"] <= evidence["completed_at"]
    [sent] = rx.requests
    assert sent.header("Idempotency-Key") == evidence["delivery_key"]
    assert sent.json()["route"]["owner"] == OWNER
    again = deliver_plan(plan, connectors, registry, FAST)
    assert again.evidence[0].delivery_key == evidence["delivery_key"]


class CountingStore(SQLiteStore):
    """The real SQLite store, counting its write transactions and checking what the hook sees."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.writes: list[str] = []
        self.stored: set[str] = set()

    def claim_many(self, claims: Any, **kwargs: Any) -> Any:
        self.writes.append(f"claim {len(claims)}")
        return super().claim_many(claims, **kwargs)

    def record_deliveries(self, evidences: Any) -> None:
        self.writes.append(f"record {len(evidences)}")
        super().record_deliveries(evidences)
        self.stored |= {e["evidence_id"] for e in evidences}


def test_claims_and_outcomes_are_written_in_batches_before_the_hook_sees_them(tmp_path: Path) -> None:
    store = CountingStore(tmp_path / "evidence.db")
    seen: list[bool] = []

    class Observer:
        @hookimpl
        def cavra_delivery_recorded(self, evidence: dict[str, Any]) -> None:
            seen.append(evidence["evidence_id"] in store.stored)

    owners = [f"owner-{i:03d}" for i in range(200)]
    registry, plan, connectors = toy_world(tmp_path, Provider("instant", ToySettings, instant), owners=owners,
                                           observer=Observer())
    result = deliver_plan(plan, connectors, registry, FAST, store=store)

    assert result.outcome == "delivered" and len(result.evidence) == 200
    assert store.writes[0] == "claim 200", "every route is claimed, in one transaction, before any is sent"
    recorded = [int(w.split()[1]) for w in store.writes[1:]]
    assert sum(recorded) == 200 and len(recorded) < 200 / 4, store.writes
    assert seen == [True] * 200, "the hook sees each record once, after it is stored"
    assert store.pending_intents() == []
    again = deliver_plan(plan, connectors, registry, FAST, store=open_store(tmp_path / "evidence.db"))
    assert again.outcome == "nothing_to_deliver" and len(again.skipped) == 200


def test_a_slow_route_does_not_hold_back_the_evidence_of_finished_ones(tmp_path: Path) -> None:
    store = CountingStore(tmp_path / "evidence.db")

    async def patient(request: DeliveryRequest) -> Receipt:
        """owner-001 answers only once the other route's evidence is in the store (5 s at most)."""
        for _ in range(100):
            if request.route.owner != "owner-001" or any(w.startswith("record") for w in store.writes):
                return Receipt(200)
            await asyncio.sleep(0.05)
        return Receipt(500)

    registry, plan, connectors = toy_world(tmp_path, Provider("patient", ToySettings, patient),
                                           owners=["owner-000", "owner-001"])
    started = time.monotonic()
    result = deliver_plan(plan, connectors, registry, FAST, store=store)
    assert result.outcome == "delivered", "the finished route was stored (within a second) while the other waited"
    assert store.writes == ["claim 2", "record 1", "record 1"] and time.monotonic() - started < 4


def test_a_store_error_stops_new_sends_and_ends_the_run_with_that_error(tmp_path: Path) -> None:
    failed_groups: list[int] = []

    class FullDisk(SQLiteStore):
        def record_deliveries(self, evidences: Any) -> None:
            failed_groups.append(len(sent))  # how many had been sent when the store failed
            raise StoreError("evidence store evidence.db: database or disk is full")

    seen: list[str] = []
    sent: list[str] = []

    async def counted(request: DeliveryRequest) -> Receipt:
        sent.append(request.route.owner)
        return Receipt(200)

    class Observer:
        @hookimpl
        def cavra_delivery_recorded(self, evidence: dict[str, Any]) -> None:
            seen.append(evidence["evidence_id"])

    owners = [f"owner-{i:03d}" for i in range(600)]
    registry, plan, connectors = toy_world(tmp_path, Provider("counted", ToySettings, counted), owners=owners,
                                           observer=Observer())
    store = FullDisk(tmp_path / "evidence.db")
    with pytest.raises(StoreError, match="disk is full"):
        deliver_plan(plan, connectors, registry, FAST, store=store)
    assert seen == [], "nothing unstored is reported as recorded"
    assert failed_groups[:1] == failed_groups, "nothing more is written after the error (it is not a lock)"
    assert len(sent) <= failed_groups[0] + FAST_IN_FLIGHT < 600, \
        "the first group failed to store: only routes already under way were sent"
    assert len(store.pending_intents()) == 600, "every claim stays, so a later run resends what was not recorded"


# --- concurrency ---------------------------------------------------------------------------

class InFlight:
    """A handler that answers after ``delay`` and tracks the most requests it held at once."""

    def __init__(self, delay: float) -> None:
        self.delay, self.now, self.max, self.lock = delay, 0, 0, threading.Lock()
        self.times: list[float] = []

    def __call__(self, request: Request) -> Response:
        with self.lock:
            self.now += 1
            self.max = max(self.max, self.now)
            self.times.append(time.monotonic())
        time.sleep(self.delay)
        with self.lock:
            self.now -= 1
        return Response(200)


def test_routes_run_concurrently(tmp_path: Path, registry: Registry, receiver: Any) -> None:
    routes, delay = 12, 0.5
    slow = InFlight(delay)
    rx = receiver(slow)
    owners = [f"owner-{i:02d}" for i in range(routes)]
    result, elapsed = deliver(tmp_path, registry, {"webhook": hook(rx)}, FAST, owners=owners)

    assert result.outcome == "delivered" and len(result.evidence) == routes
    assert elapsed < routes * delay / 3
    assert slow.max > 1


def test_the_per_provider_bound_is_respected(tmp_path: Path, registry: Registry, receiver: Any) -> None:
    slow = InFlight(0.2)
    rx = receiver(slow)
    owners = [f"owner-{i:02d}" for i in range(8)]
    result, elapsed = deliver(tmp_path, registry, {"bounded": hook(rx, "webhook_two")}, FAST, owners=owners)

    assert result.outcome == "delivered" and len(rx.requests) == 8
    assert slow.max == 2
    assert elapsed >= 4 * 0.2 - 0.05


def test_a_slow_bounded_provider_does_not_hold_up_the_others(tmp_path: Path, registry: Registry,
                                                             receiver: Any) -> None:
    slow, fast = InFlight(0.5), InFlight(0.0)
    slow_rx, fast_rx = receiver(slow), receiver(fast)
    owners = [f"owner-{i}" for i in range(4)]
    options = dataclasses.replace(FAST, max_concurrency=2)
    started = time.monotonic()
    result, elapsed = deliver(tmp_path, registry, {"slow": hook(slow_rx, "webhook_one"), "fast": hook(fast_rx)},
                              options, owners=owners)

    assert result.outcome == "delivered" and slow.max == 1 and fast.max <= 2
    assert elapsed >= 4 * 0.5 - 0.05
    assert max(fast.times) - started < 1.0, "fast routes waited behind the slow provider's queue"


# --- outcomes and exit codes through the CLI --------------------------------------------------------

def cli(tmp: Path, connectors: dict[str, dict[str, Any]], *extra: str, now: datetime = DUE) -> list[str]:
    files = write_world(tmp, connectors)
    return ["runtime", "go-rollback-drill-notification-deliver", "--mode", "promoted",
            "--rollback-drill-schedule-path", files["schedule"], "--rollback-drill-history-path", files["history"],
            "--connector-config", files["connectors"], "--evidence-db", str(tmp / "evidence.db"),
            "--now", now.isoformat(), "--retries", "1", "--timeout-seconds", "2", *extra]


@pytest.mark.parametrize(("statuses", "outcome", "code"), [
    ((200, 200), "delivered", 0),
    ((200, 400), "partial", 3),
    ((401, 400), "failed", 4),
])
def test_cli_outcomes_and_exit_codes(tmp_path: Path, registry: Registry, receiver: Any,
                                     capsys: pytest.CaptureFixture[str], statuses: tuple[int, int], outcome: str,
                                     code: int) -> None:
    a, b = (receiver(Script(default=Response(s))) for s in statuses)
    assert main(cli(tmp_path, {"a": hook(a), "b": hook(b)}, "--json")) == code

    payload = json.loads(capsys.readouterr().out)
    assert payload["outcome"] == outcome
    assert sorted(e["connector"] for e in payload["deliveries"]) == ["a", "b"]
    assert payload["delivered_count"] == sum(s == 200 for s in statuses)


def test_cli_nothing_to_deliver_is_exit_0(tmp_path: Path, registry: Registry, receiver: Any,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    rx = receiver()
    assert main(cli(tmp_path, {"webhook": hook(rx)}, "--json", now=HEALTHY)) == 0

    payload = json.loads(capsys.readouterr().out)
    assert payload["outcome"] == "nothing_to_deliver" and payload["deliveries"] == []
    assert rx.requests == []


def test_cli_rerun_does_not_notify_twice_and_prints_a_table(tmp_path: Path, registry: Registry, receiver: Any,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    rx = receiver()
    argv = cli(tmp_path, {"webhook": hook(rx)})
    assert main(argv) == 0
    first = capsys.readouterr().out
    assert "delivery delivered: 1 delivered, 0 failed" in first and "ATTEMPTS" in first

    assert main(argv) == 0
    second = capsys.readouterr().out
    assert len(rx.requests) == 1
    assert "delivery nothing_to_deliver" in second


def test_cli_bad_delivery_flags_are_exit_2(tmp_path: Path, registry: Registry, receiver: Any,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    rx = receiver()
    assert main(cli(tmp_path, {"webhook": hook(rx)}, "--timeout-seconds", "0")) == 2
    err = capsys.readouterr().err
    assert err.startswith("cavra: error: ") and "Traceback" not in err
    assert rx.requests == []


def test_a_plugin_raising_systemexit_or_a_broken_target_fails_only_its_route(tmp_path: Path, receiver: Any) -> None:
    def exits(request: DeliveryRequest) -> Receipt:
        raise SystemExit(3)

    def broken_target(settings: Any) -> str:
        raise ValueError("no target")

    reg = toy_registry(Provider("exits", ToySettings, exits),
                       Provider("notarget", ToySettings, instant, target=broken_target))
    reset_registry(reg)
    try:
        ok = receiver()
        result, _ = deliver(tmp_path, reg, {"ok": hook(ok), "exits": toy("exits"), "notarget": toy("notarget")},
                            FAST)
    finally:
        reset_registry(None)

    evidence = by_connector(result)
    assert classes(evidence["exits"]) == ["plugin_error"] and "SystemExit" in evidence["exits"]["error"]
    assert evidence["notarget"]["outcome"] == "delivered" and evidence["notarget"]["target"] is None
    assert evidence["ok"]["outcome"] == "delivered"
    assert result.outcome == "partial"
