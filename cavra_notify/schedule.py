"""Schedule report (SPEC §3): is the next rollback drill ready, due soon, or in need of attention?"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from .errors import InputError
from .history import Check, HistoryResult, evaluate_history, history_summary, load_history
from .models import SCHEDULE_SCHEMA, DrillSchedule, GuardError, SchemaError, load
from .settings import Settings
from .timeutil import iso

REPORT_SCHEMA = "cavra.go-backend-pilot.rollback-drill-schedule.v1"
ALERT_LEVELS = {"needs_attention": "critical", "due_soon": "warning"}
ACCEPTABLE = frozenset({"ready", "due_soon", "not_requested"})


@dataclass
class ScheduleReport:
    """The evaluated schedule: the loaded model (if any), derived dates, checks and status."""

    status: str
    now: datetime
    settings: Settings
    schedule: DrillSchedule | None = None
    history: HistoryResult | None = None
    next_due_at: datetime | None = None
    checks: list[Check] = field(default_factory=list)
    configured_connectors: frozenset[str] | None = None

    @property
    def alert_level(self) -> str:
        return ALERT_LEVELS.get(self.status, "healthy")

    @property
    def days_until_due(self) -> float | None:
        if self.next_due_at is None:
            return None
        return round((self.next_due_at - self.now).total_seconds() / 86400, 3)

    @property
    def stale(self) -> bool:
        return self.next_due_at is None or self.next_due_at < self.now

    @property
    def due_soon(self) -> bool:
        if self.next_due_at is None or self.stale:
            return False
        return self.next_due_at - self.now <= timedelta(days=self.settings.due_soon_days)

    @property
    def acceptable(self) -> bool:
        return self.status in ACCEPTABLE

    @property
    def failed_checks(self) -> list[Check]:
        return [c for c in self.checks if not c.passed]

    def as_dict(self) -> dict[str, Any]:
        s = self.schedule
        return {
            "schema_version": REPORT_SCHEMA,
            "generated_at": iso(self.now),
            "mode": self.settings.mode,
            "status": self.status,
            "alert_level": self.alert_level,
            "production_ready": self.acceptable,
            "due_soon_days": self.settings.due_soon_days,
            "schedule": {
                "schedule_id": s.schedule_id if s else None,
                "environment": s.environment if s else None,
                "status": s.status if s else None,
                "interval_days": s.interval_days if s else None,
                "next_due_at": iso(self.next_due_at),
                "days_until_due": self.days_until_due,
                "stale": self.stale,
                "due_soon": self.due_soon,
                "owners": list(s.owners) if s else [],
                "notification_providers": list(s.notification_providers) if s else [],
                "runbook_ref": s.runbook_ref if s else None,
            },
            "history": history_summary(self.history) if self.history else None,
            "checks": [c.as_dict() for c in self.checks],
        }


def _load_schedule(path: str, deny_names: list[str]) -> tuple[DrillSchedule | None, list[Check]]:
    try:
        schedule = load(path, "schedule", DrillSchedule, deny_names)
    except GuardError as exc:
        return None, [Check("schedule_readable", True, "schedule is valid JSON"),
                      Check("schedule_public_safe", False, str(exc))]
    except SchemaError as exc:
        return None, [Check("schedule_readable", True, "schedule is valid JSON"),
                      Check("schedule_public_safe", True, "no secrets, hosts or customer names"),
                      Check("schedule_schema", False, str(exc))]
    except InputError as exc:
        return None, [Check("schedule_readable", False, str(exc))]
    return schedule, [
        Check("schedule_readable", True, "schedule is valid JSON"),
        Check("schedule_public_safe", True, "no secrets, hosts or customer names"),
        Check("schedule_schema", True, f"{SCHEDULE_SCHEMA}"),
    ]


def _content_checks(s: DrillSchedule, configured: frozenset[str] | None) -> list[Check]:
    checks = [
        Check("schedule_active", s.status == "active", f"schedule status is {s.status!r}"),
        Check("interval_positive", (s.interval_days or 0) > 0, f"interval_days is {s.interval_days}"),
        Check("owners_configured", bool(s.owners), f"{len(s.owners)} owner(s) configured"),
        Check("providers_configured", bool(s.notification_providers),
              f"{len(s.notification_providers)} notification provider(s) configured"),
        Check("runbook_ref_present", bool(s.runbook_ref),
              "runbook ref present" if s.runbook_ref else "no runbook_ref"),
    ]
    if configured is not None:
        routable = sorted(set(s.notification_providers) & configured)
        checks.append(Check(
            "deliverable_route", bool(routable),
            f"configured connector(s) for: {', '.join(routable)}" if routable
            else "none of the schedule's providers is configured in the connector config",
        ))
    return checks


def evaluate_schedule(
    settings: Settings,
    now: datetime,
    *,
    deny_names: list[str] | None = None,
    configured_connectors: frozenset[str] | None = None,
) -> ScheduleReport:
    """Evaluate the schedule (and history) named by ``settings`` at ``now``."""
    deny = deny_names or []
    report = ScheduleReport("needs_attention", now, settings, configured_connectors=configured_connectors)
    if settings.mode != "promoted" and settings.schedule_path is None:
        report.status = "not_requested"
        report.checks.append(Check("schedule_requested", True,
                                   f"mode is {settings.mode!r} and no schedule was given"))
        return report
    if settings.schedule_path is None:
        report.checks.append(Check("schedule_configured", False,
                                   "mode is 'promoted' but no rollback drill schedule is configured"))
        return report
    report.schedule, report.checks = _load_schedule(settings.schedule_path, deny)
    if report.schedule is None:
        return report
    s = report.schedule
    report.checks.extend(_content_checks(s, configured_connectors))
    report.history = load_history(settings.history_path, deny) if settings.history_path else None
    if report.history is not None:
        evaluate_history(report.history, now, settings.max_age_days)
        if report.history.load_error:
            report.checks.append(Check("history_readable", False, report.history.load_error))
    latest = report.history.latest if report.history else None
    if s.next_due_at is not None:
        report.next_due_at = s.next_due_at
        source = "schedule next_due_at"
    elif latest is not None and (s.interval_days or 0) > 0:
        report.next_due_at = latest.executed_at + timedelta(days=s.interval_days or 0)
        source = f"latest drill {latest.drill_id} + {s.interval_days} days"
    else:
        source = "no next_due_at and no drill history to derive it from"
    report.checks.append(Check("next_due_derivable", report.next_due_at is not None, source))
    if report.next_due_at is not None:
        report.checks.append(Check("not_stale", not report.stale,
                                   f"next drill due {iso(report.next_due_at)}"
                                   + (" is past" if report.stale else "")))
    if report.failed_checks:
        report.status = "needs_attention"
    else:
        report.status = "due_soon" if report.due_soon else "ready"
    return report
