"""Escalation plan: which delivered routes still wait for an acknowledgement, and which are late.

For the latest plan of each schedule, a route is *outstanding* when it has a successful delivery
(``delivered`` or ``accepted``) in that plan's occurrence and no *clearing* acknowledgement: state
``acknowledged`` or ``resolved``, same schedule and provider, recorded at or after the route's latest
delivery, and — when the ack names a plan — a plan of the same occurrence. It is *breached* once
``now >= delivered_at + acknowledgement_minutes``, using the minutes frozen in the plan's route.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from .records import ESCALATION_SCHEMA, EscalationPlan, EscalationRoute, EscalationSchedule
from .store.protocol import EvidenceStore, iso_z, to_utc

__all__ = ["ESCALATION_SCHEMA", "build_escalation_plan", "compute_escalation"]
CLEARING_STATES = frozenset({"acknowledged", "resolved"})
DEFAULT_ACK_MINUTES = 60


def _minutes(route: dict[str, Any]) -> int:
    value = route.get("acknowledgement_minutes")
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        return DEFAULT_ACK_MINUTES
    return int(value)


def _clearing_acks(
    store: EvidenceStore, schedule_id: str, occurrence: str | None
) -> dict[str, list[datetime]]:
    """provider -> times of the acks that can clear a route of this occurrence."""
    occurrences: dict[str, str | None] = {}
    cleared: dict[str, list[datetime]] = {}
    for ack in store.acks(schedule_id):
        if ack.get("state") not in CLEARING_STATES:
            continue
        plan_id = ack.get("plan_id")
        if plan_id:
            if plan_id not in occurrences:
                plan = store.get_plan(plan_id)
                occurrences[plan_id] = None if plan is None else plan.get("occurrence")
            if occurrences[plan_id] != occurrence:
                continue
        cleared.setdefault(str(ack.get("provider")), []).append(to_utc(ack["acknowledged_at"]))
    return cleared


def _plan_routes(plan: dict[str, Any]) -> list[dict[str, Any]]:
    seen: dict[str, dict[str, Any]] = {}
    for decision in plan.get("route_decisions", []):
        route = decision.get("route") if isinstance(decision, dict) else None
        if isinstance(route, dict) and route.get("route_key") and route["route_key"] not in seen:
            seen[route["route_key"]] = route
    return list(seen.values())


def _level(outstanding: int, breached: int) -> str:
    return "critical" if breached else "warning" if outstanding else "healthy"


def compute_escalation(store: EvidenceStore, *, now: datetime, generated_by: str = "cavra") -> EscalationPlan:
    """The escalation plan as of ``now``, without saving it."""
    now_utc = to_utc(now, "now")
    schedules: list[EscalationSchedule] = []
    routes: list[EscalationRoute] = []
    for plan in store.latest_plans():
        schedule_id = str(plan["schedule_id"])
        occurrence = plan.get("occurrence")
        delivered = store.last_deliveries(schedule_id, occurrence) if occurrence else {}
        cleared = _clearing_acks(store, schedule_id, occurrence) if delivered else {}
        mine: list[EscalationRoute] = []
        for route in _plan_routes(plan):
            delivered_at = delivered.get(route["route_key"])
            if delivered_at is None:
                continue
            provider = route.get("provider")
            if any(at >= delivered_at for at in cleared.get(str(provider), [])):
                continue
            minutes = _minutes(route)
            acknowledge_by = delivered_at + timedelta(minutes=minutes)
            breached = now_utc >= acknowledge_by
            mine.append(EscalationRoute(
                schedule_id=schedule_id,
                plan_id=plan.get("plan_id"),
                route_key=route["route_key"],
                owner=route.get("owner"),
                provider=provider,
                delivered_at=iso_z(delivered_at),
                acknowledgement_minutes=minutes,
                acknowledge_by=iso_z(acknowledge_by),
                breached=breached,
                escalate_to=(route.get("escalation_owner") or route.get("owner")) if breached else None,
            ))
        breached_count = sum(1 for r in mine if r.breached)
        schedules.append(EscalationSchedule(schedule_id, plan.get("plan_id"), occurrence,
                                            _level(len(mine), breached_count), len(mine), breached_count))
        routes.extend(mine)
    breached_total = sum(1 for r in routes if r.breached)
    return EscalationPlan(iso_z(now_utc), generated_by, _level(len(routes), breached_total), tuple(schedules),
                          tuple(routes))


def build_escalation_plan(store: EvidenceStore, *, now: datetime, generated_by: str = "cavra") -> EscalationPlan:
    """Compute the escalation plan as of ``now``, record it in the store and return it."""
    plan = compute_escalation(store, now=now, generated_by=generated_by)
    store.save_escalation_plan(plan.to_json())
    return plan
