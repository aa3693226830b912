"""The HTTP API, driven through FastAPI's TestClient against the real core, store and webhook plugin."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi")
fake = pytest.importorskip("cavra_notify_webhook.fake")

from fastapi.testclient import TestClient  # noqa: E402

from cavra_notify.api import create_app  # noqa: E402
from cavra_notify.api.security import is_loopback  # noqa: E402
from cavra_notify.cli import main  # noqa: E402
from cavra_notify.errors import SettingsError  # noqa: E402
from cavra_notify.testkit import Response, assert_no_secret_leak  # noqa: E402

from .conftest import NOW, NOW_ISO, ROOT  # noqa: E402

N = "/runtime/go-pilot/rollback-drill-notifications"
SCHEDULE_ID = "go_backend_python_fallback_monthly"


def canary(prefix: str) -> str:
    return prefix + "canary" + uuid.uuid4().hex


class Deployment:
    """Files of one server: schedule, history, connector config, evidence store; and the canaries."""

    def __init__(self, tmp_path: Path, receivers: tuple[Any, Any], evidence_db: str) -> None:
        self.tmp, self.evidence_db = tmp_path, evidence_db
        self.token = canary("api-")
        self.signing = canary("sig-")
        self.url_secret = canary("")
        self.receivers = receivers
        receivers[0].signing_secret = self.signing
        self.schedule = json.loads((ROOT / "examples" / "schedule.json").read_text())
        self.schedule.update(
            next_due_at=(NOW - timedelta(days=3)).isoformat(), notification_providers=["webhook", "webhook-audit"],
            owner_routes={
                "release-governance": {"providers": ["webhook", "webhook-audit"], "acknowledgement_minutes": 30,
                                       "escalation_owner": "platform-lead"},
                "platform-oncall": {"providers": ["webhook"], "acknowledgement_minutes": 15,
                                    "escalation_owner": "incident-commander"}})
        self.connectors: dict[str, Any] = {
            "connectors": {
                "webhook": {"provider": "webhook", "url": f"{receivers[0].url}?sig={self.url_secret}",
                            "signing_secret": self.signing},
                "webhook-audit": {"provider": "webhook", "url": receivers[1].url},
            },
            "customer_denylist": ["Example Customer Ltd"],
            "api": {"token": self.token},
        }
        self.env: dict[str, str] = {"CAVRA_GO_BACKEND_MODE": "promoted",
                                    "CAVRA_GO_ROLLBACK_DRILL_HISTORY": str(ROOT / "examples" / "history.json")}
        self.responses: list[str] = []

    def write(self, name: str, document: Any) -> str:
        path = self.tmp / name
        path.write_text(json.dumps(document))
        return str(path)

    def client(self, *, connectors: bool = True, schedule: bool = True,
               client_addr: tuple[str, int] = ("testclient", 50000), **kwargs: Any) -> TestClient:
        env = dict(self.env)
        if schedule:
            env["CAVRA_GO_ROLLBACK_DRILL_SCHEDULE"] = self.write("schedule.json", self.schedule)
        if connectors:
            env["CAVRA_CONNECTOR_CONFIG"] = self.write("connectors.json", self.connectors)
        app = create_app(env, self.evidence_db, **kwargs)
        client = TestClient(app, client=client_addr)
        original = client.request

        def recording(*args: Any, **kw: Any) -> Any:
            response = original(*args, **kw)
            self.responses.append(response.text)
            return response

        client.request = recording  # type: ignore[method-assign]
        return client

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    @property
    def secrets(self) -> list[str]:
        return [self.token, self.signing, self.url_secret]


@pytest.fixture(scope="module")
def shared_receivers() -> Iterator[tuple[Any, Any]]:
    with fake.FakeWebhookReceiver() as first, fake.FakeWebhookReceiver() as second:
        yield first, second


@pytest.fixture
def receivers(shared_receivers: tuple[Any, Any]) -> tuple[Any, Any]:
    """The module's two webhook fakes, emptied (started once: stopping one takes half a second)."""
    for rx in shared_receivers:
        rx.events.clear()
        rx.receiver.requests.clear()
        rx.receiver._script.clear()
        rx.signing_secret = None
    return shared_receivers


@pytest.fixture
def dep(tmp_path: Path, receivers: tuple[Any, Any], evidence_db: str) -> Deployment:
    return Deployment(tmp_path, receivers, evidence_db)  # on SQLite and on PostgreSQL


@pytest.fixture
def api(dep: Deployment) -> Iterator[TestClient]:
    with dep.client() as client:
        yield client


# --- the story -------------------------------------------------------------------------------


def test_platform_owner_routes_stale_drill_notifications(dep: Deployment, api: TestClient,
                                                         caplog: pytest.LogCaptureFixture) -> None:
    """As a platform owner I route stale drill notifications: two providers, then history, dashboard,
    an acknowledgement, and an escalation plan that reflects it."""
    caplog.set_level("DEBUG")
    report = api.get("/runtime/go-pilot/rollback-drill-schedule", params={"now": NOW_ISO}).json()
    assert report["status"] == "needs_attention" and report["schedule"]["stale"] is True
    assert [c["id"] for c in report["checks"] if not c["passed"]] == ["not_stale"]

    readiness = api.get("/deployment/production-readiness", params={"now": NOW_ISO}).json()
    assert readiness["ready"] is False and "go_backend_rollback_drill_schedule" in readiness["blocking_checks"]
    check = readiness["checks"][0]
    assert check["stale"] is True and check["configured_providers"] == ["webhook", "webhook-audit"]

    plan = api.post(f"{N}/plan", json={"now": NOW_ISO}, headers=dep.auth).json()
    assert plan["deliverable_route_count"] == 3 and plan["status"] == "needs_attention"

    delivered = api.post(f"{N}/deliver", json={"provider": "all", "retries": 2, "now": NOW_ISO}, headers=dep.auth)
    assert delivered.status_code == 200, delivered.text
    body = delivered.json()
    assert body["outcome"] == "delivered" and body["delivered_count"] == 3 and body["plan_id"] == plan["plan_id"]
    assert {(d["connector"], d["owner"]) for d in body["deliveries"]} == {
        ("webhook", "release-governance"), ("webhook", "platform-oncall"), ("webhook-audit", "release-governance")}
    main_rx, audit_rx = dep.receivers
    assert len(main_rx.events) == 2 and len(audit_rx.events) == 1
    assert all(e.signature_verified for e in main_rx.events)
    assert {d["target"] for d in body["deliveries"]} == {main_rx.receiver.url, audit_rx.receiver.url}

    again = api.post(f"{N}/deliver", json={"now": NOW_ISO}, headers=dep.auth).json()
    assert again["outcome"] == "nothing_to_deliver" and len(main_rx.events) == 2 and len(audit_rx.events) == 1

    deliveries = api.get(N, params={"kind": "delivery"}).json()
    assert len(deliveries) == 3 and {r["outcome"] for r in deliveries} == {"delivered"}
    assert len(api.get(N, params={"provider": "webhook", "kind": "delivery"}).json()) == 3
    assert len(api.get(N, params={"schedule_id": SCHEDULE_ID, "kind": "plan"}).json()) >= 1

    board = api.get(f"{N}/dashboard").json()
    assert board["deliveries"]["total"] == 3 and board["outstanding_route_count"] == 3

    ack = api.post(f"{N}/{SCHEDULE_ID}/acknowledgements", headers=dep.auth,
                   json={"provider": "webhook", "acknowledged_by": "release-governance",
                         "external_ref": "go-rollback-drill://production-pilot/ack-1",
                         "now": (NOW + timedelta(minutes=5)).isoformat()})
    assert ack.status_code == 201, ack.text
    assert ack.json()["state"] == "acknowledged" and ack.json()["plan_id"] == again["plan_id"]

    later = (NOW + timedelta(minutes=45)).isoformat()
    escalation = api.post(f"{N}/escalation-plan", json={"now": later}, headers=dep.auth).json()
    assert escalation["alert_level"] == "critical"
    assert [(r["provider"], r["breached"], r["escalate_to"]) for r in escalation["routes"]] == [
        ("webhook-audit", True, "platform-lead")]

    board = api.get(f"{N}/dashboard").json()
    assert board["acknowledgements"]["total"] == 1 and board["outstanding_route_count"] == 1
    assert len(api.get(N, params={"kind": "escalation_plan"}).json()) == 1
    assert_no_secret_leak(dep.secrets, *dep.responses, *caplog.records)


# --- routes ----------------------------------------------------------------------------------


def test_schedule_and_drills_match_the_cli(dep: Deployment, api: TestClient,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    args = ["--mode", "promoted", "--rollback-drill-history-path", dep.env["CAVRA_GO_ROLLBACK_DRILL_HISTORY"],
            "--connector-config", str(dep.tmp / "connectors.json"), "--now", NOW_ISO, "--json"]
    main(["runtime", "go-rollback-drill-schedule", *args, "--rollback-drill-schedule-path",
          str(dep.tmp / "schedule.json")])
    assert api.get("/runtime/go-pilot/rollback-drill-schedule", params={"now": NOW_ISO}).json() == json.loads(
        capsys.readouterr().out)
    main(["runtime", "go-rollback-drills", *args])
    drills = api.get("/runtime/go-pilot/rollback-drills", params={"now": NOW_ISO}).json()
    assert drills == json.loads(capsys.readouterr().out) and drills["status"] == "ready"


def test_plan_takes_the_routing_policy_from_the_body(dep: Deployment, api: TestClient) -> None:
    policy = {"maintenance_windows": [{"window_id": "freeze", "start_at": "2026-11-27T00:00:00Z",
                                       "end_at": "2026-11-28T00:00:00Z", "providers": ["webhook-audit"],
                                       "reason": "audit pipeline migration"}]}
    plan = api.post(f"{N}/plan", json={"now": NOW_ISO, "routing_policy": policy}, headers=dep.auth).json()
    assert plan["maintenance_suppressed_count"] == 1 and plan["deliverable_route_count"] == 2
    only = api.post(f"{N}/plan", json={"now": NOW_ISO, "provider": "webhook-audit"}, headers=dep.auth).json()
    assert {d["route"]["provider"] for d in only["route_decisions"]} == {"webhook-audit"}


@pytest.mark.parametrize("policy, fragment", [
    ({"maintenance_windows": [{"window_id": "w", "start_at": "2026-11-27T00:00:00Z",
                               "end_at": "2026-11-28T00:00:00Z", "reason": "see https://10.0.0.7/x"}]},
     "not public-safe"),
    ({"acknowledgement_minutes": -5}, "acknowledgement_minutes"),
    ({"owner_routes": {"ops": {"providers": "webhook"}}}, "providers"),
])
def test_bad_routing_policy_is_a_clear_400(dep: Deployment, api: TestClient, policy: Any, fragment: str) -> None:
    response = api.post(f"{N}/plan", json={"routing_policy": policy}, headers=dep.auth)
    assert response.status_code == 400 and fragment in response.json()["error"]
    assert "10.0.0.7" not in response.text


def test_unknown_provider_is_a_clear_400(dep: Deployment, api: TestClient) -> None:
    response = api.post(f"{N}/deliver", json={"provider": "pagerduty"}, headers=dep.auth)
    assert response.status_code == 400 and "unknown provider pagerduty" in response.json()["error"]


def test_partial_and_failed_deliveries_map_to_207_and_502(dep: Deployment, api: TestClient) -> None:
    audit = dep.receivers[1]
    audit.enqueue(Response(500, {"error": "down"}))
    partial = api.post(f"{N}/deliver", json={"now": NOW_ISO, "retries": 0}, headers=dep.auth)
    assert partial.status_code == 207 and partial.json()["outcome"] == "partial"
    failed = [d for d in partial.json()["deliveries"] if d["outcome"] == "failed"]
    assert [(d["connector"], d["failure_class"]) for d in failed] == [("webhook-audit", "server_error")]
    audit.enqueue(Response(503, {}), Response(503, {}))
    retried = api.post(f"{N}/deliver", json={"now": NOW_ISO, "retries": 1, "provider": "webhook-audit"},
                       headers=dep.auth)
    assert retried.status_code == 502 and retried.json()["outcome"] == "failed"
    assert len(retried.json()["deliveries"][0]["attempts"]) == 2
    assert_no_secret_leak(dep.secrets, *dep.responses)


def test_deliver_without_connector_config_is_409(dep: Deployment) -> None:
    dep.env["CAVRA_GO_ROLLBACK_DRILL_SCHEDULE"] = dep.write("schedule.json", dep.schedule)
    with dep.client(connectors=False, allow_unauthenticated_loopback=True, client_addr=("127.0.0.1", 5000)) as api:
        response = api.post(f"{N}/deliver", json={"now": NOW_ISO})
    assert response.status_code == 409 and "connector config" in response.json()["error"]


def test_ack_errors_are_clear(dep: Deployment, api: TestClient) -> None:
    none = api.post(f"{N}/no-such-schedule/acknowledgements", headers=dep.auth,
                    json={"provider": "webhook", "acknowledged_by": "ops"})
    assert none.status_code == 400 and "no recorded notification plan" in none.json()["error"]
    bad_state = api.post(f"{N}/{SCHEDULE_ID}/acknowledgements", headers=dep.auth,
                         json={"provider": "webhook", "acknowledged_by": "ops", "state": "ignored"})
    assert bad_state.status_code == 422 and bad_state.json()["detail"][0]["loc"] == ["body", "state"]
    api.post(f"{N}/deliver", json={"now": NOW_ISO}, headers=dep.auth)
    unsafe = api.post(f"{N}/{SCHEDULE_ID}/acknowledgements", headers=dep.auth,
                      json={"provider": "webhook", "acknowledged_by": "ops", "notes": "see https://10.1.2.3/t"})
    assert unsafe.status_code == 400 and "must not contain" in unsafe.json()["error"]


def test_history_filters_are_validated(api: TestClient) -> None:
    assert api.get(N, params={"kind": "secrets"}).status_code == 422
    assert api.get(N, params={"limit": 0}).status_code == 422
    naive = api.get(N, params={"since": "2026-11-27T09:00:00"})
    assert naive.status_code == 422 and "timezone" in naive.json()["error"]
    assert api.get(N, params={"since": NOW_ISO, "limit": 5}).json() == []


def test_readiness_passes_ready_and_not_requested(dep: Deployment) -> None:
    dep.schedule["next_due_at"] = (NOW + timedelta(days=30)).isoformat()
    for name in ("CAVRA_GO_PROMOTION_EVIDENCE", "CAVRA_GO_ROLLBACK_PLAN", "CAVRA_GO_ROLLBACK_REHEARSAL_EVIDENCE"):
        dep.env[name] = dep.write(f"{name}.json", {})
    with dep.client() as api:
        ready = api.get("/deployment/production-readiness", params={"now": NOW_ISO}).json()
    assert ready["ready"] is True and ready["checks"][0]["status"] == "ready"
    assert ready["checks"][0]["next_due_at"] == "2026-12-27T09:00:00Z" and ready["checks"][0]["due_soon"] is False
    dep.env = {"CAVRA_GO_BACKEND_MODE": "shadow"}
    with dep.client(schedule=False, connectors=False) as api:
        quiet = api.get("/deployment/production-readiness").json()
    assert quiet["ready"] is True and [c["status"] for c in quiet["checks"]] == ["not_requested"] * 5


def test_evaluate_selects_go_only_with_an_acceptable_schedule_and_present_evidence(
        dep: Deployment, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    body = {"action": "execute_command", "target": "terraform plan", "now": NOW_ISO}
    with dep.client() as api:
        stale = api.post("/runtime/go-pilot/evaluate", json=body, headers=dep.auth).json()
    assert stale["selected_backend"] == "python"
    assert stale["fallback_reason"].startswith("rollback drill schedule needs_attention: not_stale")

    dep.schedule["next_due_at"] = (NOW + timedelta(days=5)).isoformat()
    dep.env["CAVRA_GO_POLICY_PATH"] = dep.write("policy.json", {"rules": []})
    dep.env["CAVRA_GO_PACKAGE_DIR"] = str(tmp_path)
    dep.env["CAVRA_GO_PROMOTION_EVIDENCE"] = dep.write("promotion.json", {})
    dep.env["CAVRA_GO_ROLLBACK_PLAN"] = dep.write("plan.json", {})
    dep.env["CAVRA_GO_ROLLBACK_REHEARSAL_PATH"] = dep.write("rehearsal.json", {})
    with dep.client() as api:
        go = api.post("/runtime/go-pilot/evaluate", json=body, headers=dep.auth).json()
    assert go["selected_backend"] == "go" and go["fallback_reason"] is None
    assert go["rollback_drill_schedule"]["status"] == "due_soon"

    (tmp_path / "rehearsal.json").write_text("{not json")
    dep.env["CAVRA_GO_ROLLBACK_REHEARSAL_PATH"] = str(tmp_path / "rehearsal.json")
    with dep.client() as api:
        broken = api.post("/runtime/go-pilot/evaluate", json=body, headers=dep.auth).json()
    assert broken["selected_backend"] == "python" and "invalid JSON" in broken["fallback_reason"]

    code = main(["runtime", "go-pilot-evaluate", "execute_command", "terraform plan", "--json", "--now", NOW_ISO,
                 "--mode", "promoted", "--rollback-drill-schedule-path", str(tmp_path / "schedule.json"),
                 "--rollback-drill-history-path", dep.env["CAVRA_GO_ROLLBACK_DRILL_HISTORY"],
                 "--connector-config", str(tmp_path / "connectors.json"),
                 "--policy-path", dep.env["CAVRA_GO_POLICY_PATH"], "--package-dir", str(tmp_path),
                 "--promotion-evidence-path", dep.env["CAVRA_GO_PROMOTION_EVIDENCE"],
                 "--rollback-plan-path", dep.env["CAVRA_GO_ROLLBACK_PLAN"],
                 "--rollback-rehearsal-path", str(tmp_path / "rehearsal.json")])
    assert code == 1 and json.loads(capsys.readouterr().out) == broken

    dep.env["CAVRA_GO_BACKEND_MODE"] = "shadow"
    with dep.client() as api:
        shadow = api.post("/runtime/go-pilot/evaluate", json=body, headers=dep.auth).json()
    assert (shadow["selected_backend"], shadow["fallback_reason"]) == ("python", "mode is shadow")


def test_healthz_and_openapi(api: TestClient) -> None:
    assert api.get("/healthz").json()["status"] == "ok"
    schema = api.get("/openapi.json").json()
    assert f"{N}/{{schedule_id}}/acknowledgements" in schema["paths"]
    assert "401" in schema["paths"][f"{N}/deliver"]["post"]["responses"]


# --- security --------------------------------------------------------------------------------


def test_mutating_routes_need_the_bearer_token(dep: Deployment, api: TestClient) -> None:
    plan = f"{N}/plan"
    missing = api.post(plan, json={})
    assert missing.status_code == 401 and missing.headers["www-authenticate"] == "Bearer"
    assert missing.json()["error"].startswith("missing bearer token")
    wrong = api.post(plan, json={}, headers={"Authorization": "Bearer " + dep.token[:-1] + "x"})
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid bearer token"
    assert api.post(plan, json={}, headers={"Authorization": "Basic " + dep.token}).status_code == 401
    assert api.post(plan, json={}, headers=dep.auth).status_code == 200
    assert api.post(plan, content=b"{not json", headers={"content-type": "application/json"}).status_code == 401
    assert api.get("/runtime/go-pilot/rollback-drill-schedule").status_code == 200
    assert_no_secret_leak(dep.secrets, *dep.responses)


def test_no_configured_token_refuses_posts_unless_loopback_is_allowed(dep: Deployment) -> None:
    del dep.connectors["api"]
    with dep.client() as api:
        refused = api.post(f"{N}/plan", json={})
    assert refused.status_code == 403 and "no API token is configured" in refused.json()["error"]
    with dep.client(allow_unauthenticated_loopback=True) as api:
        assert api.post(f"{N}/plan", json={}).status_code == 403
    with dep.client(allow_unauthenticated_loopback=True, client_addr=("127.0.0.1", 40000)) as api:
        assert api.post(f"{N}/plan", json={}).status_code == 200


@pytest.mark.parametrize("extra", [{"url": "http://127.0.0.1:9/steal"}, {"host": "127.0.0.1"},
                                   {"token": "xoxb-" + "canary"}, {"connectors": {}}])
def test_a_body_cannot_carry_a_url_host_or_credential(dep: Deployment, api: TestClient,
                                                      extra: dict[str, Any]) -> None:
    for route in ("plan", "deliver"):
        response = api.post(f"{N}/{route}", json={"provider": "webhook", **extra}, headers=dep.auth)
        assert response.status_code == 422, response.text
        assert response.json()["detail"][0]["type"] == "extra_forbidden"
        assert "steal" not in response.text and "canary" not in response.text
    assert dep.receivers[0].events == [] and dep.receivers[1].events == []


def test_bodies_over_one_mebibyte_are_refused(dep: Deployment, api: TestClient) -> None:
    big = json.dumps({"routing_policy": {"notes": "x" * (1024 * 1024)}})
    response = api.post(f"{N}/plan", content=big, headers={**dep.auth, "content-type": "application/json"})
    assert response.status_code == 413 and "byte limit" in response.json()["error"]

    def chunks() -> Iterator[bytes]:
        yield b'{"routing_policy": {"notes": "'
        for _ in range(20):
            yield b"y" * 65536
        yield b'"}}'

    streamed = api.post(f"{N}/plan", content=chunks(), headers={**dep.auth, "content-type": "application/json"})
    assert streamed.status_code == 413


def test_errors_are_json(dep: Deployment, api: TestClient) -> None:
    for response in (api.get("/nope"), api.put(f"{N}/plan", headers=dep.auth),
                     api.post(f"{N}/plan", content=b"{not json", headers={**dep.auth,
                                                                          "content-type": "application/json"}),
                     api.post(f"{N}/plan", json=[1, 2], headers=dep.auth)):
        assert 400 <= response.status_code < 500 and set(response.json()) == {"error", "detail"}


def test_a_genuine_bug_is_a_json_500_naming_only_the_exception_type(dep: Deployment) -> None:
    app = create_app(dep.env, dep.evidence_db)

    def broken() -> None:
        raise RuntimeError("internal detail " + dep.token)

    app.add_api_route("/broken", broken)
    with TestClient(app, raise_server_exceptions=False) as api:
        response = api.get("/broken")
    assert response.status_code == 500
    assert response.json() == {"error": "internal error (a bug: please report it)", "detail": "RuntimeError"}


def test_invalid_server_settings_fail_at_startup(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="CAVRA_GO_BACKEND_MODE"):
        create_app({"CAVRA_GO_BACKEND_MODE": "promtoed"}, str(tmp_path / "e.db"))


def test_serve_refuses_a_public_address_without_a_token(dep: Deployment, capsys: pytest.CaptureFixture[str],
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    del dep.connectors["api"]
    monkeypatch.setenv("CAVRA_CONNECTOR_CONFIG", dep.write("connectors.json", dep.connectors))
    assert main(["serve", "--host", "0.0.0.0", "--port", "8765"]) == 2
    assert "refusing to listen on a non-loopback address" in capsys.readouterr().err
    monkeypatch.setenv("CAVRA_CONNECTOR_CONFIG", dep.write("connectors.json", {**dep.connectors,
                                                                               "api": {"token": dep.token}}))
    assert main(["serve", "--host", "10.1.2.3", "--allow-unauthenticated-loopback"]) == 2
    assert "needs a loopback --host" in capsys.readouterr().err


@pytest.mark.parametrize("host, loopback", [("127.0.0.1", True), ("127.9.9.9", True), ("::1", True),
                                            ("localhost", True), ("0.0.0.0", False), ("10.0.0.1", False),
                                            ("example.invalid", False), ("", False)])
def test_loopback_detection(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback
