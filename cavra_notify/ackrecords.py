"""The acknowledgement, escalation, history-page and actor records (re-exported by :mod:`.records`).

Frozen dataclasses with one ``to_json()`` each, like every record; they import nothing of the core.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from .records import SkippedRoute

ACK_SCHEMA: Final = "cavra.go-backend-pilot.rollback-drill-notification-ack.v1"
ESCALATION_SCHEMA: Final = "cavra.go-backend-pilot.rollback-drill-notification-escalation-plan.v1"
Json = dict[str, Any]


@dataclass(frozen=True)
class Acknowledgement:
    """``cavra.go-backend-pilot.rollback-drill-notification-ack.v1``: one acknowledgement of the delivered
    routes ``route_keys`` of one occurrence (one route, or every owner of ``provider`` when no owner was
    named). ``acknowledged_by`` is the verified actor when ``actor_verified``; ``state`` is kept as an
    alias of ``acknowledgement_state``."""

    acknowledgement_id: str
    schedule_id: str
    plan_id: str
    occurrence: str
    provider: str
    owner: str | None
    route_keys: tuple[str, ...]
    acknowledged_by: str
    actor_verified: bool
    state: str
    external_ref: str | None
    notes: str | None
    acknowledged_at: str
    schema_version: str = ACK_SCHEMA

    def to_json(self) -> Json:
        return {"schema_version": self.schema_version, "acknowledgement_id": self.acknowledgement_id,
                "schedule_id": self.schedule_id, "plan_id": self.plan_id, "occurrence": self.occurrence,
                "provider": self.provider, "owner": self.owner, "route_keys": list(self.route_keys),
                "acknowledged_by": self.acknowledged_by, "actor_verified": self.actor_verified,
                "acknowledgement_state": self.state, "state": self.state, "external_ref": self.external_ref,
                "notes": self.notes, "acknowledged_at": self.acknowledged_at}


@dataclass(frozen=True)
class AckRefusal:
    """Why one acknowledgement of a bulk request was refused (``index`` in the request)."""

    index: int
    schedule_id: str
    route: str
    reason: str

    def to_json(self) -> Json:
        return {"index": self.index, "schedule_id": self.schedule_id, "route": self.route, "reason": self.reason}


@dataclass(frozen=True)
class EscalationRoute:
    """A delivered route still waiting for a clearing acknowledgement; ``breached`` once late.

    ``escalated_to`` lists the escalation owners already notified of this breach, level by level."""

    schedule_id: str
    plan_id: str | None
    route_key: str
    owner: str | None
    provider: str | None
    delivered_at: str
    acknowledgement_minutes: int
    acknowledge_by: str
    breached: bool
    escalate_to: str | None
    occurrence: str | None = None
    escalated_to: tuple[str, ...] = ()

    def to_json(self) -> Json:
        return {"schedule_id": self.schedule_id, "plan_id": self.plan_id, "occurrence": self.occurrence,
                "route_key": self.route_key, "owner": self.owner, "provider": self.provider,
                "delivered_at": self.delivered_at, "acknowledgement_minutes": self.acknowledgement_minutes,
                "acknowledge_by": self.acknowledge_by, "breached": self.breached, "escalate_to": self.escalate_to,
                "escalated_to": list(self.escalated_to)}


@dataclass(frozen=True)
class EscalationNotice:
    """One level of escalation of one breach: the breached route (and the delivery that breached) and
    the escalation owner told at ``level`` (1: the route's escalation owner; 2: theirs; ...), with the
    minutes they have to acknowledge before ``next_escalation_owner`` is told."""

    schedule_id: str
    occurrence: str
    breached_route_key: str
    breached_plan_id: str | None
    breached_owner: str | None
    breached_provider: str | None
    breached_delivered_at: str
    acknowledge_by: str
    level: int
    escalation_owner: str
    acknowledgement_minutes: int
    next_escalation_owner: str | None

    def to_json(self) -> Json:
        return {"schedule_id": self.schedule_id, "occurrence": self.occurrence,
                "breached_route_key": self.breached_route_key, "breached_plan_id": self.breached_plan_id,
                "breached_owner": self.breached_owner, "breached_provider": self.breached_provider,
                "breached_delivered_at": self.breached_delivered_at, "acknowledge_by": self.acknowledge_by,
                "level": self.level, "escalation_owner": self.escalation_owner,
                "acknowledgement_minutes": self.acknowledgement_minutes,
                "next_escalation_owner": self.next_escalation_owner}


@dataclass(frozen=True)
class EscalationRun:
    """What one escalation pass sent: the notices due, their delivery evidence (metadata kind
    ``release-connector-escalation``), the routes it did not send again (already escalated, in flight)
    and the notices it could not route (the escalation owner has no provider)."""

    generated_at: str
    outcome: str
    notices: tuple[EscalationNotice, ...]
    evidence: tuple[Json, ...]
    skipped: tuple[SkippedRoute, ...]
    unroutable: tuple[EscalationNotice, ...] = ()

    @property
    def delivered_count(self) -> int:
        return sum(e.get("outcome") in ("delivered", "accepted") for e in self.evidence)

    def to_json(self) -> Json:
        return {"generated_at": self.generated_at, "outcome": self.outcome,
                "notices": [n.to_json() for n in self.notices], "deliveries": [dict(e) for e in self.evidence],
                "skipped": [s.to_json() for s in self.skipped],
                "unroutable": [n.to_json() for n in self.unroutable], "delivered_count": self.delivered_count,
                "failed_count": sum(e.get("outcome") == "failed" for e in self.evidence)}


@dataclass(frozen=True)
class HistoryPage:
    """One page of evidence records, newest first, and how many match the filters in all."""

    items: tuple[Json, ...]
    total: int
    limit: int
    offset: int

    def to_json(self) -> Json:
        return {"items": [dict(i) for i in self.items], "total": self.total, "limit": self.limit,
                "offset": self.offset}


ROLES: Final = ("read", "deliver", "acknowledge", "approve", "admin")


@dataclass(frozen=True)
class Actor:
    """A verified caller of the API: a name and its roles (``admin`` holds every role); ``source`` is
    ``token``, ``oidc`` or ``loopback`` (an unauthenticated loopback caller the server was told to allow)."""

    name: str
    roles: frozenset[str]
    source: str

    def may(self, role: str) -> bool:
        return role in self.roles or "admin" in self.roles

    def to_json(self) -> Json:
        return {"actor": self.name, "roles": sorted(self.roles), "source": self.source}


@dataclass(frozen=True)
class EscalationSchedule:
    schedule_id: str
    plan_id: str | None
    occurrence: str | None
    alert_level: str
    outstanding_route_count: int
    breached_route_count: int

    def to_json(self) -> Json:
        return {"schedule_id": self.schedule_id, "plan_id": self.plan_id, "occurrence": self.occurrence,
                "alert_level": self.alert_level, "outstanding_route_count": self.outstanding_route_count,
                "breached_route_count": self.breached_route_count}


@dataclass(frozen=True)
class EscalationPlan:
    """``cavra.go-backend-pilot.rollback-drill-notification-escalation-plan.v1``."""

    generated_at: str
    generated_by: str
    alert_level: str
    schedules: tuple[EscalationSchedule, ...]
    routes: tuple[EscalationRoute, ...]
    schema_version: str = ESCALATION_SCHEMA

    @property
    def outstanding_route_count(self) -> int:
        return len(self.routes)

    @property
    def breached_route_count(self) -> int:
        return sum(r.breached for r in self.routes)

    def to_json(self) -> Json:
        return {"schema_version": self.schema_version, "generated_at": self.generated_at,
                "generated_by": self.generated_by, "alert_level": self.alert_level,
                "outstanding_route_count": self.outstanding_route_count,
                "breached_route_count": self.breached_route_count,
                "schedules": [s.to_json() for s in self.schedules], "routes": [r.to_json() for r in self.routes]}
