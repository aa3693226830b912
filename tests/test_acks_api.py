"""Issue 16 through the faces: outstanding routes after a narrower rerun, acknowledgements that name a
route, bulk acknowledgement, and paged history — real deliveries to two local webhook fakes."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi")
fake = pytest.importorskip("cavra_notify_webhook.fake")

from fastapi.testclient import TestClient  # noqa: E402

from cavra_notify.cli import main  # noqa: E402
from cavra_notify.store import SCHEMA_VERSION, open_store  # noqa: E402
from cavra_notify.testkit import assert_no_secret_leak  # noqa: E402

from .conftest import NOW, NOW_ISO  # noqa: E402
from .test_api import SCHEDULE_ID, Deployment  # noqa: E402

N = "/runtime/go-pilot/rollback-drill-notifications"
KEY = SCHEDULE_ID + ":{}:{}"
LATER = (NOW + timedelta(minutes=5)).isoformat()


@pytest.fixture(scope="module")
def receivers() -> Iterator[tuple[Any, Any]]:
    with fake.FakeWebhookReceiver() as first, fake.FakeWebhookReceiver() as second:
        yield first, second


@pytest.fixture
def dep(tmp_path: Path, receivers: tuple[Any, Any], evidence_db: str) -> Deployment:
    for rx in receivers:
        rx.events.clear()
    deployment = Deployment(tmp_path, receivers, evidence_db)  # on SQLite and on PostgreSQL
    receivers[0].signing_secret = deployment.signing
    return deployment


@pytest.fixture
def api(dep: Deployment) -> Iterator[TestClient]:
    with dep.client() as client:
        assert client.post(f"{N}/deliver", json={"now": NOW_ISO}, headers=dep.auth).json()["delivered_count"] == 3
        yield client


def outstanding(api: TestClient, dep: Deployment) -> set[str]:
    plan = api.post(f"{N}/escalation-plan", json={"now": LATER}, headers=dep.auth).json()
    return {r["route_key"] for r in plan["routes"]}


def test_a_forced_single_provider_rerun_leaves_both_providers_outstanding(dep: Deployment, api: TestClient) -> None:
    """The reproduction of issue 16: two providers delivered, then ``deliver --provider webhook --force``."""
    rerun = api.post(f"{N}/deliver", json={"provider": "webhook", "force": True, "now": NOW_ISO}, headers=dep.auth)
    assert rerun.json()["delivered_count"] == 2
    everything = {KEY.format("release-governance", "webhook"), KEY.format("platform-oncall", "webhook"),
                  KEY.format("release-governance", "webhook-audit")}
    assert outstanding(api, dep) == everything
    dropped = api.post(f"{N}/{SCHEDULE_ID}/acknowledgements", headers=dep.auth,
                       json={"provider": "webhook-audit", "acknowledgement_state": "acknowledged", "now": LATER})
    assert dropped.status_code == 201, dropped.text
    assert dropped.json()["route_keys"] == [KEY.format("release-governance", "webhook-audit")]
    one_owner = api.post(f"{N}/{SCHEDULE_ID}/acknowledgements", headers=dep.auth,
                         json={"provider": "webhook", "owner": "release-governance", "now": LATER,
                               "acknowledged_by": "api", "external_ref": "OPS-1", "notes": "seen"})
    assert one_owner.status_code == 201, one_owner.text
    body = one_owner.json()
    assert (body["owner"], body["acknowledged_by"], body["acknowledgement_state"], body["state"]) == (
        "release-governance", "api", "acknowledged", "acknowledged")
    assert body["acknowledgement_id"].startswith("ack-") and body["plan_id"] == rerun.json()["plan_id"]
    assert outstanding(api, dep) == {KEY.format("platform-oncall", "webhook")}
    assert_no_secret_leak(dep.secrets, *dep.responses)


def test_the_product_field_names_and_the_state_alias(dep: Deployment, api: TestClient) -> None:
    alias = api.post(f"{N}/{SCHEDULE_ID}/acknowledgements", headers=dep.auth,
                     json={"route_key": KEY.format("platform-oncall", "webhook"), "state": "dismissed",
                           "now": LATER})
    assert alias.status_code == 201 and alias.json()["acknowledgement_state"] == "dismissed"
    clash = api.post(f"{N}/{SCHEDULE_ID}/acknowledgements", headers=dep.auth,
                     json={"provider": "webhook", "state": "dismissed", "acknowledgement_state": "resolved"})
    assert clash.status_code == 400 and "disagree" in clash.json()["error"]
    someone_else = api.post(f"{N}/{SCHEDULE_ID}/acknowledgements", headers=dep.auth,
                            json={"provider": "webhook", "acknowledged_by": "release-governance"})
    assert someone_else.status_code == 403 and "not the verified actor 'api'" in someone_else.json()["error"]


def test_bulk_acknowledgement_is_all_or_nothing(dep: Deployment, api: TestClient) -> None:
    good = [{"schedule_id": SCHEDULE_ID, "route_key": KEY.format("platform-oncall", "webhook")},
            {"schedule_id": SCHEDULE_ID, "provider": "webhook-audit", "owner": "release-governance"}]
    bad = {"schedule_id": SCHEDULE_ID, "provider": "webhook", "owner": "nobody"}
    refused = api.post(f"{N}/acknowledgements", headers=dep.auth,
                       json={"acknowledgements": [*good, bad], "now": LATER})
    assert refused.status_code == 400
    assert refused.json()["error"] == "1 of 3 acknowledgements refused; none was recorded"
    [reason] = refused.json()["detail"]
    assert (reason["index"], reason["route"]) == (2, "nobody:webhook") and "no delivered route" in reason["reason"]
    assert api.get(N, params={"kind": "ack"}).json()["total"] == 0
    ok = api.post(f"{N}/acknowledgements", headers=dep.auth,
                  json={"acknowledgements": good, "now": LATER})
    assert ok.status_code == 201, ok.text
    assert len(ok.json()["acknowledgements"]) == 2
    assert outstanding(api, dep) == {KEY.format("release-governance", "webhook")}
    assert api.post(f"{N}/acknowledgements", headers=dep.auth, json={"acknowledgements": []}).status_code == 422
    many = {"acknowledgements": [good[0]] * 101}
    assert api.post(f"{N}/acknowledgements", headers=dep.auth, json=many).status_code == 422


def test_history_pages_and_filters(dep: Deployment, api: TestClient) -> None:
    api.post(f"{N}/{SCHEDULE_ID}/acknowledgements", headers=dep.auth,
             json={"provider": "webhook", "state": "resolved", "now": LATER})
    first = api.get(N, params={"kind": "delivery", "limit": 2}).json()
    second = api.get(N, params={"kind": "delivery", "limit": 2, "offset": 2}).json()
    assert (first["total"], first["limit"], first["offset"], len(first["items"])) == (3, 2, 0, 2)
    assert (second["offset"], len(second["items"])) == (2, 1)
    assert {r["id"] for r in first["items"]} | {r["id"] for r in second["items"]} == {
        r["id"] for r in api.get(N, params={"kind": "delivery"}).json()["items"]}
    audit = api.get(N, params={"connector": "webhook-audit"}).json()
    assert audit["total"] == 1 and audit["items"][0]["payload"]["connector"] == "webhook-audit"
    assert api.get(N, params={"acknowledgement_state": "resolved"}).json()["total"] == 1
    assert api.get(N, params={"acknowledgement_state": "dismissed"}).json()["total"] == 0
    window = api.get(N, params={"since": LATER, "until": (NOW + timedelta(hours=1)).isoformat()}).json()
    assert [r["kind"] for r in window["items"]] == ["ack"]
    mixed = api.get(N, params={"acknowledgement_state": "resolved", "kind": "delivery"})
    assert mixed.status_code == 400


def test_cli_acknowledges_by_owner_route_key_and_in_bulk(dep: Deployment, api: TestClient,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    db = ["--evidence-db", dep.evidence_db, "--now", LATER]
    assert main(["runtime", "go-rollback-drill-notification-ack", SCHEDULE_ID, "--provider", "webhook",
                 "--owner", "platform-oncall", "--acknowledged-by", "ops", *db]) == 0
    assert f"{KEY.format('platform-oncall', 'webhook')} (plan" in capsys.readouterr().out
    assert main(["runtime", "go-rollback-drill-notification-ack", SCHEDULE_ID, "--route-key", "nope",
                 "--acknowledged-by", "ops", *db]) == 2
    assert "no delivered route matches nope" in capsys.readouterr().err
    bulk = dep.write("bulk.json", {"acknowledgements": [
        {"schedule_id": SCHEDULE_ID, "provider": "webhook-audit", "acknowledged_by": "ops"},
        {"schedule_id": SCHEDULE_ID, "provider": "teams", "acknowledged_by": "ops"}]})
    assert main(["runtime", "go-rollback-drill-notification-ack-bulk", bulk, *db]) == 2
    err = capsys.readouterr().err
    assert "acknowledgement 1 (*:teams): no delivered route" in err and "none was recorded" in err
    dep.write("bulk.json", {"acknowledgements": [
        {"schedule_id": SCHEDULE_ID, "provider": "webhook-audit", "acknowledged_by": "ops"},
        {"schedule_id": SCHEDULE_ID, "route_key": KEY.format("release-governance", "webhook"),
         "acknowledged_by": "ops", "acknowledgement_state": "resolved"}]})
    assert main(["runtime", "go-rollback-drill-notification-ack-bulk", bulk, "--json", *db]) == 0
    states = [a["state"] for a in json.loads(capsys.readouterr().out)["acknowledgements"]]
    assert states == ["acknowledged", "resolved"] and outstanding(api, dep) == set()


def test_migrations_4_to_6_keep_every_record_of_a_version_3_store(tmp_path: Path) -> None:
    path = tmp_path / "v3.db"
    with open_store(path) as store:
        store.save_plan({"plan_id": "plan-1", "schedule_id": "s", "generated_at": NOW_ISO, "occurrence": "o"})
        store.save_escalation_plan({"generated_at": NOW_ISO, "schedules": [{"schedule_id": "s"}], "routes": []})
    raw = sqlite3.connect(path)  # back to version 3: the records table without the escalation kind
    sql, trigger = (raw.execute("SELECT sql FROM sqlite_master WHERE name = ?", (name,)).fetchone()[0]
                    for name in ("records", "records_counted"))
    raw.executescript(
        "PRAGMA foreign_keys = OFF; CREATE TABLE old AS SELECT * FROM records; DROP TABLE records;"
        + sql.replace(", 'escalation', 'retry_plan', 'retry_approval', 'retry_execution', 'recovery_playbook',"
                      " 'recovery_closure')", ")") + "; INSERT INTO records SELECT * FROM old; DROP TABLE old;"
        + trigger + "; DROP TABLE route_deliveries; DROP TABLE approval_uses;"
        " DELETE FROM schema_version WHERE version >= 4;")
    with pytest.raises(sqlite3.IntegrityError):
        raw.execute("INSERT INTO records (kind, id, recorded_at, payload) VALUES ('escalation', 'x', 'now', '{}')")
    raw.close()
    with open_store(path) as store:
        assert {r["kind"] for r in store.history()} == {"plan", "escalation_plan"}
        assert [r["kind"] for r in store.history(schedule_id="s", kind="escalation_plan")] == ["escalation_plan"]
        store.record_escalations([{"evidence_id": "ev-1", "schedule_id": "s", "occurrence": "o", "route_key": "k",
                                   "connector": "c", "outcome": "delivered", "completed_at": NOW_ISO}])
        assert store.count_history(kind="escalation") == 1
        assert store.counts()["plans"] == 1  # the copied rows are not counted twice; new ones still are
        store.save_plan({"plan_id": "plan-2", "schedule_id": "s", "generated_at": NOW_ISO, "occurrence": "o"})
        assert store.counts()["plans"] == 2
    version = sqlite3.connect(path).execute("SELECT MAX(version) FROM schema_version").fetchone()[0]
    assert version == SCHEMA_VERSION == 6


def test_the_escalations_route_delivers_each_breach_once(dep: Deployment, api: TestClient) -> None:
    too_early = api.post(f"{N}/escalations", json={"now": LATER}, headers=dep.auth)
    assert too_early.status_code == 200 and too_early.json()["outcome"] == "nothing_to_deliver"
    late = (NOW + timedelta(minutes=20)).isoformat()  # platform-oncall's 15 minutes have passed
    sent = api.post(f"{N}/escalations", json={"now": late}, headers=dep.auth)
    assert sent.status_code == 200, sent.text
    body = sent.json()
    [notice] = body["notices"]
    assert (notice["breached_route_key"], notice["escalation_owner"], notice["level"]) == (
        KEY.format("platform-oncall", "webhook"), "incident-commander", 1)
    assert sorted(d["connector"] for d in body["deliveries"]) == ["webhook", "webhook-audit"]
    assert all(d["metadata_kind"] == "release-connector-escalation" for d in body["deliveries"])
    again = api.post(f"{N}/escalations", json={"now": late}, headers=dep.auth).json()
    assert again["outcome"] == "nothing_to_deliver" and again["notices"] == []
    assert api.get(N, params={"kind": "escalation"}).json()["total"] == 2
    assert api.post(f"{N}/escalations", json={"now": late}).status_code == 401
    assert_no_secret_leak(dep.secrets, *dep.responses)
