"""Notification plan (SPEC §4): who is told through which provider, and why not — without sending."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta

from .errors import SettingsError
from .records import EVENT_TYPE, PLAN_SCHEMA, Message, Plan, Route, RouteDecision
from .routing import EffectivePolicy
from .schedule import ScheduleReport
from .timeutil import iso

__all__ = ["EVENT_TYPE", "PLAN_SCHEMA", "build_message", "build_plan", "occurrence_key", "route_key",
           "select_providers"]
HEALTHY_STATUSES = frozenset({"ready", "not_requested"})

# occurrence -> {route_key: its latest successful notification in that occurrence}; asked once per plan
LastNotified = Callable[[str], Mapping[str, datetime]]


def select_providers(requested: str | Iterable[str] | None, known: Iterable[str]) -> list[str] | None:
    """``all``/``None`` → ``None`` (no narrowing); ``slack`` or ``slack,teams`` → that list.

    A name that is not among ``known`` (the schedule's providers) is a :class:`SettingsError`.
    """
    if requested is None:
        return None
    names = [n.strip() for n in requested.split(",")] if isinstance(requested, str) else list(requested)
    names = [n for n in names if n]
    if not names or names == ["all"]:
        return None
    known_set = set(known)
    unknown = [n for n in names if n not in known_set]
    if unknown:
        choices = ", ".join(sorted(known_set)) or "none"
        raise SettingsError(f"--provider: unknown provider {', '.join(unknown)} (the schedule has: {choices})")
    return list(dict.fromkeys(names))


def occurrence_key(report: ScheduleReport) -> str:
    """One schedule occurrence: a new next-due date or a new status is a new occurrence."""
    schedule_id = report.schedule.schedule_id if report.schedule else "unknown"
    return f"{schedule_id}@{iso(report.next_due_at) or 'undated'}#{report.status}"


def route_key(schedule_id: str, owner: str, provider: str) -> str:
    return f"{schedule_id}:{owner}:{provider}"


FACT_LIST_LIMIT = 10


def _listing(names: list[str]) -> str:
    """A comma-separated fact, at most ``FACT_LIST_LIMIT`` names and then a count of the rest."""
    shown = ", ".join(names[:FACT_LIST_LIMIT])
    rest = len(names) - FACT_LIST_LIMIT
    return f"{shown} and {rest} more" if rest > 0 else shown


def build_message(report: ScheduleReport) -> Message:
    s = report.as_dict()["schedule"]
    due = s["next_due_at"] or "not derivable"
    summary = f"Rollback drill schedule {s['schedule_id'] or 'unknown'} is {report.status}; next drill due {due}"
    if s["days_until_due"] is not None:
        summary += f" ({s['days_until_due']:.1f} days)"
    facts = {
        "schedule_id": str(s["schedule_id"]),
        "environment": str(s["environment"]),
        "status": report.status,
        "next_due_at": due,
        "owners": _listing(s["owners"]),
        "providers": _listing(s["notification_providers"]),
    }
    failed = [c.message for c in report.failed_checks][:3]
    if failed:
        facts["needs_attention_because"] = "; ".join(failed)
    return Message(
        title=f"CAVRA Go rollback drill schedule {report.alert_level}",
        summary=summary + ".",
        runbook_ref=s["runbook_ref"] or "",
        facts=facts,
        alert_level=report.alert_level,
    )


def _decide(report: ScheduleReport, policy: EffectivePolicy, route: Route, *,
            force: bool, configured: frozenset[str] | None, notified: Mapping[str, datetime],
            ) -> RouteDecision:
    owner, provider, now = route.owner, route.provider, report.now
    schedule_id = report.schedule.schedule_id if report.schedule else ""

    if configured is not None and provider not in configured:
        return RouteDecision(route, "skip", "not_configured", "provider not configured")
    if report.status in HEALTHY_STATUSES and not force:
        return RouteDecision(route, "suppress", "healthy", f"schedule is {report.status}; nothing is due")
    window = policy.active_window(now, schedule_id, owner, provider)
    if window is not None:
        return RouteDecision(route, "suppress", "maintenance_window", window.reason or "maintenance window",
                             window_id=window.window_id, window_end_at=iso(window.end_at))
    unavailable = policy.unavailable_reason(now, owner)
    if unavailable is not None:
        return RouteDecision(route, "suppress", "owner_calendar", unavailable)
    last = None if force else notified.get(route.route_key)
    if last is not None and now - last < timedelta(minutes=policy.repeat_interval_minutes):
        return RouteDecision(route, "suppress", "repeat_interval", f"already notified at {iso(last)} for this "
                             "occurrence", last_notified_at=iso(last))
    return RouteDecision(route, "deliver", None, "forced" if force and report.status in HEALTHY_STATUSES
                         else f"schedule is {report.status}")


def build_plan(
    report: ScheduleReport,
    policy: EffectivePolicy,
    *,
    providers: str | Iterable[str] | None = None,
    force: bool = False,
    configured: frozenset[str] | None = None,
    last_notified: LastNotified | None = None,
    generated_by: str = "cavra",
) -> Plan:
    """Build the plan. ``configured`` is the set of connector names when a config is known."""
    schedule = report.schedule
    schedule_providers = list(schedule.notification_providers) if schedule else []
    selected = select_providers(providers, schedule_providers)
    wanted = selected if selected is not None else schedule_providers
    occurrence = occurrence_key(report)
    notified = last_notified(occurrence) if last_notified and not force else {}
    owner_routes: list[Route] = []
    decisions: list[RouteDecision] = []
    for owner in schedule.owners if schedule else []:
        owner_route = policy.owner_routes.get(owner)
        narrowed = owner_route.providers if owner_route and owner_route.providers is not None else None
        for provider in wanted:
            if narrowed is not None and provider not in narrowed:
                continue
            route = Route(
                route_key(schedule.schedule_id, owner, provider),  # type: ignore[union-attr]
                owner,
                provider,
                (owner_route.acknowledgement_minutes if owner_route else None) or policy.acknowledgement_minutes,
                (owner_route.escalation_owner if owner_route else None) or owner,
            )
            owner_routes.append(route)
            decisions.append(_decide(report, policy, route, force=force, configured=configured,
                                     notified=notified))
    return _assemble(report, policy, occurrence, decisions, owner_routes, schedule_providers, wanted,
                     configured, force, generated_by)


def _assemble(report: ScheduleReport, policy: EffectivePolicy, occurrence: str,
              decisions: list[RouteDecision], owner_routes: list[Route],
              schedule_providers: list[str], wanted: list[str], configured: frozenset[str] | None,
              force: bool, generated_by: str) -> Plan:
    eligible = [p for p in schedule_providers if configured is None or p in configured]
    delivering = sorted({d.route.provider for d in decisions if d.action == "deliver"})
    identity = json.dumps([occurrence, [(d.route.route_key, d.action, d.category) for d in decisions]],
                          sort_keys=True)
    actions = Counter(d.action for d in decisions)
    categories = Counter(d.category for d in decisions)
    return Plan(
        plan_id="plan-" + hashlib.sha256(identity.encode()).hexdigest()[:20],
        schedule_id=report.schedule.schedule_id if report.schedule else None,
        occurrence=occurrence,
        generated_at=iso(report.now),
        generated_by=generated_by,
        status=report.status,
        alert_level=report.alert_level,
        next_due_at=iso(report.next_due_at),
        days_until_due=report.days_until_due,
        forced=force,
        policy_source=policy.source,
        repeat_interval_minutes=policy.repeat_interval_minutes,
        eligible_providers=tuple(eligible),
        selected_providers=tuple(p for p in wanted if p in eligible),
        suppressed_providers=tuple(sorted({d.route.provider for d in decisions} - set(delivering))),
        owner_routes=tuple(owner_routes),
        route_decisions=tuple(decisions),
        counts={
            "deliverable_route_count": actions["deliver"],
            "suppressed_route_count": actions["suppress"],
            "skipped_route_count": actions["skip"],
            "healthy_suppressed_count": categories["healthy"],
            "maintenance_suppressed_count": categories["maintenance_window"],
            "calendar_suppressed_count": categories["owner_calendar"],
            "repeat_suppressed_count": categories["repeat_interval"],
        },
        acknowledgement_required_providers=tuple(delivering),
        message=build_message(report),
        failed_checks=tuple(c.as_dict() for c in report.failed_checks),
    )
