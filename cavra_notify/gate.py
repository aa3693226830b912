"""The Go pilot gate and production readiness: both read the rollback drill schedule report (SPEC §3).

In promoted mode the Go backend is selected only when the schedule is ``ready`` or ``due_soon`` and
every other evidence file that was given is present (and, for JSON evidence, parses). Anything else
selects the Python backend with a ``fallback_reason`` naming the first failed check. What the other
evidence *says* is CAVRA's business; this gate checks only that it is there and readable.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import InputError
from .history import Check
from .schedule import ScheduleReport
from .timeutil import iso

EVALUATION_SCHEMA = "cavra.go-backend-pilot.evaluation.v1"
READINESS_SCHEMA = "cavra.deployment.production-readiness.v1"
SCHEDULE_CHECK = "go_backend_rollback_drill_schedule"
HISTORY_CHECK = "go_backend_rollback_drills"
GO_SELECTABLE = frozenset({"ready", "due_soon"})


@dataclass(frozen=True)
class Evidence:
    """One other evidence input: its key, CLI flag, environment variable and expected kind."""

    key: str
    flag: str
    env: str
    kind: str  # "file", "dir" or "json"


EVIDENCE: tuple[Evidence, ...] = (
    Evidence("runtime_path", "--runtime-path", "CAVRA_GO_RUNTIME_PATH", "file"),
    Evidence("policy_path", "--policy-path", "CAVRA_GO_POLICY_PATH", "json"),
    Evidence("package_dir", "--package-dir", "CAVRA_GO_PACKAGE_DIR", "dir"),
    Evidence("promotion_evidence_path", "--promotion-evidence-path", "CAVRA_GO_PROMOTION_EVIDENCE_PATH", "json"),
    Evidence("rollback_plan_path", "--rollback-plan-path", "CAVRA_GO_ROLLBACK_PLAN_PATH", "json"),
    Evidence("rollback_rehearsal_path", "--rollback-rehearsal-path", "CAVRA_GO_ROLLBACK_REHEARSAL_PATH", "json"),
)


def evidence_paths(flags: Mapping[str, str | None], env: Mapping[str, str]) -> dict[str, str]:
    """Each evidence path from its flag, else its environment variable; absent ones are left out."""
    paths: dict[str, str] = {}
    for item in EVIDENCE:
        value = flags.get(item.key) or env.get(item.env)
        if value:
            paths[item.key] = value
    return paths


def _check_evidence(item: Evidence, path: str) -> Check:
    from .jsonfile import read_json

    check_id = f"{item.key}_present"
    file = Path(path)
    if item.kind == "dir":
        ok = file.is_dir()
        return Check(check_id, ok, f"{item.flag} {path}: " + ("directory present" if ok else "not a directory"))
    if not file.is_file():
        return Check(check_id, False, f"{item.flag} {path}: " + ("not a file" if file.exists() else "not found"))
    if item.kind == "json":
        try:
            read_json(path, item.flag)
        except InputError as exc:
            return Check(check_id, False, str(exc))
        return Check(check_id, True, f"{item.flag} {path}: readable JSON")
    readable = os.access(file, os.R_OK)
    return Check(check_id, readable, f"{item.flag} {path}: " + ("present" if readable else "not readable"))


def schedule_summary(report: ScheduleReport) -> dict[str, Any]:
    s = report.schedule
    configured = report.configured_connectors
    providers = list(s.notification_providers) if s else []
    failed = report.failed_checks
    return {
        "status": report.status,
        "alert_level": report.alert_level,
        "schedule_id": s.schedule_id if s else None,
        "next_due_at": iso(report.next_due_at),
        "days_until_due": report.days_until_due,
        "stale": report.stale,
        "due_soon": report.due_soon,
        "notification_providers": providers,
        "configured_providers": None if configured is None else [p for p in providers if p in configured],
        "failed_checks": [c.as_dict() for c in failed],
    }


def _schedule_check(report: ScheduleReport) -> Check:
    if report.status in GO_SELECTABLE:
        return Check(SCHEDULE_CHECK, True, f"rollback drill schedule {report.status}")
    detail = "; ".join(f"{c.id}: {c.message}" for c in report.failed_checks) or "no schedule"
    return Check(SCHEDULE_CHECK, False, f"rollback drill schedule {report.status}: {detail}")


def evaluate(action: str, target: str, mode: str, report: ScheduleReport,
             evidence: Mapping[str, str] | None = None) -> dict[str, Any]:
    """``cavra runtime go-pilot-evaluate`` / ``POST /runtime/go-pilot/evaluate``."""
    checks: list[Check] = []
    reason: str | None = None
    if mode != "promoted":
        reason = f"mode is {mode}"
    else:
        checks.append(_schedule_check(report))
        given = evidence or {}
        checks.extend(_check_evidence(item, given[item.key]) for item in EVIDENCE if item.key in given)
        failed = next((c for c in checks if not c.passed), None)
        reason = failed.message if failed else None
    return {
        "schema_version": EVALUATION_SCHEMA,
        "generated_at": iso(report.now),
        "action": action,
        "target": target,
        "mode": mode,
        "requested_backend": "go" if mode == "promoted" else "python",
        "selected_backend": "python" if reason else "go",
        "fallback_reason": reason,
        "rollback_drill_schedule": schedule_summary(report),
        "checks": [c.as_dict() for c in checks],
    }


def production_readiness(report: ScheduleReport, history: Mapping[str, Any]) -> dict[str, Any]:
    """``GET /deployment/production-readiness``: ``needs_attention`` in either check blocks readiness."""
    schedule = {"id": SCHEDULE_CHECK, "passed": report.acceptable, "blocking": not report.acceptable,
                **schedule_summary(report)}
    history_ok = history["status"] != "needs_attention"
    drills = {"id": HISTORY_CHECK, "passed": history_ok, "blocking": not history_ok, "status": history["status"],
              "latest_drill": history["history"]["latest_drill"],
              "failed_checks": [c for c in history["checks"] if not c["passed"]]}
    checks = [schedule, drills]
    return {
        "schema_version": READINESS_SCHEMA,
        "generated_at": iso(report.now),
        "mode": report.settings.mode,
        "ready": not any(c["blocking"] for c in checks),
        "blocking_checks": [c["id"] for c in checks if c["blocking"]],
        "checks": checks,
    }
