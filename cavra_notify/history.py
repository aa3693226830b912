"""Drill history report (SPEC §2.1): is the latest rollback drill healthy and recent enough?"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from .errors import InputError
from .models import HISTORY_SCHEMA, Drill, DrillHistory, load
from .settings import Settings
from .timeutil import iso

REPORT_SCHEMA = "cavra.go-backend-pilot.rollback-drills.v1"


@dataclass
class Check:
    id: str
    passed: bool
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "passed": self.passed, "message": self.message}


@dataclass
class HistoryResult:
    """The loaded history (when it could be loaded) and the checks of its health."""

    history: DrillHistory | None
    checks: list[Check] = field(default_factory=list)
    load_error: str | None = None

    @property
    def latest(self) -> Drill | None:
        return self.history.latest() if self.history else None

    @property
    def healthy(self) -> bool:
        return self.history is not None and all(c.passed for c in self.checks)


def load_history(path: str | None, deny_names: list[str]) -> HistoryResult:
    if path is None:
        return HistoryResult(None, [Check("history_configured", False, "no drill history file configured")])
    try:
        history = load(path, "history", DrillHistory, deny_names)
    except InputError as exc:
        return HistoryResult(None, [Check("history_readable", False, str(exc))], load_error=str(exc))
    return HistoryResult(history, [Check("history_readable", True, f"{HISTORY_SCHEMA} loaded")])


def evaluate_history(result: HistoryResult, now: datetime, max_age_days: int) -> HistoryResult:
    """Add the health checks of the latest drill to ``result`` (in place) and return it."""
    drill = result.latest
    if result.history is None:
        return result
    if drill is None:
        result.checks.append(Check("latest_drill_present", False, "history has no drills"))
        return result
    recovery, limit = drill.recovery_minutes, drill.max_recovery_minutes
    age = now - drill.executed_at
    checks = [
        Check("latest_drill_passed", drill.status == "pass", f"latest drill status is {drill.status!r}"),
        Check(
            "latest_drill_modes",
            (drill.source_mode, drill.target_mode) == ("promoted", "disabled"),
            f"latest drill went from {drill.source_mode!r} to {drill.target_mode!r} "
            "(expected 'promoted' to 'disabled')",
        ),
        Check("fallback_verified", drill.fallback_verified is True, "Python fallback verified"
              if drill.fallback_verified else "latest drill did not verify the Python fallback"),
        Check(
            "recovery_within_limit",
            recovery is not None and limit is not None and 0 < recovery <= limit,
            f"recovery took {recovery} of at most {limit} minutes",
        ),
        Check("drill_runbook_ref", bool(drill.runbook_ref), "latest drill names a runbook"
              if drill.runbook_ref else "latest drill has no runbook_ref"),
        Check("drill_evidence_refs", bool(drill.evidence_refs),
              f"latest drill has {len(drill.evidence_refs)} evidence ref(s)"),
        Check(
            "latest_drill_recent",
            age <= timedelta(days=max_age_days),
            f"latest drill is {age.total_seconds() / 86400:.1f} days old (limit {max_age_days})",
        ),
    ]
    result.checks.extend(checks)
    return result


def history_summary(result: HistoryResult) -> dict[str, Any]:
    drill = result.latest
    return {
        "loaded": result.history is not None,
        "environment": result.history.environment if result.history else None,
        "drill_count": len(result.history.drills) if result.history else 0,
        "healthy": result.healthy,
        "latest_drill": None if drill is None else {
            "drill_id": drill.drill_id,
            "executed_at": iso(drill.executed_at),
            "status": drill.status,
            "source_mode": drill.source_mode,
            "target_mode": drill.target_mode,
            "fallback_verified": drill.fallback_verified,
            "recovery_minutes": drill.recovery_minutes,
            "max_recovery_minutes": drill.max_recovery_minutes,
        },
    }


def history_report(settings: Settings, now: datetime, deny_names: list[str]) -> dict[str, Any]:
    """``cavra runtime go-rollback-drills``: ``ready``, ``needs_attention`` or ``not_requested``."""
    if settings.mode != "promoted" and settings.history_path is None:
        status, checks = "not_requested", [Check("history_requested", True,
                                                 f"mode is {settings.mode!r} and no history was given")]
        result = HistoryResult(None, checks)
    else:
        result = evaluate_history(load_history(settings.history_path, deny_names), now,
                                  settings.max_age_days)
        status = "ready" if result.healthy else "needs_attention"
    return {
        "schema_version": REPORT_SCHEMA,
        "generated_at": iso(now),
        "mode": settings.mode,
        "status": status,
        "alert_level": "critical" if status == "needs_attention" else "healthy",
        "max_age_days": settings.max_age_days,
        "history": history_summary(result),
        "checks": [c.as_dict() for c in result.checks],
    }
