"""Escalation delivered: a breached route's escalation owner is told, once per breach, level by level.

A route breaches when it is still outstanding at its ``acknowledge_by`` (:mod:`cavra_notify.escalation`).
Level 1 tells the route's escalation owner; level 2 tells *their* escalation owner once they too have
let their own acknowledgement minutes pass since the level-1 notice; and so on up to
:data:`MAX_LEVELS`, never back to someone already told. A clearing acknowledgement of the breached
route stops every further level. Each escalation owner is reached through their own owner route's
providers (the routing policy's or schedule's ``owner_routes``), else through the schedule's providers.

Sending reuses the delivery core: each notice is a one-off :class:`~cavra_notify.records.Plan` whose
routes the :class:`~cavra_notify.delivery.Dispatcher` delivers with its retries, timeouts and claims in
the same notification log — under a route key unique to the breach and level, so the log sends it
once. Its evidence is recorded as its own kind (``escalation``, metadata kind
``release-connector-escalation``) with an ``escalation`` object linking it to the breached route.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, cast

from .escalation import DeliveredRoute, breach_id, escalations_by_breach, open_plans, outstanding_routes
from .records import EscalationNotice, EscalationRun, Message, Plan, Route, RouteDecision, SkippedRoute
from .store.protocol import EvidenceStore, RouteClaim, iso_z, to_utc

if TYPE_CHECKING:
    from .delivery import Options
    from .routing import EffectivePolicy
    from .service import Context

MAX_LEVELS = 3
METADATA_KIND = "release-connector-escalation"
ONCE_MINUTES = 100 * 365 * 24 * 60  # the repeat interval of an escalation route: in effect, never again


@dataclass(frozen=True)
class Reach:
    """How one owner is reached: providers (``None``: the schedule's), minutes to acknowledge, escalation owner."""

    providers: tuple[str, ...] | None
    minutes: int | None
    escalation_owner: str | None


@dataclass(frozen=True)
class DueNotice:
    notice: EscalationNotice
    providers: tuple[str, ...]
    plan: dict[str, Any]


def directory(plan: dict[str, Any], policy: EffectivePolicy | None) -> dict[str, Reach]:
    """owner -> :class:`Reach`, from the plan's owner routes, overridden by the effective policy's
    ``owner_routes`` (which may name owners who are only escalation owners)."""
    grouped: dict[str, list[dict[str, Any]]] = {}
    for route in plan.get("owner_routes", []):
        if isinstance(route, dict) and route.get("owner"):
            grouped.setdefault(str(route["owner"]), []).append(route)
    reach = {owner: Reach(tuple(str(r.get("provider")) for r in routes), routes[0].get("acknowledgement_minutes"),
                          routes[0].get("escalation_owner")) for owner, routes in grouped.items()}
    for owner, route in (policy.owner_routes.items() if policy else ()):
        reach[owner] = Reach(tuple(route.providers) if route.providers is not None else None,
                             route.acknowledgement_minutes or (policy.acknowledgement_minutes if policy else None),
                             route.escalation_owner)
    return reach


def _next(delivered: DeliveredRoute, notices: list[dict[str, Any]], now: datetime) -> tuple[int, str] | None:
    """(level, owner) of the escalation now due for this breach, if any."""
    told = {str(n.get("escalation_owner")) for n in notices}
    owner: str | None
    if not notices:
        level, owner, due = 1, delivered.route.escalation_owner, delivered.acknowledge_by
    else:
        last = notices[-1]
        level, owner = int(last.get("level") or 0) + 1, last.get("next_escalation_owner")
        due = to_utc(str(last.get("delivered_at"))) + timedelta(minutes=int(last.get("acknowledgement_minutes") or 60))
    if level > MAX_LEVELS or not owner or owner == delivered.route.owner or owner in told or now < due:
        return None
    return level, str(owner)


def due_notices(store: EvidenceStore, *, now: datetime, schedule_ids: Sequence[str] | None = None,
                policies: dict[str, EffectivePolicy] | None = None) -> list[DueNotice]:
    """Every escalation due at ``now`` in the open occurrences (of ``schedule_ids`` when given)."""
    now = to_utc(now, "now")
    due: list[DueNotice] = []
    for plan in open_plans(store):
        schedule_id, occurrence = str(plan["schedule_id"]), str(plan["occurrence"])
        if schedule_ids is not None and schedule_id not in schedule_ids:
            continue
        breached = [d for d in outstanding_routes(store, schedule_id, occurrence, plan) if now >= d.acknowledge_by]
        if not breached:
            continue
        sent = escalations_by_breach(store, schedule_id, occurrence)
        reach = directory(plan, (policies or {}).get(schedule_id))
        for delivered in breached:
            found = _next(delivered, sent.get(breach_id(delivered), []), now)
            if found is None:
                continue
            level, owner = found
            target = reach.get(owner, Reach(None, None, None))
            following = target.escalation_owner if target.escalation_owner not in (None, owner) else None
            providers = target.providers or tuple(plan.get("eligible_providers") or ())
            notice = EscalationNotice(
                schedule_id=schedule_id, occurrence=occurrence, breached_route_key=delivered.route.route_key,
                breached_plan_id=delivered.plan_id, breached_owner=delivered.route.owner,
                breached_provider=delivered.route.provider, breached_delivered_at=iso_z(delivered.delivered_at),
                acknowledge_by=iso_z(delivered.acknowledge_by), level=level, escalation_owner=owner,
                acknowledgement_minutes=int(target.minutes or delivered.route.acknowledgement_minutes),
                next_escalation_owner=following)
            due.append(DueNotice(notice, providers, plan))
    return due


def _message(notice: EscalationNotice, plan: dict[str, Any]) -> Message:
    original = plan.get("message") or {}
    return Message(
        title=f"CAVRA rollback drill notification not acknowledged: escalation level {notice.level}",
        summary=(f"{notice.breached_owner} was notified via {notice.breached_provider} at "
                 f"{notice.breached_delivered_at} that rollback drill schedule {notice.schedule_id} is "
                 f"{plan.get('status')}, and nobody acknowledged it by {notice.acknowledge_by}. You are the "
                 "escalation owner: acknowledge the route to stop the escalation."),
        runbook_ref=str(original.get("runbook_ref") or ""),
        facts={"schedule_id": notice.schedule_id, "breached_route": notice.breached_route_key,
               "owner": str(notice.breached_owner), "provider": str(notice.breached_provider),
               "acknowledge_by": notice.acknowledge_by, "escalation_level": str(notice.level),
               "escalation_owner": notice.escalation_owner},
        alert_level="critical")


def escalation_plan(due: DueNotice, now: datetime, generated_by: str) -> Plan:
    """The one-off plan that tells the escalation owner: one ``deliver`` route per provider, keyed by the
    breach and level (``<breached route>@<delivered at>!<level>:<owner>:<provider>``)."""
    n = due.notice
    identity = f"{n.breached_route_key}@{n.breached_delivered_at}!{n.level}"
    routes = [Route(f"{identity}:{n.escalation_owner}:{p}", n.escalation_owner, p, n.acknowledgement_minutes,
                    n.next_escalation_owner or n.escalation_owner) for p in due.providers]
    reason = f"escalation level {n.level}: {n.breached_route_key} not acknowledged by {n.acknowledge_by}"
    plan = due.plan
    return Plan(
        plan_id="plan-esc-" + hashlib.sha256(identity.encode()).hexdigest()[:20], schedule_id=n.schedule_id,
        occurrence=n.occurrence, generated_at=iso_z(now), generated_by=generated_by, status=str(plan.get("status")),
        alert_level="critical", next_due_at=plan.get("next_due_at"), days_until_due=plan.get("days_until_due"),
        forced=False, policy_source="escalation", repeat_interval_minutes=ONCE_MINUTES,
        eligible_providers=due.providers, selected_providers=due.providers, suppressed_providers=(),
        skipped_providers=(),
        owner_routes=tuple(routes), route_decisions=tuple(RouteDecision(r, "deliver", None, reason) for r in routes),
        counts={"deliverable_route_count": len(routes)}, acknowledgement_required_providers=due.providers,
        message=_message(n, plan))


class _EscalationLog:
    """The store as the dispatcher sees it for one notice: the same notification log and claims; no plan
    is saved; evidence is recorded as the ``escalation`` kind, linked to the breached route."""

    def __init__(self, store: EvidenceStore, notice: EscalationNotice) -> None:
        self.store, self.notice = store, notice

    def save_plan(self, plan: dict[str, Any]) -> None:
        """An escalation is not the schedule's plan: it must not become its latest."""

    def notified_routes(self, occurrence: str) -> dict[str, datetime]:
        return self.store.notified_routes(occurrence)

    def claim_many(self, claims: Sequence[RouteClaim], **options: Any) -> Any:
        return self.store.claim_many(claims, **options)

    def record_deliveries(self, evidences: Sequence[dict[str, Any]]) -> None:
        self.store.record_escalations([{**e, "metadata_kind": METADATA_KIND, "escalation": self.notice.to_json()}
                                       for e in evidences])


def deliver_escalations(ctx: Context, store: EvidenceStore, *, policies: dict[str, EffectivePolicy] | None = None,
                        schedule_ids: Sequence[str] | None = None, options: Options | None = None,
                        generated_by: str = "cavra") -> EscalationRun:
    """Deliver every escalation due at ``ctx.now`` through the delivery core; returns what was sent. A
    notice whose escalation owner has no provider at all is returned as ``unroutable``, never dropped."""
    from .delivery import deliver_plan
    from .plugins import get_registry
    from .service import connectors_for, install_log_redaction

    due = due_notices(store, now=ctx.now, schedule_ids=schedule_ids, policies=policies)
    evidence: list[dict[str, Any]] = []
    skipped: list[SkippedRoute] = []
    for item in due:
        if not item.providers:
            continue
        connectors = connectors_for(ctx, list(item.providers))
        redactor = install_log_redaction([s for c in connectors.values() for s in c.secrets])
        result = deliver_plan(escalation_plan(item, ctx.now, generated_by), connectors, get_registry(), options,
                              redactor=redactor, store=cast(EvidenceStore, _EscalationLog(store, item.notice)),
                              now=ctx.now)
        evidence += [{**e.to_json(), "metadata_kind": METADATA_KIND, "escalation": item.notice.to_json()}
                     for e in result.evidence]
        skipped += result.skipped
    failed = sum(e["outcome"] == "failed" for e in evidence)
    outcome = ("nothing_to_deliver" if not evidence else "delivered" if not failed
               else "failed" if failed == len(evidence) else "partial")
    return EscalationRun(iso_z(ctx.now), outcome, tuple(d.notice for d in due), tuple(evidence), tuple(skipped),
                         tuple(d.notice for d in due if not d.providers))


def escalate_configured(ctx: Context, store: EvidenceStore, *, routing_policy_path: str | None,
                        options: Options, generated_by: str) -> EscalationRun:
    """Deliver every escalation due (``escalation-plan --deliver``, the API), reaching escalation owners
    through the configured schedule's (or routing policy's) owner routes when it is theirs. The sweep
    calls :func:`deliver_escalations` itself, once for all its schedules."""
    from . import service
    from .routing import effective_policy

    report = service.schedule_report(ctx)
    policies = {}
    if report.schedule is not None:
        policy = service.routing_policy(ctx, path=routing_policy_path)
        policies[report.schedule.schedule_id] = effective_policy(report.schedule, policy)
    return deliver_escalations(ctx, store, policies=policies, generated_by=generated_by, options=options)
