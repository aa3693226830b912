"""The evidence console's read model: every known schedule with its status, drills, latest plan,
outstanding acknowledgements and recent redacted delivery evidence (``…rollback-drill-overview.v1``)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from .escalation import compute_escalation
from .timeutil import iso

if TYPE_CHECKING:
    from .service import Context
    from .store import EvidenceStore

OVERVIEW_SCHEMA = "cavra.go-backend-pilot.rollback-drill-overview.v1"
LEVELS = ("healthy", "warning", "critical")
RECENT_DELIVERIES = 20
RECENT_ACKS = 10


def _delivery(record: dict[str, Any]) -> dict[str, Any]:
    p = record["payload"]
    keys = ("evidence_id", "plan_id", "route_key", "owner", "provider", "connector", "outcome", "status_code",
            "failure_class", "error", "started_at", "completed_at", "target", "receipt")
    return {**{k: p.get(k) for k in keys}, "attempts": len(p.get("attempts") or [])}


def _decision(d: dict[str, Any]) -> dict[str, Any]:
    route = d.get("route") or {}
    return {"route_key": route.get("route_key"), "owner": route.get("owner"), "provider": route.get("provider"),
            "action": d.get("action"), "category": d.get("category"), "reason": d.get("reason")}


def _plan(plan: dict[str, Any] | None) -> dict[str, Any] | None:
    if plan is None:
        return None
    keys = ("plan_id", "generated_at", "status", "alert_level", "occurrence", "forced", "next_due_at",
            "deliverable_route_count", "suppressed_route_count", "skipped_route_count")
    return {**{k: plan.get(k) for k in keys},
            "route_decisions": [_decision(d) for d in plan.get("route_decisions", []) if isinstance(d, dict)]}


def _days_until(due: str | None, now: datetime) -> float | None:
    if not due:
        return None
    return round((datetime.fromisoformat(due) - now).total_seconds() / 86400, 3)


def _configured(ctx: Context) -> dict[str, Any] | None:
    """The schedule the server's settings name, evaluated now; ``None`` when no schedule is requested."""
    from .service import schedule_report

    report = schedule_report(ctx)
    if report.status == "not_requested":
        return None
    s, history = report.schedule, report.history
    drills = history.history.drills if history and history.history else []
    latest = history.latest if history else None
    providers = list(s.notification_providers) if s else []
    return {
        "schedule_id": s.schedule_id if s else None,
        "source": "configured",
        "environment": s.environment if s else None,
        "status": report.status,
        "alert_level": report.alert_level,
        "status_as_of": iso(ctx.now),
        "next_due_at": iso(report.next_due_at),
        "days_until_due": report.days_until_due,
        "owners": list(s.owners) if s else [],
        "notification_providers": providers,
        "configured_providers": None if ctx.configured is None else [p for p in providers if p in ctx.configured],
        "runbook_ref": s.runbook_ref if s else None,
        "failed_checks": [c.as_dict() for c in report.failed_checks],
        "latest_drill": None if latest is None else {
            "drill_id": latest.drill_id, "executed_at": iso(latest.executed_at), "status": latest.status,
            "recovery_minutes": latest.recovery_minutes, "max_recovery_minutes": latest.max_recovery_minutes},
        "drills": [{"drill_id": d.drill_id, "executed_at": iso(d.executed_at), "status": d.status}
                   for d in sorted(drills, key=lambda d: d.executed_at)],
    }


def _from_plan(plan: dict[str, Any], now: datetime) -> dict[str, Any]:
    """A schedule known only from the evidence store: its status as of its latest plan."""
    providers = list(dict.fromkeys(str(r.get("provider")) for r in plan.get("owner_routes", [])))
    return {
        "schedule_id": plan["schedule_id"], "source": "evidence", "environment": None,
        "status": plan.get("status"), "alert_level": plan.get("alert_level"), "status_as_of": plan.get("generated_at"),
        "next_due_at": plan.get("next_due_at"), "days_until_due": _days_until(plan.get("next_due_at"), now),
        "owners": list(dict.fromkeys(str(r.get("owner")) for r in plan.get("owner_routes", []))),
        "notification_providers": providers, "configured_providers": None,
        "runbook_ref": (plan.get("message") or {}).get("runbook_ref"),
        "failed_checks": plan.get("failed_checks", []), "latest_drill": None, "drills": [],
    }


def worst(levels: list[str | None]) -> str:
    """The most severe alert level (an unknown or missing level counts as healthy)."""
    return max((level if level in LEVELS else "healthy" for level in levels), key=LEVELS.index, default="healthy")


def build_overview(ctx: Context, store: EvidenceStore) -> dict[str, Any]:
    """Every known schedule (the configured one, then those with a plan in the store): status, due
    date, drills, the latest plan's route decisions, outstanding acknowledgements and recent evidence."""
    escalation = compute_escalation(store, now=ctx.now).to_json()
    plans = {str(p["schedule_id"]): p for p in store.latest_plans()}
    configured = _configured(ctx)
    schedules = [configured] if configured else []
    known = configured["schedule_id"] if configured else None
    schedules += [_from_plan(p, ctx.now) for sid, p in plans.items() if sid != known]
    for entry in schedules:
        sid = entry["schedule_id"]
        entry["latest_plan"] = _plan(plans.get(sid)) if sid else None
        entry["outstanding"] = [r for r in escalation["routes"] if r["schedule_id"] == sid]
        entry["acknowledgements"] = store.acks(sid)[-RECENT_ACKS:][::-1] if sid else []
        entry["deliveries"] = [_delivery(r) for r in store.history(schedule_id=sid, kind="delivery",
                                                                   limit=RECENT_DELIVERIES)] if sid else []
    return {
        "schema_version": OVERVIEW_SCHEMA,
        "generated_at": iso(ctx.now),
        "mode": ctx.settings.mode,
        "alert_level": worst([escalation["alert_level"], *(entry["alert_level"] for entry in schedules)]),
        "outstanding_route_count": escalation["outstanding_route_count"],
        "breached_route_count": escalation["breached_route_count"],
        "schedules": schedules,
    }

