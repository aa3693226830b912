"""The Go pilot gate and production readiness: one list of gates, two renderings (SPEC §3).

:func:`gates` evaluates every gate once — the rollback drill schedule, the drill history, the
promotion evidence, the rollback plan and the rollback rehearsal evidence, plus the optional runtime,
policy and package inputs when they are given. :func:`evaluate` (``cavra runtime go-pilot-evaluate``,
``POST /runtime/go-pilot/evaluate``) selects Go in promoted mode only when every gate passes;
:func:`production_readiness` (``GET /deployment/production-readiness``) is ready only when no gate
blocks. Both read the same :class:`Gates`, so they cannot disagree.

What the evidence *says* is CAVRA's business; this gate checks that it is there and readable (JSON
evidence must parse). A failed gate's message names the gate and the path, never the file's content.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from .errors import InputError
from .schedule import ScheduleReport
from .timeutil import iso

EVALUATION_SCHEMA = "cavra.go-backend-pilot.evaluation.v1"
READINESS_SCHEMA = "cavra.deployment.production-readiness.v1"
SCHEDULE_CHECK = "go_backend_rollback_drill_schedule"
HISTORY_CHECK = "go_backend_rollback_drills"
GO_SELECTABLE = frozenset({"ready", "due_soon"})


@dataclass(frozen=True)
class Evidence:
    """One evidence input: its key, label, CLI flag, environment variable (and older alias), kind, and
    whether promoted mode requires it (a required input that is not given is a failed gate)."""

    key: str
    label: str
    flag: str
    env: str
    alias: str | None
    kind: str  # "file", "dir" or "json"
    required: bool

    @property
    def check_id(self) -> str:
        return f"{self.key}_present"


EVIDENCE: tuple[Evidence, ...] = (
    Evidence("promotion_evidence_path", "promotion evidence", "--promotion-evidence-path",
             "CAVRA_GO_PROMOTION_EVIDENCE", "CAVRA_GO_PROMOTION_EVIDENCE_PATH", "json", True),
    Evidence("rollback_plan_path", "rollback plan", "--rollback-plan-path",
             "CAVRA_GO_ROLLBACK_PLAN", "CAVRA_GO_ROLLBACK_PLAN_PATH", "json", True),
    Evidence("rollback_rehearsal_path", "rollback rehearsal evidence", "--rollback-rehearsal-path",
             "CAVRA_GO_ROLLBACK_REHEARSAL_EVIDENCE", "CAVRA_GO_ROLLBACK_REHEARSAL_PATH", "json", True),
    Evidence("runtime_path", "Go runtime", "--runtime-path", "CAVRA_GO_RUNTIME_PATH", None, "file", False),
    Evidence("policy_path", "compiled policy", "--policy-path", "CAVRA_GO_POLICY", "CAVRA_GO_POLICY_PATH",
             "json", False),
    Evidence("package_dir", "Go package directory", "--package-dir", "CAVRA_GO_PACKAGE_DIR", None, "dir", False),
)


def evidence_paths(flags: Mapping[str, str | None], env: Mapping[str, str]) -> dict[str, str]:
    """Each evidence path from its flag, else its variable, else the variable's older ``*_PATH`` alias
    (the product's name wins when both are set); inputs given nowhere are left out."""
    paths: dict[str, str] = {}
    for item in EVIDENCE:
        value = flags.get(item.key) or env.get(item.env) or (env.get(item.alias) if item.alias else None)
        if value:
            paths[item.key] = value
    return paths


@dataclass(frozen=True)
class GateCheck:
    """One gate: ``status`` is the schedule's or history's status, or for evidence ``present``,
    ``missing`` (not given, absent, unreadable or invalid) or ``not_requested`` (not promoted, not given)."""

    id: str
    passed: bool
    status: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "passed": self.passed, "message": self.message}


def _problem(item: Evidence, path: str) -> str | None:
    """Why the evidence at ``path`` is unusable (a short phrase), or ``None`` when it is usable."""
    file = Path(path)
    if item.kind == "dir":
        return None if file.is_dir() else "not a directory"
    if not file.is_file():
        return "not a file" if file.exists() else "not found"
    if item.kind == "json":
        from .jsonfile import read_json

        try:
            read_json(path, item.label)
        except InputError as exc:  # "<label> <path>: <why>"; the why never quotes the file's content
            return str(exc).removeprefix(f"{item.label} {Path(path)}: ")
        return None
    return None if os.access(file, os.R_OK) else "not readable"


def _evidence_check(item: Evidence, path: str | None, promoted: bool) -> GateCheck:
    if path is None:
        if not promoted:
            return GateCheck(item.check_id, True, "not_requested", f"{item.label} not requested (not promoted)")
        return GateCheck(item.check_id, False, "missing",
                         f"{item.label} not given (set {item.flag} or {item.env})")
    problem = _problem(item, path)
    if problem:
        return GateCheck(item.check_id, False, "missing", f"{item.label} {path}: {problem}")
    return GateCheck(item.check_id, True, "present", f"{item.label} {path}: present")


def _schedule_check(report: ScheduleReport) -> GateCheck:
    if report.acceptable:  # ready, due_soon, or not_requested (never in promoted mode)
        return GateCheck(SCHEDULE_CHECK, True, report.status, f"rollback drill schedule {report.status}")
    detail = "; ".join(f"{c.id}: {c.message}" for c in report.failed_checks) or "no schedule"
    return GateCheck(SCHEDULE_CHECK, False, report.status, f"rollback drill schedule {report.status}: {detail}")


def _history_check(history: Mapping[str, Any]) -> GateCheck:
    status = str(history["status"])
    if status != "needs_attention":  # ready, or not_requested (never in promoted mode)
        return GateCheck(HISTORY_CHECK, True, status, f"rollback drill history {status}")
    detail = "; ".join(f"{c['id']}: {c['message']}" for c in history["checks"] if not c["passed"])
    return GateCheck(HISTORY_CHECK, False, status, f"rollback drill history {status}: {detail or 'unhealthy'}")


@dataclass(frozen=True)
class Gates:
    """Every gate, evaluated once; the gate and readiness both render this record."""

    mode: str
    now: datetime
    schedule: ScheduleReport
    history: Mapping[str, Any]
    checks: tuple[GateCheck, ...]

    @property
    def blocking(self) -> list[str]:
        return [c.id for c in self.checks if not c.passed]

    @property
    def passed(self) -> bool:
        return not self.blocking


def gates(report: ScheduleReport, history: Mapping[str, Any], evidence: Mapping[str, str] | None = None) -> Gates:
    """The schedule, the drill history, the required evidence, and any optional evidence given."""
    given = dict(evidence or {})
    promoted = report.settings.mode == "promoted"
    checks = [_schedule_check(report), _history_check(history)]
    checks.extend(_evidence_check(item, given.get(item.key), promoted)
                  for item in EVIDENCE if item.required or item.key in given)
    return Gates(report.settings.mode, report.now, report, history, tuple(checks))


def schedule_summary(report: ScheduleReport) -> dict[str, Any]:
    s = report.schedule
    configured = report.configured_connectors
    providers = list(s.notification_providers) if s else []
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
        "failed_checks": [c.as_dict() for c in report.failed_checks],
    }


@dataclass(frozen=True)
class Evaluation:
    """The backend selection for one action (``checks`` is empty outside promoted mode)."""

    action: str
    target: str
    gates: Gates
    checks: tuple[GateCheck, ...]
    fallback_reason: str | None

    @property
    def requested_backend(self) -> str:
        return "go" if self.gates.mode == "promoted" else "python"

    @property
    def selected_backend(self) -> str:
        return "python" if self.fallback_reason else "go"

    def to_json(self) -> dict[str, Any]:
        return {
            "schema_version": EVALUATION_SCHEMA,
            "generated_at": iso(self.gates.now),
            "action": self.action,
            "target": self.target,
            "mode": self.gates.mode,
            "requested_backend": self.requested_backend,
            "selected_backend": self.selected_backend,
            "fallback_reason": self.fallback_reason,
            "blocking_checks": [c.id for c in self.checks if not c.passed],
            "rollback_drill_schedule": schedule_summary(self.gates.schedule),
            "checks": [c.as_dict() for c in self.checks],
        }


def evaluate(action: str, target: str, gates: Gates) -> Evaluation:
    """Promoted mode selects Go only when every gate passes; the reason is the first failed gate's."""
    if gates.mode != "promoted":
        return Evaluation(action, target, gates, (), f"mode is {gates.mode}")
    failed = next((c for c in gates.checks if not c.passed), None)
    return Evaluation(action, target, gates, gates.checks, failed.message if failed else None)


@dataclass(frozen=True)
class Readiness:
    """``GET /deployment/production-readiness``: ready when no gate blocks."""

    gates: Gates

    @property
    def ready(self) -> bool:
        return self.gates.passed

    @property
    def blocking_checks(self) -> list[str]:
        return self.gates.blocking

    def _check(self, check: GateCheck) -> dict[str, Any]:
        head = {"id": check.id, "passed": check.passed, "blocking": not check.passed}
        if check.id == SCHEDULE_CHECK:
            return {**head, **schedule_summary(self.gates.schedule)}
        if check.id == HISTORY_CHECK:
            history = self.gates.history
            return {**head, "status": history["status"], "latest_drill": history["history"]["latest_drill"],
                    "failed_checks": [c for c in history["checks"] if not c["passed"]]}
        return {**head, "status": check.status, "message": check.message}

    def to_json(self) -> dict[str, Any]:
        return {
            "schema_version": READINESS_SCHEMA,
            "generated_at": iso(self.gates.now),
            "mode": self.gates.mode,
            "ready": self.ready,
            "blocking_checks": self.blocking_checks,
            "checks": [self._check(c) for c in self.gates.checks],
        }


def production_readiness(gates: Gates) -> Readiness:
    return Readiness(gates)
