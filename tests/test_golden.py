"""Golden JSON: the payload of every evidence-writing command and API route is pinned byte for byte.

One scenario (the bundled examples, a webhook connector to a loopback receiver, a fixed ``now``) runs
through the CLI and the API; volatile values (uuids, wall-clock times, the receiver's port) are replaced
by placeholders, and the result must equal ``tests/golden/<name>.json``. Regenerate on purpose with
``CAVRA_UPDATE_GOLDEN=1 python -m pytest tests/test_golden.py`` and review the diff.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("cavra_notify_webhook")

from cavra_notify.cli import main  # noqa: E402
from cavra_notify.testkit import FakeReceiver  # noqa: E402

from .conftest import NOW_ISO, ROOT  # noqa: E402

GOLDEN = Path(__file__).parent / "golden"
EX = ROOT / "examples"
LATER = "2026-11-27T10:30:00Z"
# values the clock or the operating system chooses: the keys' values become placeholders
VOLATILE = {"evidence_id", "started_at", "completed_at", "recorded_at", "claimed_at", "acknowledgement_id",
            "id", "at", "elapsed_ms", "duration_ms", "exported_at", "lease_until", "content_hash", "chain_hash",
            "index", "seq"}
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
FRACTION = re.compile(r"(T\d{2}:\d{2}):\d{2}\.\d+")  # now + the time a delivery took


def normalise(value: Any, port: int) -> Any:
    if isinstance(value, dict):
        return {k: (f"<{k}>" if k in VOLATILE and v is not None else normalise(v, port)) for k, v in value.items()}
    if isinstance(value, list):
        return [normalise(v, port) for v in value]
    if isinstance(value, str):
        return FRACTION.sub(r"\1:<seconds>", UUID.sub("<uuid>", value.replace(f":{port}", ":<port>")))
    return value


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("golden")
    with FakeReceiver() as rx:
        config = tmp / "connectors.json"
        # every owner is reachable: platform-oncall through the webhook, release-governance through a
        # connector named "jira" that the webhook plugin serves (slack, teams, servicenow: not configured)
        config.write_text(json.dumps({"connectors": {
            "webhook": {"provider": "webhook", "url": f"{rx.url}/hooks/cavra",
                        "signing_secret": "golden-signing-secret-0000"},
            "jira": {"provider": "webhook", "url": f"{rx.url}/hooks/jira"}},
            "api": {"token": "golden-api-token-0123456789abcdef"}}))
        env = {"CAVRA_GO_BACKEND_MODE": "promoted", "CAVRA_GO_ROLLBACK_DRILL_HISTORY": str(EX / "history.json"),
               "CAVRA_GO_ROLLBACK_DRILL_SCHEDULE": str(EX / "schedule.json"),
               "CAVRA_CONNECTOR_CONFIG": str(config), "CAVRA_EVIDENCE_DB": str(tmp / "evidence.db")}
        yield {"env": env, "port": rx.port, "tmp": tmp, "rx": rx}


@pytest.fixture
def cavra(world: dict[str, Any], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Any:
    for key, value in world["env"].items():
        monkeypatch.setenv(key, value)

    def run(*argv: str) -> Any:
        capsys.readouterr()
        code = main(list(argv))
        out, err = capsys.readouterr()
        assert code in (0, 1), err
        return normalise(json.loads(out), world["port"])

    return run


def in_stable_order(payload: Any) -> Any:
    """Routes of one run finish in any order, so the store numbers their records in any order: lists of
    stored records (history, bundle records, the overview's recent deliveries) are sorted by content;
    their positions are masked."""
    if isinstance(payload, dict):
        return {key: in_stable_order(value) for key, value in payload.items()}
    if isinstance(payload, list):
        items = [in_stable_order(item) for item in payload]
        if items and all(isinstance(r, dict) and ("kind" in r or "evidence_id" in r) for r in items):
            return sorted(items, key=lambda r: json.dumps(r, sort_keys=True))
        return items
    return payload


def check(name: str, payload: Any) -> None:
    payload = in_stable_order(payload)
    path = GOLDEN / f"{name}.json"
    text = json.dumps(payload, indent=2, sort_keys=False) + "\n"
    if os.environ.get("CAVRA_UPDATE_GOLDEN") == "1":
        GOLDEN.mkdir(exist_ok=True)
        path.write_text(text)
    assert path.exists(), f"missing golden file {path.name}: run with CAVRA_UPDATE_GOLDEN=1"
    assert text == path.read_text(), f"{name}: JSON differs from {path.name}"


RUNTIME = ("runtime",)
POLICY = ("--routing-policy", str(EX / "routing-policy.json"))


def test_golden_cli_sequence(cavra: Any) -> None:
    """Evaluate, plan, deliver, deliver again, acknowledge, escalate, list and export, in that order."""
    check("cli_history_report", cavra(*RUNTIME, "go-rollback-drills", "--now", NOW_ISO, "--json"))
    check("cli_schedule_report", cavra(*RUNTIME, "go-rollback-drill-schedule", "--now", NOW_ISO, "--json"))
    check("cli_plan", cavra(*RUNTIME, "go-rollback-drill-notification-plan", *POLICY, "--now", NOW_ISO, "--json"))
    check("cli_plan_forced_webhook", cavra(*RUNTIME, "go-rollback-drill-notification-plan", *POLICY,
                                           "--provider", "webhook", "--force", "--now", NOW_ISO, "--json"))
    check("cli_deliver", cavra(*RUNTIME, "go-rollback-drill-notification-deliver", *POLICY, "--now", NOW_ISO,
                               "--json"))
    check("cli_deliver_again", cavra(*RUNTIME, "go-rollback-drill-notification-deliver", *POLICY,
                                     "--now", NOW_ISO, "--json"))
    check("cli_ack", cavra(*RUNTIME, "go-rollback-drill-notification-ack", "go_backend_python_fallback_monthly",
                           "--provider", "webhook", "--acknowledged-by", "alice", "--now", NOW_ISO, "--json"))
    check("cli_escalation_plan", cavra(*RUNTIME, "go-rollback-drill-escalation-plan", "--now", LATER, "--json"))
    check("cli_history", cavra("evidence", "list", "--json"))
    check("cli_dashboard", cavra("evidence", "dashboard", "--now", LATER, "--json"))
    check("cli_export", cavra("evidence", "export", "go_backend_python_fallback_monthly"))


def test_golden_api(world: dict[str, Any], tmp_path: Path) -> None:
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from cavra_notify.api.app import create_app

    env = {**world["env"], "CAVRA_EVIDENCE_DB": str(tmp_path / "api.db")}
    auth = {"authorization": "Bearer golden-api-token-0123456789abcdef"}
    with TestClient(create_app(env)) as client:
        def call(method: str, url: str, body: Any = None) -> Any:
            response = client.request(method, url, json=body, headers=auth)
            assert response.status_code < 300, response.text
            return normalise(response.json(), world["port"])

        notifications = "/runtime/go-pilot/rollback-drill-notifications"
        policy = json.loads((EX / "routing-policy.json").read_text())
        check("api_schedule_report", call("GET", f"/runtime/go-pilot/rollback-drill-schedule?now={NOW_ISO}"))
        check("api_drills", call("GET", f"/runtime/go-pilot/rollback-drills?now={NOW_ISO}"))
        check("api_plan", call("POST", f"{notifications}/plan", {"now": NOW_ISO, "routing_policy": policy}))
        check("api_deliver", call("POST", f"{notifications}/deliver", {"now": NOW_ISO, "routing_policy": policy}))
        check("api_ack", call("POST", f"{notifications}/go_backend_python_fallback_monthly/acknowledgements",
                              {"provider": "webhook", "acknowledged_by": "bob", "now": NOW_ISO}))
        check("api_escalation_plan", call("POST", f"{notifications}/escalation-plan", {"now": LATER}))
        check("api_history", call("GET", notifications))
        check("api_dashboard", call("GET", f"{notifications}/dashboard?now={LATER}"))
        check("api_readiness", call("GET", f"/deployment/production-readiness?now={NOW_ISO}"))
        check("api_overview", call("GET", f"/runtime/go-pilot/rollback-drill-overview?now={LATER}"))


def test_every_evidence_command_takes_json(cavra: Any, world: dict[str, Any], capsys: pytest.CaptureFixture[str]
                                           ) -> None:
    """The README promises ``--json`` everywhere: show, export, verify and dashboard accept it too."""
    cavra(*RUNTIME, "go-rollback-drill-notification-deliver", *POLICY, "--now", NOW_ISO, "--json")
    [record] = cavra("evidence", "list", "--kind", "plan", "--limit", "1", "--json")
    plan_id = record["payload"]["plan_id"]
    assert cavra("evidence", "show", plan_id, "--json")["payload"]["plan_id"] == plan_id
    bundle = cavra("evidence", "export", "go_backend_python_fallback_monthly", "--json")
    assert bundle["records"]
    path = world["tmp"] / "bundle.json"
    main(["evidence", "export", "go_backend_python_fallback_monthly"])
    path.write_text(capsys.readouterr().out)
    verdict = cavra("evidence", "verify", str(path), "--json")
    assert verdict["intact"] is True and verdict["problems"] == [] and verdict["record_count"] > 0
    board = cavra("evidence", "dashboard", "--now", LATER, "--json")
    assert board["alert_level"] in ("healthy", "warning", "critical")
    capsys.readouterr()
    assert main(["evidence", "dashboard", "--now", LATER]) == 0
    assert "evidence dashboard as of" in capsys.readouterr().out
