"""The read-only CLI: exit codes, human and JSON output, one clear line for bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest

from cavra_notify.cli import main

from .conftest import NOW_ISO, ROOT

Write = Callable[[str, Any], str]
EX = ROOT / "examples"
BASE = ["--mode", "promoted", "--rollback-drill-history-path", str(EX / "history.json"),
        "--rollback-drill-schedule-path", str(EX / "schedule.json"), "--now", NOW_ISO]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_schedule_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "runtime", "go-rollback-drill-schedule", *BASE, "--json")
    payload = json.loads(out)
    assert code == 0 and payload["status"] == "due_soon"
    assert payload["schema_version"] == "cavra.go-backend-pilot.rollback-drill-schedule.v1"
    assert payload["schedule"]["next_due_at"] == "2026-12-10T15:40:00Z"


def test_schedule_human(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "runtime", "go-rollback-drill-schedule", *BASE)
    assert code == 0 and "due_soon" in out and "next drill due: 2026-12-10T15:40:00Z (13.3 days)" in out


def test_needs_attention_exit_1_and_reason(capsys: pytest.CaptureFixture[str]) -> None:
    argv = [a if a != NOW_ISO else "2027-01-20T00:00:00Z" for a in BASE]
    code, out, _ = run(capsys, "runtime", "go-rollback-drill-schedule", *argv)
    assert code == 1 and "needs attention: not_stale" in out


def test_history_command(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "runtime", "go-rollback-drills", "--mode", "promoted",
                       "--rollback-drill-history-path", str(EX / "history.json"), "--now", NOW_ISO, "--json")
    payload = json.loads(out)
    assert code == 0 and payload["status"] == "ready"
    assert payload["history"]["latest_drill"]["drill_id"] == "drill-2026-11-10"
    code, out, _ = run(capsys, "runtime", "go-rollback-drills", "--mode", "promoted", "--now", "2027-06-01T00:00:00Z",
                       "--rollback-drill-history-path", str(EX / "history.json"), "--rollback-drill-max-age-days", "30")
    assert code == 1 and "latest_drill_recent" in out


def test_not_requested(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("CAVRA_GO_BACKEND_MODE", "CAVRA_GO_ROLLBACK_DRILL_SCHEDULE"):
        monkeypatch.delenv(name, raising=False)
    code, out, _ = run(capsys, "runtime", "go-rollback-drill-schedule", "--json")
    assert code == 0 and json.loads(out)["status"] == "not_requested"


def test_plan_table(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "runtime", "go-rollback-drill-notification-plan", *BASE,
                       "--routing-policy", str(EX / "routing-policy.json"))
    assert code == 0
    assert "release-governance  jira        suppress  maintenance_window  change advisory board freeze" in out


@pytest.mark.parametrize(("argv", "words"), [
    (["--mode", "promtoed"], "--mode: unknown mode 'promtoed'"),
    (["--rollback-drill-due-soon-days", "abc"], "--rollback-drill-due-soon-days: expected a whole number"),
    (["--now", "2026-11-27T09:00:00"], "--now: timestamp has no UTC offset"),
    (["--now", "yesterday"], "--now: not an ISO 8601 timestamp"),
    (["--now", "9999-12-31T23:59:59-14:00"], "--now: year 9999 is outside 1970..9000"),
])
def test_bad_flags_one_line_exit_2(capsys: pytest.CaptureFixture[str], argv: list[str], words: str) -> None:
    code, out, err = run(capsys, "runtime", "go-rollback-drill-schedule", *argv)
    assert code == 2 and out == "" and err.count("\n") == 1 and words in err and "Traceback" not in err


def test_bad_env_var_names_it(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAVRA_GO_ROLLBACK_DRILL_DUE_SOON_DAYS", "abc")
    code, _, err = run(capsys, "runtime", "go-rollback-drill-schedule")
    assert code == 2 and "CAVRA_GO_ROLLBACK_DRILL_DUE_SOON_DAYS" in err


def test_bad_routing_policy_exit_2(capsys: pytest.CaptureFixture[str], write_json: Write) -> None:
    code, _, err = run(capsys, "runtime", "go-rollback-drill-notification-plan", *BASE,
                       "--routing-policy", write_json("p.json", "{broken"))
    assert code == 2 and "routing policy" in err and "invalid JSON" in err


def test_unknown_provider_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "runtime", "go-rollback-drill-notification-plan", *BASE, "--provider", "pager")
    assert code == 2 and "unknown provider pager" in err


def test_console_script_no_traceback(write_json: Write) -> None:
    proc = subprocess.run([sys.executable, "-m", "cavra_notify", "runtime", "go-rollback-drill-notification-plan",
                           "--rollback-drill-schedule-path", str(EX / "schedule.json"), "--routing-policy",
                           write_json("p.json", "[1, 2]"), "--now", NOW_ISO], capture_output=True, text=True)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and "routing policy" in proc.stderr


@pytest.mark.parametrize("command", ["go-rollback-drills", "go-rollback-drill-schedule",
                                     "go-rollback-drill-notification-plan"])
def test_read_only_parser_is_the_full_parsers_command(capsys: pytest.CaptureFixture[str], command: str) -> None:
    """A read-only command builds only its own parser; its help and errors are the full parser's."""
    from cavra_notify.cli import build_parser

    outputs = []
    for parser in (build_parser(["runtime", command]), build_parser()):
        for argv in (["runtime", command, "--help"], ["runtime", command, "--no-such-flag"]):
            with pytest.raises(SystemExit):
                parser.parse_args(argv)
            outputs.append(capsys.readouterr())
    assert outputs[:2] == outputs[2:] and "--rollback-drill-history-path" in outputs[0].out
    assert "unrecognized arguments: --no-such-flag" in outputs[1].err


def test_read_only_commands_use_the_connector_config(capsys: pytest.CaptureFixture[str], write_json: Write) -> None:
    """The light read path still applies the config's customer deny-list and its configured connectors."""
    config = write_json("connectors.json", {"connectors": {"pagerduty": {}}, "customer_denylist": ["platform-oncall"]})
    code, out, _ = run(capsys, "runtime", "go-rollback-drill-schedule", *BASE, "--connector-config", config, "--json")
    checks = {c["id"]: c for c in json.loads(out)["checks"]}
    assert code == 1 and "deny-list" in checks["schedule_public_safe"]["message"]
    config = write_json("connectors.json", {"connectors": {"pagerduty": {}}})
    code, out, _ = run(capsys, "runtime", "go-rollback-drill-schedule", *BASE, "--connector-config", config, "--json")
    checks = {c["id"]: c for c in json.loads(out)["checks"]}
    assert code == 1 and not checks["deliverable_route"]["passed"]
    config = write_json("connectors.json", {"connectors": {}, "customer_denylist": ["platform-oncall"]})
    code, out, _ = run(capsys, "runtime", "go-rollback-drills", "--mode", "promoted", "--now", NOW_ISO, "--json",
                       "--rollback-drill-history-path", str(EX / "history.json"), "--connector-config", config)
    checks = {c["id"]: c for c in json.loads(out)["checks"]}
    assert code == 1 and "deny-list" in checks["history_readable"]["message"]
    missing = config + ".missing"
    code, _, err = run(capsys, "runtime", "go-rollback-drill-schedule", *BASE, "--connector-config", missing)
    assert code == 2 and "connector config" in err and "file not found" in err
