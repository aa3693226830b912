"""Never silent (issue 14, items 1-3): a schedule that cannot be read or routed still reaches someone,
through the fallback route, once per (file, problem); without a fallback route the commands say so
and fail; owner routes that narrow an owner to nothing are a failed check; the plan's provider lists
mean what they say."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("cavra_notify_webhook")

from cavra_notify.cli import main  # noqa: E402
from cavra_notify.testkit import FakeReceiver  # noqa: E402

from .conftest import NOW_ISO, example  # noqa: E402

Write = Callable[[str, Any], str]
LATER = "2026-11-27T09:05:00Z"


@pytest.fixture
def receiver() -> Iterator[FakeReceiver]:
    with FakeReceiver() as rx:
        yield rx


@pytest.fixture
def world(tmp_path: Path, receiver: FakeReceiver, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """A webhook-only schedule, its history, a private config with a webhook connector; no fallback yet."""
    schedule = example("schedule.json")
    schedule.update(notification_providers=["webhook"], owner_routes={})
    paths = {"schedule": tmp_path / "schedule.json", "history": tmp_path / "history.json",
             "config": tmp_path / "connectors.json", "policy": tmp_path / "policy.json"}
    paths["schedule"].write_text(json.dumps(schedule))
    paths["history"].write_text(json.dumps(example("history.json")))
    config = {"connectors": {"webhook": {"provider": "webhook", "url": f"{receiver.url}/hooks/cavra"}}}
    paths["config"].write_text(json.dumps(config))
    paths["policy"].write_text(json.dumps({"fallback_route": {"owner": "platform-admins", "providers": ["webhook"]}}))
    for key, value in {"CAVRA_GO_BACKEND_MODE": "promoted", "CAVRA_GO_ROLLBACK_DRILL_HISTORY": paths["history"],
                       "CAVRA_GO_ROLLBACK_DRILL_SCHEDULE": paths["schedule"],
                       "CAVRA_CONNECTOR_CONFIG": paths["config"],
                       "CAVRA_EVIDENCE_DB": tmp_path / "evidence.db"}.items():
        monkeypatch.setenv(key, str(value))
    return {"paths": paths, "schedule": schedule, "config": config}


def cavra(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, Any, str]:
    capsys.readouterr()
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, json.loads(out) if out.strip().startswith(("{", "[")) else out, err


def deliver(capsys: pytest.CaptureFixture[str], *extra: str, now: str = NOW_ISO) -> tuple[int, Any, str]:
    return cavra(capsys, "runtime", "go-rollback-drill-notification-deliver", "--now", now, "--json", *extra)


BROKEN: dict[str, Callable[[Path], None]] = {
    "missing": lambda p: p.unlink(),
    "invalid_json": lambda p: p.write_text("{not json"),
    "guard": lambda p: p.write_text(p.read_text().replace("docs/operators.md", "https://wiki.example.com/x")),
    "no_owners": lambda p: p.write_text(json.dumps({**json.loads(p.read_text()), "owners": []})),
}


@pytest.mark.parametrize("problem", sorted(BROKEN))
def test_a_broken_schedule_reaches_the_fallback_route_once(problem: str, world: dict[str, Any],
                                                           receiver: FakeReceiver,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    BROKEN[problem](world["paths"]["schedule"])
    policy = ("--routing-policy", str(world["paths"]["policy"]))
    code, result, _ = deliver(capsys, *policy)
    assert code == 0 and result["outcome"] == "delivered", result
    [evidence] = result["deliveries"]
    assert evidence["owner"] == "platform-admins" and evidence["provider"] == "webhook"
    [sent] = receiver.requests
    body = sent.json()
    assert body["status"] == "needs_attention" and body["message"]["facts"]["needs_attention_because"]
    assert "wiki.example.com" not in sent.body.decode(), "nothing from the untrusted file is sent"
    code, again, _ = deliver(capsys, *policy, now=LATER)
    assert code == 0 and again["outcome"] == "nothing_to_deliver" and len(receiver.requests) == 1


def test_the_fallback_route_may_live_in_the_private_config(world: dict[str, Any], receiver: FakeReceiver,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    world["paths"]["schedule"].write_text("[]")
    config = {**world["config"], "fallback_route": {"owner": "platform-admins", "providers": ["webhook"]}}
    world["paths"]["config"].write_text(json.dumps(config))
    code, plan, _ = cavra(capsys, "runtime", "go-rollback-drill-notification-plan", "--now", NOW_ISO, "--json")
    assert code == 0 and plan["fallback_route"] == {"owner": "platform-admins", "providers": ["webhook"]}
    assert plan["schedule_id"] == f"file:{world['paths']['schedule']}"
    assert [d["action"] for d in plan["route_decisions"]] == ["deliver"]
    code, result, _ = deliver(capsys)
    assert code == 0 and result["outcome"] == "delivered" and len(receiver.requests) == 1


def test_without_a_fallback_route_deliver_says_so_and_fails(world: dict[str, Any], receiver: FakeReceiver,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    world["paths"]["schedule"].write_text("{not json")
    code, out, err = deliver(capsys)
    assert code == 1 and out == ""
    assert err.count("\n") == 1 and "no fallback route" in err and "Traceback" not in err
    code, plan, err = cavra(capsys, "runtime", "go-rollback-drill-notification-plan", "--now", NOW_ISO, "--json")
    assert code == 1 and "fallback_route" in err
    assert plan["failed_checks"][-1]["id"] == "fallback_route" and receiver.requests == []


def test_without_a_fallback_route_the_api_answers_409(world: dict[str, Any]) -> None:
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from cavra_notify.api.app import create_app

    world["paths"]["schedule"].write_text("{not json")
    config = {**world["config"], "api": {"token": "never-silent-api-token-0123456789abcdef"}}
    world["paths"]["config"].write_text(json.dumps(config))
    with TestClient(create_app()) as client:
        response = client.post("/runtime/go-pilot/rollback-drill-notifications/deliver", json={"now": NOW_ISO},
                               headers={"authorization": "Bearer never-silent-api-token-0123456789abcdef"})
    assert response.status_code == 409 and "no fallback route" in response.json()["error"]


def test_not_requested_is_nothing_to_deliver(world: dict[str, Any], monkeypatch: pytest.MonkeyPatch,
                                             receiver: FakeReceiver, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("CAVRA_GO_BACKEND_MODE", "shadow")
    monkeypatch.delenv("CAVRA_GO_ROLLBACK_DRILL_SCHEDULE")
    code, result, err = deliver(capsys)
    assert (code, result["outcome"], err) == (0, "nothing_to_deliver", "") and receiver.requests == []


def test_an_owner_narrowed_to_nothing_is_a_failed_check(world: dict[str, Any], receiver: FakeReceiver,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    schedule = {**world["schedule"], "notification_providers": ["webhook", "slack"],
                "owner_routes": {"release-governance": {"providers": ["slack"]}}}
    world["paths"]["schedule"].write_text(json.dumps(schedule))
    code, report, _ = cavra(capsys, "runtime", "go-rollback-drill-schedule", "--now", NOW_ISO, "--json")
    failed = {c["id"]: c["message"] for c in report["checks"] if not c["passed"]}
    assert code == 1 and report["status"] == "needs_attention"
    assert failed["owner_routes"] == ("owner release-governance has no deliverable route (its owner route names no "
                                      "configured provider of the schedule)")
    code, plan, _ = cavra(capsys, "runtime", "go-rollback-drill-notification-plan", "--now", NOW_ISO, "--json")
    decisions = {(d["route"]["owner"], d["route"]["provider"]): (d["action"], d["category"])
                 for d in plan["route_decisions"]}
    assert decisions[("release-governance", "webhook")] == ("skip", "narrowed_out")
    assert decisions[("release-governance", "slack")] == ("skip", "not_configured")
    assert decisions[("platform-oncall", "webhook")] == ("deliver", None), "the other owner hears of it"
    code, result, _ = deliver(capsys)
    assert code == 0 and [e["owner"] for e in result["deliveries"]] == ["platform-oncall"]


def test_a_provider_no_owner_route_reaches_is_a_clear_error(world: dict[str, Any],
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    schedule = {**world["schedule"], "notification_providers": ["webhook", "slack"],
                "owner_routes": {owner: {"providers": ["webhook"]} for owner in world["schedule"]["owners"]}}
    world["paths"]["schedule"].write_text(json.dumps(schedule))
    for command in ("go-rollback-drill-notification-plan", "go-rollback-drill-notification-deliver"):
        code, out, err = cavra(capsys, "runtime", command, "--provider", "slack", "--now", NOW_ISO, "--json")
        assert code == 2 and out == "" and "no owner route reaches slack" in err


def test_provider_lists_mean_what_they_say(world: dict[str, Any], write_json: Write,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    schedule = {**world["schedule"], "notification_providers": ["webhook", "slack"], "next_due_at": None}
    world["paths"]["schedule"].write_text(json.dumps({k: v for k, v in schedule.items() if v is not None}))
    ready = ("--rollback-drill-due-soon-days", "1", "--now", NOW_ISO, "--json")
    code, plan, _ = cavra(capsys, "runtime", "go-rollback-drill-notification-plan", *ready)
    assert plan["status"] == "ready", plan["failed_checks"]
    assert plan["selected_providers"] == [], "a healthy plan delivers nothing, so nothing is selected"
    assert plan["suppressed_providers"] == ["webhook"] and plan["skipped_providers"] == ["slack"]
    code, forced, _ = cavra(capsys, "runtime", "go-rollback-drill-notification-plan", "--force", *ready)
    assert forced["selected_providers"] == ["webhook"] and forced["suppressed_providers"] == []


def test_a_reminder_is_a_new_notification_with_a_new_key(world: dict[str, Any], receiver: FakeReceiver,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 14 item 5: retries reuse a notification's key; a reminder after the repeat interval and a
    forced resend are new notifications, so a receiver that dedupes on the key still gets them."""
    from cavra_notify.testkit import Response

    receiver.enqueue(Response(500), Response(200))
    code, first, _ = deliver(capsys)
    [evidence] = [e for e in first["deliveries"] if e["owner"] == "release-governance"] or first["deliveries"][:1]
    assert code == 0 and first["outcome"] == "delivered"
    keys = [r.header("Idempotency-Key") for r in receiver.requests]
    retried = [k for k in keys if keys.count(k) == 2]
    assert retried, "the 500 was retried with the same key"
    code, quiet, _ = deliver(capsys, now=LATER)
    assert quiet["outcome"] == "nothing_to_deliver"
    code, reminder, _ = deliver(capsys, now="2026-11-28T09:30:00Z")  # after the 24 h repeat interval
    code, forced, _ = deliver(capsys, "--force", now="2026-11-28T09:31:00Z")
    first_keys = {e["delivery_key"] for e in first["deliveries"]}
    reminder_keys = {e["delivery_key"] for e in reminder["deliveries"]}
    forced_keys = {e["delivery_key"] for e in forced["deliveries"]}
    assert reminder["outcome"] == forced["outcome"] == "delivered"
    assert len(first_keys) == len(reminder_keys) == len(forced_keys) == len(first["deliveries"])
    assert not first_keys & reminder_keys and not reminder_keys & forced_keys and not first_keys & forced_keys
    assert {r.header("Idempotency-Key") for r in receiver.requests} == first_keys | reminder_keys | forced_keys


def test_the_console_header_is_the_worst_of_schedule_and_escalation(world: dict[str, Any]) -> None:
    """Issue 14 item 9: nothing delivered yet (escalation healthy), but the only schedule needs attention."""
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from cavra_notify.api.app import create_app

    with TestClient(create_app()) as client:
        overview = client.get("/runtime/go-pilot/rollback-drill-overview?now=2027-03-01T00:00:00Z").json()
    assert overview["outstanding_route_count"] == 0
    assert [s["status"] for s in overview["schedules"]] == ["needs_attention"]
    assert overview["alert_level"] == "critical"


@pytest.mark.parametrize("argv", [
    ["evidence", "list", "--limit", "99999999999999999999"],
    ["evidence", "list", "--limit", "0"],
    ["runtime", "go-rollback-drill-notification-deliver", "--timeout-seconds", "nan"],
    ["runtime", "go-rollback-drill-notification-deliver", "--deadline-seconds", "inf"],
    ["runtime", "go-rollback-drill-notification-deliver", "--retries", "-1"],
])
def test_absurd_flags_are_one_clear_line(argv: list[str], world: dict[str, Any],
                                         capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 15 item 11: bounds of every numeric delivery and history flag, checked once in the facade."""
    code, out, err = cavra(capsys, *argv)
    assert code == 2 and out == "" and err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("cavra: error: ")
