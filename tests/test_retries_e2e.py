"""Issue 17 end to end with real ``cavra`` processes and the webhook fake: outage → failed delivery →
retry plan → dry run → approval → live retry exactly once → execution record → playbook → connector
test → verified closure → tamper-evident export; canary secrets appear nowhere."""

from __future__ import annotations

import copy
import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("cavra_notify_webhook")

from cavra_notify.records import CLOSURE_HASHED, EXECUTION_HASHED  # noqa: E402
from cavra_notify.testkit import FakeReceiver, Response  # noqa: E402

from .conftest import NOW, example  # noqa: E402

CANARY_PATH = "canary-path-7f3c9e1d2b"
CANARY_SECRET = "canary-signing-8e2d4a6b0c"


def at(minutes: int) -> str:
    return (NOW + timedelta(minutes=minutes)).isoformat().replace("+00:00", "Z")


@pytest.fixture
def receiver() -> Iterator[FakeReceiver]:
    with FakeReceiver() as rx:
        yield rx


@pytest.fixture
def env(tmp_path: Path, receiver: FakeReceiver) -> dict[str, str]:
    schedule = copy.deepcopy(example("schedule.json"))
    schedule.update(schedule_id="sched_retry", notification_providers=["webhook"], owner_routes={},
                    next_due_at=at(3 * 24 * 60))
    (tmp_path / "schedule.json").write_text(json.dumps(schedule))
    (tmp_path / "history.json").write_text(json.dumps(example("history.json")))
    config = {"connectors": {"webhook": {"provider": "webhook", "url": {"env": "E2E_WEBHOOK_URL"},
                                         "signing_secret": {"env": "E2E_SIGNING"}}}}
    (tmp_path / "connectors.json").write_text(json.dumps(config))
    environment = {k: v for k, v in os.environ.items() if not k.startswith("CAVRA_")}
    environment.update(E2E_WEBHOOK_URL=f"{receiver.url}/{CANARY_PATH}", E2E_SIGNING=CANARY_SECRET,
                       CAVRA_EVIDENCE_DB=str(tmp_path / "ev.db"),
                       CAVRA_CONNECTOR_CONFIG=str(tmp_path / "connectors.json"),
                       CAVRA_GO_ROLLBACK_DRILL_SCHEDULE=str(tmp_path / "schedule.json"),
                       CAVRA_GO_ROLLBACK_DRILL_HISTORY=str(tmp_path / "history.json"), CAVRA_GO_BACKEND_MODE="promoted")
    return environment


class Cli:
    def __init__(self, env: dict[str, str]) -> None:
        self.env, self.outputs = env, []  # type: ignore[var-annotated]

    def __call__(self, *argv: str, code: int = 0, raw: bool = False) -> Any:
        done = subprocess.run([sys.executable, "-m", "cavra_notify", *argv], env=self.env, capture_output=True,
                              text=True, timeout=120)
        self.outputs.append(done.stdout + done.stderr)
        assert done.returncode == code, (argv, done.returncode, done.stdout, done.stderr)
        return json.loads(done.stdout) if "--json" in argv and done.stdout.strip() and not raw else done


def test_failed_notification_from_outage_to_verified_closure(env: dict[str, str], receiver: FakeReceiver,
                                                            tmp_path: Path) -> None:
    cavra = Cli(env)
    # outage: both routes answer 503 and the automatic retries give up
    receiver.enqueue(Response(503), Response(503))
    out = cavra("runtime", "go-rollback-drill-notification-deliver", "--retries", "0", "--now", at(0), "--json",
                code=4)
    assert out["failed_count"] == 2 and len(receiver.requests) == 2

    waiting = cavra("runtime", "go-rollback-drill-retry-plan", "--now", at(5), "--json")
    assert {e["action"] for e in waiting["entries"]} == {"wait"}
    assert waiting["entries"][0]["not_before"].startswith(at(15).removesuffix("Z"))

    plan = cavra("runtime", "go-rollback-drill-retry-plan", "--now", at(20), "--json")
    assert plan["counts"]["retry"] == 2 and plan["policy"]["delay_minutes"] == 15
    first, second = plan["entries"]
    assert first["failure_class"] == "server_error" and first["failed_evidence_id"].startswith("ev-")

    book = cavra("runtime", "connector-recovery-playbook", "--now", at(20), "--json")
    [entry] = book["entries"]
    assert (entry["connector"], entry["plugin"], entry["category"], entry["status"]) == (
        "webhook", "webhook", "webhook", "open")
    assert entry["failure_classes"] == {"server_error": 2}
    assert "provider's status" in entry["steps"][0]["step"]

    dry = cavra("runtime", "go-rollback-drill-retry-worker", "--now", at(20), "--json")
    assert [r["reason"] for r in dry["refusals"]] == ["missing_approval", "missing_approval"]
    assert dry["executions"] == [] and len(receiver.requests) == 2

    rid = plan["retry_plan_id"]
    approval = cavra("runtime", "go-rollback-drill-retry-decision", rid, first["entry_id"], "--decision", "approved",
                     "--actor", "release-manager", "--now", at(21), "--json")
    assert approval["expires_at"] == at(21 + 24 * 60) and approval["failed_evidence_id"] == first["failed_evidence_id"]
    cavra("runtime", "go-rollback-drill-retry-decision", rid, second["entry_id"], "--decision", "denied",
          "--actor", "release-manager", "--now", at(21))

    dry = cavra("runtime", "go-rollback-drill-retry-worker", "--now", at(22), "--json")
    assert sorted(r["reason"] for r in dry["refusals"]) == ["denied", "dry_run"]
    assert len(receiver.requests) == 2  # a dry run sends nothing

    live = cavra("runtime", "go-rollback-drill-retry-worker", "--execute", "--now", at(22), "--json")
    [execution] = live["executions"]
    assert execution["status"] == "delivered" and execution["approval_id"] == approval["approval_id"]
    assert [r["reason"] for r in live["refusals"]] == ["denied"]
    resent = receiver.requests[2:]
    assert len(resent) == 1 and resent[0].json()["route"]["route_key"] == first["route_key"]
    fields = {name: execution[name] for name in EXECUTION_HASHED}
    digest = hashlib.sha256(json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    assert execution["execution_hash"] == digest
    stored = cavra("evidence", "show", execution["delivery_evidence_id"], "--json")
    assert stored["payload"]["outcome"] == "delivered" and stored["payload"]["route_key"] == first["route_key"]

    again = cavra("runtime", "go-rollback-drill-retry-worker", "--execute", "--now", at(23), "--json")
    assert again["executions"] == [] and sorted(r["reason"] for r in again["refusals"]) == ["approval_used", "denied"]
    assert len(receiver.requests) == 3  # exactly once

    # recovery: resolved is refused until a success through the connector follows its last failure
    refused = cavra("runtime", "connector-recovery-closure", "webhook", "--state", "resolved", "--actor", "ops",
                    "--verification-ref", first["failed_evidence_id"], "--now", at(24), code=2)
    assert "needs a verification ref" in refused.stderr
    test = cavra("connectors", "test", "webhook", "--now", at(25), "--json")
    assert test["outcome"] == "delivered" and receiver.requests[-1].json()["message"]["title"] == "CAVRA connector test"
    closure = cavra("runtime", "connector-recovery-closure", "webhook", "--state", "resolved", "--actor", "ops",
                    "--verification-ref", test["evidence_id"], "--now", at(26), "--json")
    assert closure["state"] == "resolved" and closure["verification_refs"] == [test["evidence_id"]]
    fields = {name: closure[name] for name in CLOSURE_HASHED}
    assert closure["closure_hash"] == hashlib.sha256(
        json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    book = cavra("runtime", "connector-recovery-playbook", "--now", at(27), "--json")
    assert book["entries"][0]["status"] == "resolved"

    # everything is in the history and the export bundle; tampering is caught
    kinds = {r["kind"] for r in cavra("evidence", "list", "--schedule-id", "sched_retry", "--limit", "500", "--json")}
    assert {"retry_plan", "retry_approval", "retry_execution", "recovery_playbook", "recovery_closure"} <= kinds
    bundle = cavra("evidence", "export", "sched_retry", "--json")
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(bundle))
    cavra("evidence", "verify", str(path))
    for kind, key, value in (("retry_execution", "status", "failed"), ("recovery_closure", "state", "mitigated")):
        forged = copy.deepcopy(bundle)
        record = next(r for r in forged["records"] if r["kind"] == kind)
        record["payload"][key] = value
        path.write_text(json.dumps(forged))
        verdict = cavra("evidence", "verify", str(path), "--json", code=1)
        assert any("altered" in line and kind in line for line in verdict["problems"])

    # a new failure reopens the closed entry
    receiver.enqueue(Response(503))
    cavra("connectors", "test", "webhook", "--retries", "0", "--now", at(30), code=4)
    book = cavra("runtime", "connector-recovery-playbook", "--now", at(31), "--json")
    assert book["entries"][0]["status"] == "reopened"

    leaked = [o for o in cavra.outputs if CANARY_PATH in o or CANARY_SECRET in o]
    assert leaked == []
    stored_bytes = b"".join(p.read_bytes() for p in tmp_path.glob("ev.db*"))
    assert CANARY_PATH.encode() not in stored_bytes and CANARY_SECRET.encode() not in stored_bytes


def test_sweep_executes_approved_retries(env: dict[str, str], receiver: FakeReceiver, tmp_path: Path) -> None:
    cavra = Cli(env)
    receiver.enqueue(Response(500), Response(500))
    cavra("runtime", "go-rollback-drill-notification-deliver", "--retries", "0", "--now", at(0), code=4)
    plan = cavra("runtime", "go-rollback-drill-retry-plan", "--now", at(20), "--json")
    cavra("runtime", "go-rollback-drill-retry-decision", plan["retry_plan_id"], plan["entries"][1]["entry_id"],
          "--decision", "approved", "--actor", "release-manager", "--now", at(20))
    folder = tmp_path / "none"
    folder.mkdir()
    done = cavra("runtime", "go-rollback-drill-sweep", "--schedules", str(folder), "--now", at(21),
                 "--execute-approved-retries", "--json", raw=True)
    assert "1 delivered, 0 failed, 1 refused" in done.stderr
    assert [r.json()["route"]["route_key"] for r in receiver.requests[2:]] == [plan["entries"][1]["route_key"]]
