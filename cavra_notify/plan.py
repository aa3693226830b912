"""Notification plan (SPEC §4): who is told through which provider, and why not — without sending.

Every (owner, provider) pair of the schedule becomes exactly one decision: ``deliver``, ``suppress``
(healthy, maintenance window, owner calendar, repeat interval) or ``skip`` (narrowed out by the owner's
route, provider not configured). A schedule that needs attention and that nobody could be told about
from its own content goes to the *fallback route* instead; without one, the plan says so in a failed
``fallback_route`` check and delivery refuses loudly (docs/routing.md).
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from . import reach
from .errors import SettingsError
from .records import EVENT_TYPE, PLAN_SCHEMA, Message, Plan, Route, RouteDecision
from .routing import EffectivePolicy
from .schedule import ScheduleReport
from .timeutil import iso

if TYPE_CHECKING:
    from .models import FallbackRoute

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


def schedule_ref(report: ScheduleReport) -> str:
    """The schedule's id, or for a schedule that could not be read, ``file:<its configured path>``
    (from the operator's settings, never from the file's content)."""
    if report.schedule is not None:
        return report.schedule.schedule_id
    return f"file:{report.settings.schedule_path}" if report.settings.schedule_path else "unconfigured"


def fallback_occurrence(report: ScheduleReport) -> str:
    """One (file, problem) occurrence: the schedule and the ids of its failed checks."""
    problems = "+".join(sorted({c.id for c in report.failed_checks})) or "unroutable"
    return f"{schedule_ref(report)}@fallback#{problems}"


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
    name = s["schedule_id"] or schedule_ref(report)
    summary = f"Rollback drill schedule {name} is {report.status}; next drill due {due}"
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


def _route(ref: str, policy: EffectivePolicy, owner: str, provider: str) -> Route:
    owner_route = policy.owner_routes.get(owner)
    return Route(route_key(ref, owner, provider), owner, provider,
                 (owner_route.acknowledgement_minutes if owner_route else None) or policy.acknowledgement_minutes,
                 (owner_route.escalation_owner if owner_route else None) or owner)


def _selection(report: ScheduleReport, policy: EffectivePolicy, providers: str | Iterable[str] | None,
               configured: frozenset[str] | None) -> list[reach.Pair]:
    """The pairs to decide on: every pair of the selected providers; a selected provider that no owner
    route reaches is a :class:`SettingsError` (it could only ever be skipped)."""
    schedule = report.schedule
    selected = select_providers(providers, schedule.notification_providers) if schedule else None
    candidates = reach.pairs(schedule, policy, configured, selected)
    if selected is not None and schedule is not None and schedule.owners:
        unreached = [p for p in selected if all(c.narrowed for c in candidates if c.provider == p)]
        if unreached:
            raise SettingsError(f"--provider: no owner route reaches {', '.join(unreached)} "
                                "(each owner's route names other providers)")
    return candidates


def build_plan(
    report: ScheduleReport,
    policy: EffectivePolicy,
    *,
    providers: str | Iterable[str] | None = None,
    force: bool = False,
    configured: frozenset[str] | None = None,
    last_notified: LastNotified | None = None,
    generated_by: str = "cavra",
    fallback: FallbackRoute | None = None,
) -> Plan:
    """Build the plan. ``configured`` is the set of connector names when a config is known;
    ``fallback`` is who hears of a schedule that cannot be routed from its own content."""
    ref = schedule_ref(report)
    occurrence = occurrence_key(report)
    notified = last_notified(occurrence) if last_notified and not force else {}
    owner_routes: list[Route] = []
    decisions: list[RouteDecision] = []
    for pair in _selection(report, policy, providers, configured):
        route = _route(ref, policy, pair.owner, pair.provider)
        if pair.narrowed:
            decisions.append(RouteDecision(route, "skip", "narrowed_out",
                                           f"owner route of {pair.owner} does not name {pair.provider}"))
            continue
        owner_routes.append(route)
        decisions.append(_decide(report, policy, route, force=force, configured=configured, notified=notified))
    checks = [c.as_dict() for c in report.failed_checks]
    used = None
    if report.status == "needs_attention" and not any(d.action != "skip" for d in decisions):
        if fallback is None:
            checks.append({"id": "fallback_route", "passed": False, "message": (
                f"nobody can be told that {ref} needs attention: no owner route can carry it and no "
                "fallback_route is configured (routing policy or private connector config)")})
        else:
            used = fallback
            occurrence = fallback_occurrence(report)
            notified = last_notified(occurrence) if last_notified and not force else {}
            for provider in dict.fromkeys(fallback.providers):
                route = Route(route_key(ref, fallback.owner, provider), fallback.owner, provider,
                              policy.acknowledgement_minutes, fallback.owner)
                owner_routes.append(route)
                decisions.append(_decide(report, policy, route, force=force, configured=configured,
                                         notified=notified))
    return _assemble(report, policy, occurrence, decisions, owner_routes, configured, force, generated_by,
                     checks, used)


def _providers_where(decisions: list[RouteDecision], test: Callable[[set[str]], bool]) -> tuple[str, ...]:
    """Providers (in decision order) whose set of actions passes ``test``."""
    actions: dict[str, set[str]] = {}
    for d in decisions:
        actions.setdefault(d.route.provider, set()).add(d.action)
    return tuple(p for p, seen in actions.items() if test(seen))


def _assemble(report: ScheduleReport, policy: EffectivePolicy, occurrence: str, decisions: list[RouteDecision],
              owner_routes: list[Route], configured: frozenset[str] | None, force: bool, generated_by: str,
              checks: list[dict[str, object]], fallback: FallbackRoute | None) -> Plan:
    schedule_providers = list(report.schedule.notification_providers) if report.schedule else []
    eligible = [p for p in schedule_providers if configured is None or p in configured]
    delivering = sorted({d.route.provider for d in decisions if d.action == "deliver"})
    identity = json.dumps([occurrence, [(d.route.route_key, d.action, d.category) for d in decisions]],
                          sort_keys=True)
    actions = Counter(d.action for d in decisions)
    categories = Counter(d.category for d in decisions)
    return Plan(
        plan_id="plan-" + hashlib.sha256(identity.encode()).hexdigest()[:20],
        schedule_id=schedule_ref(report) if report.schedule or fallback else None,
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
        selected_providers=_providers_where(decisions, lambda seen: "deliver" in seen),
        suppressed_providers=_providers_where(decisions, lambda seen: "deliver" not in seen and "suppress" in seen),
        skipped_providers=_providers_where(decisions, lambda seen: seen == {"skip"}),
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
        failed_checks=tuple(checks),
        fallback_route=None if fallback is None else {"owner": fallback.owner, "providers": list(fallback.providers)},
    )
