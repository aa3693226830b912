"""The Go pilot gate and production readiness, on real schedule reports (no web framework involved)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from cavra_notify import gate, settings
from cavra_notify.cli import main
from cavra_notify.history import history_report
from cavra_notify.schedule import ScheduleReport, evaluate_schedule

from .conftest import NOW, NOW_ISO, ROOT

HISTORY = str(ROOT / "examples" / "history.json")
WriteJson = Callable[[str, Any], str]


def report_for(schedule_path: str | None, mode: str = "promoted") -> ScheduleReport:
    resolved = settings.resolve(mode=mode, schedule_path=schedule_path, history_path=HISTORY, env={})
    return evaluate_schedule(resolved, NOW)


def due_in(write_json: WriteJson, doc: dict[str, Any], days: float) -> str:
    doc["next_due_at"] = (NOW + timedelta(days=days)).isoformat()
    return write_json("schedule.json", doc)


@pytest.fixture
def evidence(tmp_path: Path) -> dict[str, str]:
    package = tmp_path / "go-runtime-release"
    package.mkdir()
    runtime = tmp_path / "cavra-runtime"
    runtime.write_text("#!/bin/sh\n")
    paths = {"runtime_path": str(runtime), "package_dir": str(package)}
    for key in ("policy_path", "promotion_evidence_path", "rollback_plan_path", "rollback_rehearsal_path"):
        (tmp_path / f"{key}.json").write_text(json.dumps({"kind": key}))
        paths[key] = str(tmp_path / f"{key}.json")
    return paths


@pytest.mark.parametrize("days, status", [(30, "ready"), (5, "due_soon")])
def test_promoted_selects_go_when_schedule_acceptable_and_evidence_present(
        write_json: WriteJson, schedule_doc: dict[str, Any], evidence: dict[str, str], days: int, status: str) -> None:
    result = gate.evaluate("execute_command", "terraform plan", "promoted",
                           report_for(due_in(write_json, schedule_doc, days)), evidence)
    assert (result["selected_backend"], result["fallback_reason"]) == ("go", None)
    assert result["rollback_drill_schedule"]["status"] == status
    assert [c["id"] for c in result["checks"]] == ["go_backend_rollback_drill_schedule"] + [
        f"{item.key}_present" for item in gate.EVIDENCE]


@pytest.mark.parametrize("change, needle", [
    ({"next_due_at": "2026-11-01T00:00:00Z"}, "not_stale: next drill due 2026-11-01T00:00:00Z is past"),
    ({"status": "paused"}, "schedule_active: schedule status is 'paused'"),
    ({"notification_providers": []}, "providers_configured"),
    ({"runbook_ref": None}, "runbook_ref_present"),
])
def test_needs_attention_falls_back_to_python_naming_the_schedule(
        write_json: WriteJson, schedule_doc: dict[str, Any], change: dict[str, Any], needle: str) -> None:
    schedule_doc.update(change)
    result = gate.evaluate("execute_command", "terraform plan", "promoted",
                           report_for(write_json("schedule.json", schedule_doc)))
    assert result["selected_backend"] == "python"
    assert result["fallback_reason"].startswith("rollback drill schedule needs_attention: ")
    assert needle in result["fallback_reason"]


def test_promoted_without_a_schedule_falls_back() -> None:
    result = gate.evaluate("execute_command", "x", "promoted", report_for(None))
    assert result["selected_backend"] == "python" and "schedule_configured" in result["fallback_reason"]


@pytest.mark.parametrize("key, breakage, needle", [
    ("runtime_path", "missing", "--runtime-path"),
    ("package_dir", "file", "not a directory"),
    ("policy_path", "bad-json", "invalid JSON"),
    ("rollback_rehearsal_path", "missing", "not found"),
    ("promotion_evidence_path", "dir", "not a file"),
])
def test_missing_or_unreadable_evidence_falls_back(
        write_json: WriteJson, schedule_doc: dict[str, Any], evidence: dict[str, str], tmp_path: Path,
        key: str, breakage: str, needle: str) -> None:
    broken = tmp_path / f"broken-{key}"
    if breakage == "file":
        broken.write_text("not a dir")
    elif breakage == "bad-json":
        broken.write_text("{oops")
    elif breakage == "dir":
        broken.mkdir()
    evidence[key] = str(broken)
    result = gate.evaluate("execute_command", "x", "promoted", report_for(due_in(write_json, schedule_doc, 30)),
                           evidence)
    assert result["selected_backend"] == "python" and needle in result["fallback_reason"]
    failed = [c["id"] for c in result["checks"] if not c["passed"]]
    assert failed == [f"{key}_present"]


@pytest.mark.parametrize("mode", ["disabled", "shadow", "enforce"])
def test_other_modes_select_python(mode: str) -> None:
    result = gate.evaluate("execute_command", "x", mode, report_for(None, mode))
    assert (result["requested_backend"], result["selected_backend"]) == ("python", "python")
    assert result["fallback_reason"] == f"mode is {mode}" and result["checks"] == []


def test_evidence_paths_flags_win_over_environment() -> None:
    env = {"CAVRA_GO_RUNTIME_PATH": "/env/runtime", "CAVRA_GO_PACKAGE_DIR": "/env/pkg"}
    assert gate.evidence_paths({"runtime_path": "/flag/runtime", "policy_path": None}, env) == {
        "runtime_path": "/flag/runtime", "package_dir": "/env/pkg"}


@pytest.mark.parametrize("days, ready", [(30, True), (5, True), (-1, False)])
def test_readiness_blocks_only_on_needs_attention(write_json: WriteJson, schedule_doc: dict[str, Any],
                                                  days: int, ready: bool) -> None:
    report = report_for(due_in(write_json, schedule_doc, days))
    result = gate.production_readiness(report, history_report(report.settings, NOW, []))
    check = result["checks"][0]
    assert result["ready"] is ready and check["id"] == "go_backend_rollback_drill_schedule"
    assert check["blocking"] is not ready and check["stale"] is (days < 0)
    assert check["next_due_at"] == (NOW + timedelta(days=days)).isoformat().replace("+00:00", "Z")
    assert check["notification_providers"] == schedule_doc["notification_providers"]


def test_readiness_not_requested_passes() -> None:
    resolved = settings.resolve(mode="shadow", env={})
    report = evaluate_schedule(resolved, NOW)
    result = gate.production_readiness(report, history_report(resolved, NOW, []))
    assert result["ready"] is True and result["checks"][0]["status"] == "not_requested"


def test_readiness_blocks_on_an_unhealthy_drill_history(write_json: WriteJson, schedule_doc: dict[str, Any],
                                                        history_doc: dict[str, Any]) -> None:
    history_doc["drills"][-1]["status"] = "fail"
    resolved = settings.resolve(mode="promoted", schedule_path=due_in(write_json, schedule_doc, 30),
                                history_path=write_json("history.json", history_doc), env={})
    result = gate.production_readiness(evaluate_schedule(resolved, NOW), history_report(resolved, NOW, []))
    assert result["ready"] is False and result["blocking_checks"] == ["go_backend_rollback_drills"]


def test_cli_exit_codes(write_json: WriteJson, schedule_doc: dict[str, Any], evidence: dict[str, str],
                        capsys: pytest.CaptureFixture[str]) -> None:
    base = ["runtime", "go-pilot-evaluate", "execute_command", "terraform plan", "--now", NOW_ISO,
            "--rollback-drill-history-path", HISTORY]
    ok = main([*base, "--mode", "promoted", "--rollback-drill-schedule-path", due_in(write_json, schedule_doc, 30),
               "--runtime-path", evidence["runtime_path"], "--package-dir", evidence["package_dir"]])
    assert ok == 0 and "go backend" in capsys.readouterr().out
    stale = main([*base, "--mode", "promoted", "--json", "--rollback-drill-schedule-path",
                  due_in(write_json, schedule_doc, -2)])
    out = json.loads(capsys.readouterr().out)
    assert stale == 1 and out["selected_backend"] == "python"
    assert main([*base, "--mode", "shadow"]) == 0
    assert "python backend (mode is shadow)" in capsys.readouterr().out
    assert main([*base, "--mode", "promtoed"]) == 2
    assert "--mode: unknown mode" in capsys.readouterr().err
