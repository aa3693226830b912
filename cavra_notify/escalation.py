"""Outstanding acknowledgements and the escalation plan (docs/operators.md#acknowledgements).

A schedule's *open occurrence* is the occurrence of its latest plan. A route is *outstanding* when
it has a successful delivery (``delivered`` or ``accepted``) in its schedule's open occurrence —
whichever plan sent it, so a later plan that narrows the providers hides nothing — and no *clearing*
acknowledgement covers it: state ``acknowledged`` or ``resolved``, of the same occurrence, naming the
route (its key is among the ack's ``route_keys``), recorded at or after the route's latest delivery.
The route's acknowledgement minutes and escalation owner are those frozen in the plan that delivered
it. It is *breached* once ``now >= delivered_at + acknowledgement_minutes``; each breach is escalated
level by level (:mod:`cavra_notify.escalate`), and ``escalate_to`` names the owner the next level is for.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from .records import ESCALATION_SCHEMA, EscalationPlan, EscalationRoute, EscalationSchedule, Route
from .store.protocol import EvidenceStore, iso_z, to_utc

__all__ = ["ESCALATION_SCHEMA", "DeliveredRoute", "build_escalation_plan", "compute_escalation",
           "delivered_routes", "open_plans"]
CLEARING_STATES = frozenset({"acknowledged", "resolved"})
DEFAULT_ACK_MINUTES = 60
SUCCESS = ("delivered", "accepted")


@dataclass(frozen=True)
class DeliveredRoute:
    """A route with a successful delivery in an occurrence: the route as the delivering plan froze it."""

    route: Route
    plan_id: str | None
    occurrence: str
    delivered_at: datetime

    @property
    def acknowledge_by(self) -> datetime:
        return self.delivered_at + timedelta(minutes=self.route.acknowledgement_minutes)


def _minutes(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        return DEFAULT_ACK_MINUTES
    return int(value)


def plan_routes(plan: dict[str, Any] | None) -> dict[str, Route]:
    """route_key -> the route as ``plan`` froze it (every decision, whatever its action)."""
    routes: dict[str, Route] = {}
    for decision in (plan or {}).get("route_decisions", []):
        data = decision.get("route") if isinstance(decision, dict) else None
        if isinstance(data, dict) and data.get("route_key") and data["route_key"] not in routes:
            owner = str(data.get("owner") or "")
            routes[data["route_key"]] = Route(str(data["route_key"]), owner, str(data.get("provider") or ""),
                                              _minutes(data.get("acknowledgement_minutes")),
                                              str(data.get("escalation_owner") or owner))
    return routes


def _unplanned(route_key: str) -> Route:
    """A delivered route whose plan is not in the store: owner and provider from ``<schedule>:<owner>:<provider>``."""
    parts = route_key.rsplit(":", 2)
    owner, provider = (parts[1], parts[2]) if len(parts) == 3 else ("", "")
    return Route(route_key, owner, provider, DEFAULT_ACK_MINUTES, owner)


def delivered_routes(store: EvidenceStore, schedule_id: str, occurrence: str,
                     latest: dict[str, Any] | None = None) -> list[DeliveredRoute]:
    """Every route delivered in ``occurrence``, with the minutes and escalation owner of its own plan
    (``latest``: a plan already read, so it is not read again)."""
    plans: dict[str | None, dict[str, Route]] = {latest["plan_id"]: plan_routes(latest)} if latest else {}
    found: list[DeliveredRoute] = []
    for row in store.delivered_routes(schedule_id, occurrence):
        if row.plan_id not in plans:
            plans[row.plan_id] = plan_routes(store.get_plan(row.plan_id) if row.plan_id else None)
        route = plans[row.plan_id].get(row.route_key) or _unplanned(row.route_key)
        found.append(DeliveredRoute(route, row.plan_id, occurrence, row.delivered_at))
    return found


def open_plans(store: EvidenceStore) -> list[dict[str, Any]]:
    """The latest plan of every schedule: its occurrence is the schedule's open one."""
    return [p for p in store.latest_plans() if p.get("schedule_id") and p.get("occurrence")]


@dataclass(frozen=True)
class Clearing:
    """A clearing acknowledgement, prepared once: when, and which routes of which occurrence it covers
    (``route_keys`` is ``None`` for older acks that name a provider, and a plan, but no routes)."""

    at: datetime
    occurrence: str | None
    route_keys: frozenset[str] | None
    provider: str | None

    def clears(self, delivered: DeliveredRoute) -> bool:
        if self.at < delivered.delivered_at or (self.occurrence is not None
                                                and self.occurrence != delivered.occurrence):
            return False
        if self.route_keys is not None:
            return delivered.route.route_key in self.route_keys
        return self.provider == delivered.route.provider


def clearings(store: EvidenceStore, acks: list[dict[str, Any]]) -> list[Clearing]:
    """The acknowledgements among ``acks`` that clear routes (``acknowledged`` or ``resolved``)."""
    occurrences: dict[str, str | None] = {}
    found = []
    for ack in acks:
        if ack.get("state") not in CLEARING_STATES:
            continue
        if "route_keys" in ack:
            found.append(Clearing(to_utc(ack["acknowledged_at"]), str(ack.get("occurrence")),
                                  frozenset(ack["route_keys"]), None))
            continue
        plan_id = ack.get("plan_id")
        if plan_id and plan_id not in occurrences:
            plan = store.get_plan(str(plan_id))
            occurrences[str(plan_id)] = None if plan is None else str(plan.get("occurrence"))
        occurrence = occurrences[str(plan_id)] if plan_id else None
        if plan_id and occurrence is None:
            continue  # names a plan that is not in the store: it can clear nothing
        found.append(Clearing(to_utc(ack["acknowledged_at"]), occurrence, None, str(ack.get("provider"))))
    return found


def outstanding_routes(store: EvidenceStore, schedule_id: str, occurrence: str,
                       latest: dict[str, Any] | None = None) -> list[DeliveredRoute]:
    """The delivered routes of ``occurrence`` that no clearing acknowledgement covers."""
    delivered = delivered_routes(store, schedule_id, occurrence, latest)
    if not delivered:
        return []
    cleared = clearings(store, store.acks(schedule_id))
    return [d for d in delivered if not any(c.clears(d) for c in cleared)]


def breach_id(delivered: DeliveredRoute) -> str:
    """One breach: a route and the delivery that was not acknowledged in time."""
    return f"{delivered.route.route_key}@{iso_z(delivered.delivered_at)}"


def escalations_by_breach(store: EvidenceStore, schedule_id: str, occurrence: str) -> dict[str, list[dict[str, Any]]]:
    """breach id -> its successful escalation notices (the ``escalation`` part of each record), by level."""
    found: dict[str, dict[int, dict[str, Any]]] = {}
    for record in store.escalations(schedule_id, occurrence):
        notice = record.get("escalation")
        if record.get("outcome") not in SUCCESS or not isinstance(notice, dict):
            continue
        key = f"{notice.get('breached_route_key')}@{notice.get('breached_delivered_at')}"
        level = int(notice.get("level") or 0)
        found.setdefault(key, {}).setdefault(level, {**notice, "delivered_at": record.get("completed_at")})
    return {key: [levels[n] for n in sorted(levels)] for key, levels in found.items()}


def _level(outstanding: int, breached: int) -> str:
    return "critical" if breached else "warning" if outstanding else "healthy"


def _entry(d: DeliveredRoute, schedule_id: str, now: datetime, notices: list[dict[str, Any]]) -> EscalationRoute:
    breached = now >= d.acknowledge_by
    told = tuple(str(n.get("escalation_owner")) for n in notices)
    if notices:
        following = notices[-1].get("next_escalation_owner")
        escalate_to = str(following) if following and following not in told and following != d.route.owner else None
    else:
        escalate_to = (d.route.escalation_owner or d.route.owner) if breached else None
    return EscalationRoute(
        schedule_id=schedule_id, plan_id=d.plan_id, route_key=d.route.route_key, owner=d.route.owner,
        provider=d.route.provider, delivered_at=iso_z(d.delivered_at),
        acknowledgement_minutes=d.route.acknowledgement_minutes, acknowledge_by=iso_z(d.acknowledge_by),
        breached=breached, escalate_to=escalate_to, occurrence=d.occurrence, escalated_to=told)


def compute_escalation(store: EvidenceStore, *, now: datetime, generated_by: str = "cavra") -> EscalationPlan:
    """The escalation plan as of ``now``, without saving it."""
    now_utc = to_utc(now, "now")
    schedules: list[EscalationSchedule] = []
    routes: list[EscalationRoute] = []
    for plan in open_plans(store):
        schedule_id, occurrence = str(plan["schedule_id"]), str(plan["occurrence"])
        waiting = outstanding_routes(store, schedule_id, occurrence, plan)
        notices = escalations_by_breach(store, schedule_id, occurrence) if waiting else {}
        mine = [_entry(d, schedule_id, now_utc, notices.get(breach_id(d), [])) for d in waiting]
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
