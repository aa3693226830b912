"""The Go pilot gate and production readiness, on real schedule and history reports (no web framework)."""

from __future__ import annotations

import dataclasses
import itertools
import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from cavra_notify import gate, settings
from cavra_notify.cli import main
from cavra_notify.facade import Cavra
from cavra_notify.history import history_report
from cavra_notify.schedule import ScheduleReport, evaluate_schedule

from .conftest import NOW, NOW_ISO, ROOT

HISTORY = str(ROOT / "examples" / "history.json")
WriteJson = Callable[[str, Any], str]
REQUIRED = [item for item in gate.EVIDENCE if item.required]
CANARY = "gate-content-canary-7f3a"


def report_for(schedule_path: str | None, mode: str = "promoted", history: str | None = HISTORY) -> ScheduleReport:
    resolved = settings.resolve(mode=mode, schedule_path=schedule_path, history_path=history, env={})
    return evaluate_schedule(resolved, NOW)


def gates_for(report: ScheduleReport, evidence: dict[str, str] | None = None) -> gate.Gates:
    return gate.gates(report, history_report(report.settings, NOW, []), evidence)


def evaluate(report: ScheduleReport, evidence: dict[str, str] | None = None) -> dict[str, Any]:
    return gate.evaluate("execute_command", "terraform plan", gates_for(report, evidence)).to_json()


def readiness(report: ScheduleReport, evidence: dict[str, str] | None = None) -> dict[str, Any]:
    return gate.production_readiness(gates_for(report, evidence)).to_json()


def due_in(write_json: WriteJson, doc: dict[str, Any], days: float) -> str:
    doc["next_due_at"] = (NOW + timedelta(days=days)).isoformat()
    return write_json("schedule.json", doc)


def failed_history(write_json: WriteJson, history_doc: dict[str, Any]) -> str:
    history_doc["drills"][-1]["status"] = "fail"
    return write_json("history.json", history_doc)


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


@pytest.fixture
def required(evidence: dict[str, str]) -> dict[str, str]:
    """Only the evidence promoted mode requires."""
    return {item.key: evidence[item.key] for item in REQUIRED}


# --- selection -------------------------------------------------------------------------------


@pytest.mark.parametrize("days, status", [(30, "ready"), (5, "due_soon")])
def test_promoted_selects_go_when_every_gate_passes(
        write_json: WriteJson, schedule_doc: dict[str, Any], evidence: dict[str, str], days: int, status: str) -> None:
    result = evaluate(report_for(due_in(write_json, schedule_doc, days)), evidence)
    assert (result["selected_backend"], result["fallback_reason"], result["blocking_checks"]) == ("go", None, [])
    assert result["rollback_drill_schedule"]["status"] == status
    assert [c["id"] for c in result["checks"]] == [gate.SCHEDULE_CHECK, gate.HISTORY_CHECK] + [
        item.check_id for item in gate.EVIDENCE]
    assert all(c["passed"] for c in result["checks"])


def test_the_required_evidence_alone_is_enough(write_json: WriteJson, schedule_doc: dict[str, Any],
                                               required: dict[str, str]) -> None:
    result = evaluate(report_for(due_in(write_json, schedule_doc, 30)), required)
    assert result["selected_backend"] == "go"
    assert [c["id"] for c in result["checks"]][2:] == [item.check_id for item in REQUIRED]


def test_promoted_refuses_go_when_the_latest_drill_failed(
        write_json: WriteJson, schedule_doc: dict[str, Any], history_doc: dict[str, Any],
        evidence: dict[str, str]) -> None:
    """Reproduction: the gate used to select Go here while readiness called the history blocking."""
    report = report_for(due_in(write_json, schedule_doc, 30), history=failed_history(write_json, history_doc))
    result = evaluate(report, evidence)
    assert result["selected_backend"] == "python" and result["blocking_checks"] == [gate.HISTORY_CHECK]
    assert result["fallback_reason"] == "rollback drill history needs_attention: latest_drill_passed: " \
                                        "latest drill status is 'fail'"


@pytest.mark.parametrize("item", REQUIRED, ids=lambda item: item.key)
def test_promoted_refuses_go_without_each_required_evidence(
        write_json: WriteJson, schedule_doc: dict[str, Any], evidence: dict[str, str], item: gate.Evidence) -> None:
    """Reproduction: the gate used to select Go with no promotion, rollback plan or rehearsal evidence."""
    del evidence[item.key]
    result = evaluate(report_for(due_in(write_json, schedule_doc, 30)), evidence)
    assert result["selected_backend"] == "python" and result["blocking_checks"] == [item.check_id]
    assert result["fallback_reason"] == f"{item.label} not given (set {item.flag} or {item.env})"


def test_every_failed_gate_has_its_own_reason(write_json: WriteJson, schedule_doc: dict[str, Any],
                                              history_doc: dict[str, Any]) -> None:
    report = report_for(due_in(write_json, schedule_doc, -2), history=failed_history(write_json, history_doc))
    result = evaluate(report)
    assert result["blocking_checks"] == [gate.SCHEDULE_CHECK, gate.HISTORY_CHECK] + [i.check_id for i in REQUIRED]
    reasons = [c["message"] for c in result["checks"]]
    assert len(set(reasons)) == len(reasons) and result["fallback_reason"] == reasons[0]
    names = ["rollback drill schedule", "rollback drill history"] + [i.label for i in REQUIRED]
    assert [reason.startswith(name) for reason, name in zip(reasons, names, strict=True)] == [True] * len(names)


@pytest.mark.parametrize("change, needle", [
    ({"next_due_at": "2026-11-01T00:00:00Z"}, "not_stale: next drill due 2026-11-01T00:00:00Z is past"),
    ({"status": "paused"}, "schedule_active: schedule status is 'paused'"),
    ({"notification_providers": []}, "providers_configured"),
    ({"runbook_ref": None}, "runbook_ref_present"),
])
def test_needs_attention_falls_back_to_python_naming_the_schedule(
        write_json: WriteJson, schedule_doc: dict[str, Any], evidence: dict[str, str],
        change: dict[str, Any], needle: str) -> None:
    schedule_doc.update(change)
    result = evaluate(report_for(write_json("schedule.json", schedule_doc)), evidence)
    assert result["selected_backend"] == "python" and result["blocking_checks"] == [gate.SCHEDULE_CHECK]
    assert result["fallback_reason"].startswith("rollback drill schedule needs_attention: ")
    assert needle in result["fallback_reason"]


def test_promoted_without_a_schedule_falls_back(evidence: dict[str, str]) -> None:
    result = evaluate(report_for(None), evidence)
    assert result["selected_backend"] == "python" and "schedule_configured" in result["fallback_reason"]


@pytest.mark.parametrize("key, breakage, needle", [
    ("runtime_path", "missing", "Go runtime"),
    ("package_dir", "file", "not a directory"),
    ("policy_path", "bad-json", "compiled policy"),
    ("rollback_rehearsal_path", "missing", "not found"),
    ("promotion_evidence_path", "dir", "not a file"),
    ("rollback_plan_path", "bad-json", "invalid JSON"),
    ("rollback_plan_path", "empty", "file is empty"),
    ("promotion_evidence_path", "binary", "not UTF-8"),
])
def test_missing_or_unreadable_evidence_is_a_failed_gate(
        write_json: WriteJson, schedule_doc: dict[str, Any], evidence: dict[str, str], tmp_path: Path,
        key: str, breakage: str, needle: str) -> None:
    broken = tmp_path / f"broken-{key}"
    if breakage == "file":
        broken.write_text("not a dir")
    elif breakage == "bad-json":
        broken.write_text("{" + CANARY)
    elif breakage == "empty":
        broken.write_text("  \n")
    elif breakage == "binary":
        broken.write_bytes(b"{\"\xc3\x28" + CANARY.encode())
    elif breakage == "dir":
        broken.mkdir()
    evidence[key] = str(broken)
    result = evaluate(report_for(due_in(write_json, schedule_doc, 30)), evidence)
    item = next(i for i in gate.EVIDENCE if i.key == key)
    assert result["selected_backend"] == "python" and result["blocking_checks"] == [item.check_id]
    assert result["fallback_reason"].startswith(f"{item.label} {broken}: ") and needle in result["fallback_reason"]
    assert CANARY not in json.dumps(result) and CANARY not in json.dumps(readiness(
        report_for(str(tmp_path / "schedule.json")), evidence))


@pytest.mark.parametrize("mode", ["disabled", "shadow", "enforce"])
def test_other_modes_select_python(mode: str) -> None:
    result = evaluate(report_for(None, mode))
    assert (result["requested_backend"], result["selected_backend"]) == ("python", "python")
    assert result["fallback_reason"] == f"mode is {mode}" and result["checks"] == []


def test_results_are_frozen_records_with_the_json_keys_of_before(required: dict[str, str]) -> None:
    evaluation = gate.evaluate("a", "t", gates_for(report_for(None), required))
    ready = gate.production_readiness(evaluation.gates)
    with pytest.raises(dataclasses.FrozenInstanceError):
        evaluation.fallback_reason = None  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        ready.gates = evaluation.gates  # type: ignore[misc]
    assert list(evaluation.to_json()) == ["schema_version", "generated_at", "action", "target", "mode",
                                          "requested_backend", "selected_backend", "fallback_reason",
                                          "blocking_checks", "rollback_drill_schedule", "checks"]
    assert list(ready.to_json()) == ["schema_version", "generated_at", "mode", "ready", "blocking_checks", "checks"]


# --- variables -------------------------------------------------------------------------------


def test_evidence_paths_flags_win_over_environment() -> None:
    env = {"CAVRA_GO_RUNTIME_PATH": "/env/runtime", "CAVRA_GO_PACKAGE_DIR": "/env/pkg"}
    assert gate.evidence_paths({"runtime_path": "/flag/runtime", "policy_path": None}, env) == {
        "runtime_path": "/flag/runtime", "package_dir": "/env/pkg"}


def test_product_variable_names_are_read_and_win_over_the_path_aliases() -> None:
    product = {"CAVRA_GO_PROMOTION_EVIDENCE": "/p/promotion", "CAVRA_GO_ROLLBACK_PLAN": "/p/plan",
               "CAVRA_GO_ROLLBACK_REHEARSAL_EVIDENCE": "/p/rehearsal", "CAVRA_GO_RUNTIME_PATH": "/p/runtime",
               "CAVRA_GO_POLICY": "/p/policy"}
    aliases = {"CAVRA_GO_PROMOTION_EVIDENCE_PATH": "/a/promotion", "CAVRA_GO_ROLLBACK_PLAN_PATH": "/a/plan",
               "CAVRA_GO_ROLLBACK_REHEARSAL_PATH": "/a/rehearsal", "CAVRA_GO_POLICY_PATH": "/a/policy"}
    keys = ["promotion_evidence_path", "rollback_plan_path", "rollback_rehearsal_path", "runtime_path",
            "policy_path"]
    assert gate.evidence_paths({}, product) == dict(zip(keys, product.values(), strict=True))
    assert gate.evidence_paths({}, aliases) == dict(zip(keys[:3] + keys[4:], aliases.values(), strict=True))
    assert gate.evidence_paths({}, {**aliases, **product}) == gate.evidence_paths({}, product)


def test_cli_reads_the_product_variable_names(write_json: WriteJson, schedule_doc: dict[str, Any],
                                              required: dict[str, str], monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["runtime", "go-pilot-evaluate", "execute_command", "terraform plan", "--json", "--now", NOW_ISO,
            "--mode", "promoted", "--rollback-drill-history-path", HISTORY,
            "--rollback-drill-schedule-path", due_in(write_json, schedule_doc, 30)]
    for item in REQUIRED:
        monkeypatch.setenv(item.env, required[item.key])
        assert item.alias is not None
        monkeypatch.setenv(item.alias, "/nowhere/alias-loses.json")
    assert main(argv) == 0 and json.loads(capsys.readouterr().out)["selected_backend"] == "go"


# --- readiness, and its agreement with the gate ----------------------------------------------


@pytest.mark.parametrize("days, ready", [(30, True), (5, True), (-1, False)])
def test_readiness_blocks_only_on_needs_attention(write_json: WriteJson, schedule_doc: dict[str, Any],
                                                  required: dict[str, str], days: int, ready: bool) -> None:
    result = readiness(report_for(due_in(write_json, schedule_doc, days)), required)
    check = result["checks"][0]
    assert result["ready"] is ready and check["id"] == "go_backend_rollback_drill_schedule"
    assert check["blocking"] is not ready and check["stale"] is (days < 0)
    assert check["next_due_at"] == (NOW + timedelta(days=days)).isoformat().replace("+00:00", "Z")
    assert check["notification_providers"] == schedule_doc["notification_providers"]
    assert [(c["id"], c["status"]) for c in result["checks"][2:]] == [(i.check_id, "present") for i in REQUIRED]


def test_readiness_not_requested_passes() -> None:
    result = readiness(report_for(None, "shadow", history=None))
    assert result["ready"] is True and result["blocking_checks"] == []
    assert [c["status"] for c in result["checks"]] == ["not_requested"] * (2 + len(REQUIRED))


def test_readiness_blocks_on_an_unhealthy_drill_history(write_json: WriteJson, schedule_doc: dict[str, Any],
                                                        history_doc: dict[str, Any], required: dict[str, str]) -> None:
    report = report_for(due_in(write_json, schedule_doc, 30), history=failed_history(write_json, history_doc))
    result = readiness(report, required)
    assert result["ready"] is False and result["blocking_checks"] == ["go_backend_rollback_drills"]


def test_readiness_blocks_on_missing_evidence(write_json: WriteJson, schedule_doc: dict[str, Any]) -> None:
    result = readiness(report_for(due_in(write_json, schedule_doc, 30)))
    assert result["ready"] is False and result["blocking_checks"] == [i.check_id for i in REQUIRED]
    assert [c["message"] for c in result["checks"][2:]] == [
        f"{i.label} not given (set {i.flag} or {i.env})" for i in REQUIRED]


EVIDENCE_STATES = ("present", "unset", "absent", "invalid")


def test_readiness_and_gate_agree_over_a_matrix(tmp_path: Path, schedule_doc: dict[str, Any],
                                                history_doc: dict[str, Any]) -> None:
    """Through the facade, as the API calls them: every schedule × history × evidence state × mode."""
    files: dict[str, str] = {}
    for days, name in ((30, "ready"), (5, "due_soon"), (-2, "stale")):
        schedule_doc["next_due_at"] = (NOW + timedelta(days=days)).isoformat()
        (tmp_path / f"schedule-{name}.json").write_text(json.dumps(schedule_doc))
        files[name] = str(tmp_path / f"schedule-{name}.json")
    files["healthy"] = HISTORY
    history_doc["drills"][-1]["status"] = "fail"
    (tmp_path / "failed.json").write_text(json.dumps(history_doc))
    files["failed"] = str(tmp_path / "failed.json")
    (tmp_path / "good.json").write_text("{}")
    (tmp_path / "invalid.json").write_text("{" + CANARY)
    state_path = {"present": str(tmp_path / "good.json"), "absent": str(tmp_path / "nope.json"),
                  "invalid": str(tmp_path / "invalid.json")}
    combos = itertools.product(("promoted", "shadow"), ("ready", "due_soon", "stale"), ("healthy", "failed"),
                               *[EVIDENCE_STATES] * len(REQUIRED))
    seen: set[tuple[str, bool]] = set()
    for mode, schedule, history, *states in combos:
        env = {"CAVRA_GO_BACKEND_MODE": mode, "CAVRA_GO_ROLLBACK_DRILL_SCHEDULE": files[schedule],
               "CAVRA_GO_ROLLBACK_DRILL_HISTORY": files[history]}
        env.update({item.env: state_path[state] for item, state in zip(REQUIRED, states, strict=True)
                    if state != "unset"})
        cavra = Cavra.from_flags(env=env)
        evaluation = cavra.gate("execute_command", "terraform plan", now=NOW).to_json()
        ready = cavra.readiness(NOW).to_json()
        every_gate = schedule != "stale" and history == "healthy" and set(states) == {"present"}
        case = (mode, schedule, history, *states)
        if mode == "promoted":
            assert [(c["id"], c["passed"]) for c in evaluation["checks"]] == [
                (c["id"], c["passed"]) for c in ready["checks"]], case
            assert evaluation["blocking_checks"] == ready["blocking_checks"], case
            assert (evaluation["selected_backend"] == "go") is ready["ready"] is every_gate, case
        else:
            assert evaluation["selected_backend"] == "python" and evaluation["checks"] == [], case
            # outside promoted mode an evidence input that is not given is not requested (and passes)
            assert ready["ready"] is (schedule != "stale" and history == "healthy"
                                      and not {"absent", "invalid"} & set(states)), case
        assert CANARY not in json.dumps(evaluation) + json.dumps(ready), case
        seen.add((mode, ready["ready"]))
    assert seen == {("promoted", True), ("promoted", False), ("shadow", True), ("shadow", False)}


# --- the command -----------------------------------------------------------------------------


def test_cli_reproductions_of_issue_14_item_8(write_json: WriteJson, schedule_doc: dict[str, Any],
                                               history_doc: dict[str, Any], evidence: dict[str, str],
                                               capsys: pytest.CaptureFixture[str]) -> None:
    """Promoted mode used to select Go after a failed drill, and with no evidence at all (exit 0)."""
    base = ["runtime", "go-pilot-evaluate", "execute_command", "terraform plan", "--now", NOW_ISO, "--json",
            "--mode", "promoted", "--rollback-drill-schedule-path", due_in(write_json, schedule_doc, 30)]
    flags = [arg for item in gate.EVIDENCE for arg in (item.flag, evidence[item.key])]
    failed = main([*base, "--rollback-drill-history-path", failed_history(write_json, history_doc), *flags])
    out = json.loads(capsys.readouterr().out)
    assert (failed, out["selected_backend"]) == (1, "python")
    assert out["fallback_reason"].startswith("rollback drill history needs_attention")
    bare = main([*base, "--rollback-drill-history-path", HISTORY])
    out = json.loads(capsys.readouterr().out)
    assert (bare, out["selected_backend"]) == (1, "python")
    assert out["fallback_reason"].startswith("promotion evidence not given")


def test_cli_exit_codes(write_json: WriteJson, schedule_doc: dict[str, Any], evidence: dict[str, str],
                        capsys: pytest.CaptureFixture[str]) -> None:
    base = ["runtime", "go-pilot-evaluate", "execute_command", "terraform plan", "--now", NOW_ISO,
            "--rollback-drill-history-path", HISTORY]
    flags = [arg for item in gate.EVIDENCE for arg in (item.flag, evidence[item.key])]
    ok = main([*base, "--mode", "promoted", "--rollback-drill-schedule-path", due_in(write_json, schedule_doc, 30),
               *flags])
    assert ok == 0 and "go backend" in capsys.readouterr().out
    stale = main([*base, "--mode", "promoted", "--json", "--rollback-drill-schedule-path",
                  due_in(write_json, schedule_doc, -2), *flags])
    out = json.loads(capsys.readouterr().out)
    assert stale == 1 and out["selected_backend"] == "python"
    unproven = main([*base, "--mode", "promoted", "--rollback-drill-schedule-path",
                     due_in(write_json, schedule_doc, 30)])
    assert unproven == 1 and "python backend (promotion evidence not given" in capsys.readouterr().out
    assert main([*base, "--mode", "shadow"]) == 0
    assert "python backend (mode is shadow)" in capsys.readouterr().out
    assert main([*base, "--mode", "promtoed"]) == 2
    assert "--mode: unknown mode" in capsys.readouterr().err
