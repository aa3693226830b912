"""Issue 17 over HTTP: the same chain through the API, the verified actor (issue 16) and 403."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("cavra_notify_webhook")

from fastapi.testclient import TestClient  # noqa: E402

from cavra_notify.api import create_app  # noqa: E402
from cavra_notify.testkit import FakeReceiver, Response  # noqa: E402

from .conftest import NOW, example  # noqa: E402

TOKEN = "api-" + "canary" + "5b1d4c2a0f3c9a7e"
HOOK_SECRET = "hook-canary-3e9d7c1b5a"
RETRIES = "/runtime/go-pilot/rollback-drill-retries"


def at(minutes: int) -> str:
    return (NOW + timedelta(minutes=minutes)).isoformat()


VIEWER = "viewer-" + "canary" + "0c4f2e8a6b1d3957"
APPROVER = "approver-" + "canary" + "7d3a9e1f5c2b8046"


@pytest.fixture
def receiver() -> Iterator[FakeReceiver]:
    with FakeReceiver() as rx:
        yield rx


@pytest.fixture
def env(tmp_path: Path, receiver: FakeReceiver, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    schedule = copy.deepcopy(example("schedule.json"))
    schedule.update(schedule_id="sched_api", notification_providers=["webhook"], owner_routes={},
                    next_due_at=at(3 * 24 * 60))
    (tmp_path / "schedule.json").write_text(json.dumps(schedule))
    monkeypatch.setenv("API_HOOK_URL", f"{receiver.url}/{HOOK_SECRET}")
    (tmp_path / "connectors.json").write_text(json.dumps({
        "connectors": {"webhook": {"provider": "webhook", "url": {"env": "API_HOOK_URL"}}},
        "api": {"token": TOKEN, "actors": {"viewer": {"token": VIEWER, "roles": ["read", "deliver"]},
                                           "rm": {"token": APPROVER, "roles": ["approve"]}}}}))
    return {"CAVRA_GO_BACKEND_MODE": "promoted", "CAVRA_GO_ROLLBACK_DRILL_SCHEDULE": str(tmp_path / "schedule.json"),
            "CAVRA_GO_ROLLBACK_DRILL_HISTORY": str(Path(__file__).parents[1] / "examples" / "history.json"),
            "CAVRA_CONNECTOR_CONFIG": str(tmp_path / "connectors.json"), "CAVRA_EVIDENCE_DB": str(tmp_path / "ev.db")}


def post(client: TestClient, path: str, body: Any = None, status: int = 200, token: str = TOKEN) -> Any:
    response = client.post(path, json=body, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == status, response.text
    assert all(t not in response.text for t in (TOKEN, VIEWER, APPROVER, HOOK_SECRET))
    return response.json()


def test_the_chain_over_http(env: dict[str, str], receiver: FakeReceiver) -> None:
    receiver.enqueue(Response(503), Response(503))
    with TestClient(create_app(env, env["CAVRA_EVIDENCE_DB"])) as client:
        post(client, "/runtime/go-pilot/rollback-drill-notifications/deliver", {"now": at(0), "retries": 0}, 502)
        plan = post(client, f"{RETRIES}/plan", {"now": at(20)})
        assert plan["counts"]["retry"] == 2
        book = post(client, "/runtime/go-pilot/connector-recovery/playbook", {"now": at(20)})
        assert book["entries"][0]["status"] == "open"
        view = client.get(RETRIES).json()
        assert len(view["awaiting_decision"]) == 2 and view["open_playbook_entries"][0]["connector"] == "webhook"
        entry = plan["entries"][0]
        approval = post(client, f"{RETRIES}/decisions", {"retry_plan_id": plan["retry_plan_id"],
                                                         "entry_id": entry["entry_id"], "decision": "approved",
                                                         "now": at(21)}, 201)
        assert approval["decided_by"] == "api"  # the configured token is an admin actor named api
        assert len(client.get(RETRIES).json()["awaiting_decision"]) == 1
        dry = post(client, f"{RETRIES}/worker", {"now": at(22)})
        assert sorted(r["reason"] for r in dry["refusals"]) == ["dry_run", "missing_approval"]
        live = post(client, f"{RETRIES}/worker", {"now": at(22), "execute": True})
        assert [x["status"] for x in live["executions"]] == ["delivered"] and len(receiver.requests) == 3
        test = post(client, "/runtime/go-pilot/connectors/webhook/test", {"now": at(25)})
        closure = post(client, "/runtime/go-pilot/connector-recovery/closures",
                       {"connector": "webhook", "state": "resolved", "verification_refs": [test["evidence_id"]],
                        "now": at(26)}, 201)
        assert closure["closed_by"] == "api" and client.get(RETRIES).json()["closures"][0]["state"] == "resolved"
        refused = post(client, "/runtime/go-pilot/connector-recovery/closures",
                       {"connector": "webhook", "state": "resolved", "verification_refs": [entry["failed_evidence_id"]],
                        "now": at(27)}, 400)
        assert "needs a verification ref" in refused["error"]
        post(client, "/runtime/go-pilot/connectors/nope/test", None, 409)
        kinds = {r["kind"] for r in client.get("/runtime/go-pilot/rollback-drill-notifications",
                                               params={"kind": "retry_execution"}).json()["items"]}
        assert kinds == {"retry_execution"}


def test_an_actor_without_approve_gets_403(env: dict[str, str], receiver: FakeReceiver) -> None:
    receiver.enqueue(Response(503), Response(503))
    app = create_app(env, env["CAVRA_EVIDENCE_DB"])
    with TestClient(app) as admin:
        post(admin, "/runtime/go-pilot/rollback-drill-notifications/deliver", {"now": at(0), "retries": 0}, 502)
        plan = post(admin, f"{RETRIES}/plan", {"now": at(20)})
    decision = {"retry_plan_id": plan["retry_plan_id"], "entry_id": plan["entries"][0]["entry_id"],
                "decision": "approved", "now": at(21)}
    with TestClient(app) as client:
        refused = post(client, f"{RETRIES}/decisions", decision, 403, token=VIEWER)
        assert "lacks the 'approve' role" in refused["error"]
        post(client, "/runtime/go-pilot/connector-recovery/closures",
             {"connector": "webhook", "state": "deferred", "now": at(21)}, 403, token=VIEWER)
        assert post(client, f"{RETRIES}/decisions", decision, 201, token=APPROVER)["decided_by"] == "rm"


def test_without_identities_an_allowed_loopback_caller_decides_as_main_acknowledges(
        env: dict[str, str], receiver: FakeReceiver) -> None:
    config = Path(env["CAVRA_CONNECTOR_CONFIG"])
    config.write_text(json.dumps({k: v for k, v in json.loads(config.read_text()).items() if k != "api"}))
    receiver.enqueue(Response(503), Response(503))
    app = create_app(env, env["CAVRA_EVIDENCE_DB"], allow_unauthenticated_loopback=True)
    with TestClient(app, client=("127.0.0.1", 40000)) as local:
        local.post("/runtime/go-pilot/rollback-drill-notifications/deliver", json={"now": at(0), "retries": 0})
        plan = local.post(f"{RETRIES}/plan", json={"now": at(20)}).json()
        decision = {"retry_plan_id": plan["retry_plan_id"], "entry_id": plan["entries"][0]["entry_id"],
                    "decision": "deferred", "now": at(21)}
        recorded = local.post(f"{RETRIES}/decisions", json=decision)
        assert recorded.status_code == 201 and recorded.json()["decided_by"] == "api"
    with TestClient(app) as remote:  # a caller that is not loopback, and no identity: refused
        assert remote.post(f"{RETRIES}/decisions", json=decision).status_code == 403
