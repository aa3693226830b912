"""The records the core produces and hands between its tiers: plan, route decision, route, message,
event, delivery evidence, acknowledgement and escalation plan.

Each is a frozen dataclass with one ``to_json()`` that gives its published JSON (the same keys in the
same order as the payloads the CLI prints and the API answers). They import nothing from the
evaluation, dispatch or store tiers: planning builds them, delivery consumes them, the store
serialises them, the faces render them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

# The acknowledgement, escalation, history-page and actor records (``ackrecords``) and the retry,
# approval and recovery records (``retryrecords``) live in their own modules (one module would need a
# scroll bar); they are part of this module's published set, loaded on first use: the read-only
# commands need only the plan's records, and each frozen dataclass costs about a millisecond to build.
if TYPE_CHECKING:
    from .ackrecords import ACK_SCHEMA as ACK_SCHEMA
    from .ackrecords import ESCALATION_SCHEMA as ESCALATION_SCHEMA
    from .ackrecords import ROLES as ROLES
    from .ackrecords import Acknowledgement as Acknowledgement
    from .ackrecords import AckRefusal as AckRefusal
    from .ackrecords import Actor as Actor
    from .ackrecords import EscalationNotice as EscalationNotice
    from .ackrecords import EscalationPlan as EscalationPlan
    from .ackrecords import EscalationRoute as EscalationRoute
    from .ackrecords import EscalationRun as EscalationRun
    from .ackrecords import EscalationSchedule as EscalationSchedule
    from .ackrecords import HistoryPage as HistoryPage
    from .retryrecords import CLOSURE_HASHED as CLOSURE_HASHED
    from .retryrecords import CLOSURE_SCHEMA as CLOSURE_SCHEMA
    from .retryrecords import EXECUTION_HASHED as EXECUTION_HASHED
    from .retryrecords import PLAYBOOK_SCHEMA as PLAYBOOK_SCHEMA
    from .retryrecords import RETRY_APPROVAL_SCHEMA as RETRY_APPROVAL_SCHEMA
    from .retryrecords import RETRY_EXECUTION_SCHEMA as RETRY_EXECUTION_SCHEMA
    from .retryrecords import RETRY_PLAN_SCHEMA as RETRY_PLAN_SCHEMA
    from .retryrecords import RETRY_WORKER_SCHEMA as RETRY_WORKER_SCHEMA
    from .retryrecords import PlaybookEntry as PlaybookEntry
    from .retryrecords import PlaybookStep as PlaybookStep
    from .retryrecords import RecoveryClosure as RecoveryClosure
    from .retryrecords import RecoveryPlaybook as RecoveryPlaybook
    from .retryrecords import RetryApproval as RetryApproval
    from .retryrecords import RetryEntry as RetryEntry
    from .retryrecords import RetryExecution as RetryExecution
    from .retryrecords import RetryPlan as RetryPlan
    from .retryrecords import RetryPolicySnapshot as RetryPolicySnapshot
    from .retryrecords import RetryWorkerRun as RetryWorkerRun
    from .retryrecords import WorkerRefusal as WorkerRefusal

_ACK_NAMES = (
    "ACK_SCHEMA", "ESCALATION_SCHEMA", "ROLES", "Acknowledgement", "AckRefusal", "Actor",
    "EscalationNotice", "EscalationPlan", "EscalationRoute", "EscalationRun", "EscalationSchedule",
    "HistoryPage",
)
_RETRY_NAMES = (
    "CLOSURE_HASHED", "CLOSURE_SCHEMA", "EXECUTION_HASHED", "PLAYBOOK_SCHEMA",
    "RETRY_APPROVAL_SCHEMA", "RETRY_EXECUTION_SCHEMA", "RETRY_PLAN_SCHEMA", "RETRY_WORKER_SCHEMA",
    "PlaybookEntry", "PlaybookStep", "RecoveryClosure", "RecoveryPlaybook", "RetryApproval",
    "RetryEntry", "RetryExecution", "RetryPlan", "RetryPolicySnapshot", "RetryWorkerRun",
    "WorkerRefusal",
)
_ELSEWHERE = {**dict.fromkeys(_ACK_NAMES, "ackrecords"), **dict.fromkeys(_RETRY_NAMES, "retryrecords")}


def __getattr__(name: str) -> Any:
    module = _ELSEWHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module

    return getattr(import_module(f".{module}", __package__), name)


PLAN_SCHEMA: Final = "cavra.go-backend-pilot.rollback-drill-notification-plan.v1"
EVENT_TYPE: Final = "cavra.go_backend.rollback_drill.notification"
METADATA_KIND: Final = "release-connector-delivery"
DELIVERY_SOURCE: Final = "go_backend_rollback_drill_notification"
Json = dict[str, Any]
# the plan's counters, in their JSON order
PLAN_COUNTS: Final = ("deliverable_route_count", "suppressed_route_count", "skipped_route_count",
                      "healthy_suppressed_count", "maintenance_suppressed_count", "calendar_suppressed_count",
                      "repeat_suppressed_count")


@dataclass(frozen=True)
class Message:
    """The human message every provider renders in its own format.

    ``facts`` are short public strings (schedule id, environment, status, next due date, owners,
    providers and, when the schedule needs attention, why).
    """

    title: str
    summary: str
    runbook_ref: str
    facts: Mapping[str, str]
    alert_level: str

    def to_json(self) -> Json:
        return {"title": self.title, "summary": self.summary, "runbook_ref": self.runbook_ref,
                "facts": dict(self.facts), "alert_level": self.alert_level}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Message:
        return cls(data["title"], data["summary"], data["runbook_ref"], dict(data["facts"]), data["alert_level"])


@dataclass(frozen=True)
class Route:
    """One (owner, provider) pair of a schedule: who is told through which provider.

    ``route_key`` is ``<schedule_id>:<owner>:<provider>``; ``acknowledgement_minutes`` is frozen when
    the route is planned; ``escalation_owner`` is who is told when the route is not acknowledged.
    """

    route_key: str
    owner: str
    provider: str
    acknowledgement_minutes: int
    escalation_owner: str

    def to_json(self) -> Json:
        return {"route_key": self.route_key, "owner": self.owner, "provider": self.provider,
                "acknowledgement_minutes": self.acknowledgement_minutes, "escalation_owner": self.escalation_owner}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Route:
        return cls(str(data["route_key"]), str(data["owner"]), str(data["provider"]),
                   data["acknowledgement_minutes"], str(data.get("escalation_owner") or data["owner"]))


@dataclass(frozen=True)
class RouteDecision:
    """What the plan does with one route: ``deliver``, ``suppress`` (with a category) or ``skip``.

    Categories: ``healthy``, ``maintenance_window`` (with ``window_id`` and ``window_end_at``),
    ``owner_calendar``, ``repeat_interval`` (with ``last_notified_at``), ``not_configured``.
    """

    route: Route
    action: str
    category: str | None
    reason: str
    window_id: str | None = None
    window_end_at: str | None = None
    last_notified_at: str | None = None

    def to_json(self) -> Json:
        data: Json = {"route": self.route.to_json(), "action": self.action, "category": self.category,
                      "reason": self.reason}
        for name in ("window_id", "window_end_at", "last_notified_at"):
            value = getattr(self, name)
            if value is not None:
                data[name] = value
        return data


@dataclass(frozen=True)
class Plan:
    """``cavra.go-backend-pilot.rollback-drill-notification-plan.v1`` (SPEC §4; docs/routing.md)."""

    plan_id: str
    schedule_id: str | None
    occurrence: str
    generated_at: str | None
    generated_by: str
    status: str
    alert_level: str
    next_due_at: str | None
    days_until_due: float | None
    forced: bool
    policy_source: str
    repeat_interval_minutes: int
    eligible_providers: tuple[str, ...]
    selected_providers: tuple[str, ...]
    suppressed_providers: tuple[str, ...]
    skipped_providers: tuple[str, ...]
    owner_routes: tuple[Route, ...]
    route_decisions: tuple[RouteDecision, ...]
    counts: Mapping[str, int]
    acknowledgement_required_providers: tuple[str, ...]
    message: Message
    failed_checks: tuple[Mapping[str, Any], ...] = ()
    fallback_route: Mapping[str, Any] | None = None
    schema_version: str = PLAN_SCHEMA

    @property
    def unroutable(self) -> bool:
        """Nobody can be told: the schedule needs attention, no route carries it and no fallback exists."""
        return any(check.get("id") == "fallback_route" for check in self.failed_checks)

    @property
    def deliverable(self) -> list[Route]:
        return [d.route for d in self.route_decisions if d.action == "deliver"]

    def to_json(self) -> Json:
        return {
            "schema_version": self.schema_version, "plan_id": self.plan_id, "schedule_id": self.schedule_id,
            "occurrence": self.occurrence, "generated_at": self.generated_at, "generated_by": self.generated_by,
            "status": self.status, "alert_level": self.alert_level, "next_due_at": self.next_due_at,
            "days_until_due": self.days_until_due, "forced": self.forced, "policy_source": self.policy_source,
            "fallback_route": None if self.fallback_route is None else dict(self.fallback_route),
            "repeat_interval_minutes": self.repeat_interval_minutes,
            "eligible_providers": list(self.eligible_providers),
            "selected_providers": list(self.selected_providers),
            "suppressed_providers": list(self.suppressed_providers),
            "skipped_providers": list(self.skipped_providers),
            "owner_routes": [r.to_json() for r in self.owner_routes],
            "route_decisions": [d.to_json() for d in self.route_decisions],
            **{name: self.counts.get(name, 0) for name in PLAN_COUNTS},
            "acknowledgement_required_providers": list(self.acknowledgement_required_providers),
            "message": self.message.to_json(),
            "failed_checks": [dict(c) for c in self.failed_checks],
        }


@dataclass(frozen=True)
class Event:
    """The ``cavra.go_backend.rollback_drill.notification`` event that carries a plan's message."""

    event_type: str
    event_id: str
    plan_id: str
    schedule_id: str
    occurrence: str
    status: str
    alert_level: str
    next_due_at: str | None
    generated_at: str
    message: Message

    @classmethod
    def of(cls, plan: Plan) -> Event:
        return cls(EVENT_TYPE, "evt-" + plan.plan_id.removeprefix("plan-"), plan.plan_id, plan.schedule_id or "",
                   plan.occurrence, plan.status, plan.alert_level, plan.next_due_at, plan.generated_at or "",
                   plan.message)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Event:
        return cls(data["event_type"], data["event_id"], data["plan_id"], data["schedule_id"], data["occurrence"],
                   data["status"], data["alert_level"], data["next_due_at"], data["generated_at"],
                   Message.from_json(data["message"]))

    def to_json(self) -> Json:
        return {"event_type": self.event_type, "event_id": self.event_id, "plan_id": self.plan_id,
                "schedule_id": self.schedule_id, "occurrence": self.occurrence, "status": self.status,
                "alert_level": self.alert_level, "next_due_at": self.next_due_at,
                "generated_at": self.generated_at, "message": self.message.to_json()}


@dataclass(frozen=True)
class Attempt:
    """One attempt at one route: when, how long, its failure class (``ok`` when it succeeded)."""

    attempt: int
    at: str | None
    duration_ms: float
    failure_class: str
    status_code: int | None
    retry_after: float | None
    gave_up: str | None = None

    def to_json(self) -> Json:
        data: Json = {"attempt": self.attempt, "at": self.at, "duration_ms": self.duration_ms,
                      "class": self.failure_class, "status_code": self.status_code, "retry_after": self.retry_after}
        if self.gave_up is not None:
            data["gave_up"] = self.gave_up
        return data


@dataclass(frozen=True)
class DeliveryEvidence:
    """``release-connector-delivery`` evidence for one route (SPEC §6). Never holds a request body or a
    credential; ``target`` is scheme and host only; the redactor has scrubbed every supplied field."""

    evidence_id: str
    event_id: str
    event_type: str
    plan_id: str
    schedule_id: str | None
    occurrence: str
    route_key: str
    owner: str
    provider: str
    connector: str
    delivery_key: str
    claim: str
    outcome: str
    status_code: int | None
    failure_class: str | None
    error: str | None
    attempts: tuple[Attempt, ...]
    started_at: str | None
    completed_at: str | None
    receipt: Mapping[str, Any]
    target: str | None
    network: Mapping[str, Any] = field(default_factory=dict)  # e.g. ``tls_verify: false``, only when notable
    metadata_kind: str = METADATA_KIND
    connector_delivery_source: str = DELIVERY_SOURCE

    @property
    def succeeded(self) -> bool:
        return self.outcome in ("delivered", "accepted")

    def to_json(self) -> Json:
        return {
            "metadata_kind": self.metadata_kind, "connector_delivery_source": self.connector_delivery_source,
            "evidence_id": self.evidence_id, "event_id": self.event_id, "event_type": self.event_type,
            "plan_id": self.plan_id, "schedule_id": self.schedule_id, "occurrence": self.occurrence,
            "route_key": self.route_key, "owner": self.owner, "provider": self.provider,
            "connector": self.connector, "delivery_key": self.delivery_key, "claim": self.claim,
            "outcome": self.outcome, "status_code": self.status_code, "failure_class": self.failure_class,
            "error": self.error, "attempts": [a.to_json() for a in self.attempts], "started_at": self.started_at,
            "completed_at": self.completed_at, "receipt": dict(self.receipt), "target": self.target,
            **self.network,
        }


@dataclass(frozen=True)
class SkippedRoute:
    """A ``deliver`` route this run did not send: ``in_flight`` (another run holds its claim),
    ``already_delivered`` or ``store_failed`` (nothing more is sent once evidence cannot be stored)."""

    route_key: str
    connector: str
    skipped: str

    def to_json(self) -> Json:
        return {"route_key": self.route_key, "connector": self.connector, "skipped": self.skipped}


__all__ = [
    "ACK_SCHEMA", "CLOSURE_HASHED", "CLOSURE_SCHEMA", "DELIVERY_SOURCE", "ESCALATION_SCHEMA", "EVENT_TYPE",
    "EXECUTION_HASHED", "METADATA_KIND", "PLAN_COUNTS", "PLAN_SCHEMA", "PLAYBOOK_SCHEMA", "RETRY_APPROVAL_SCHEMA",
    "RETRY_EXECUTION_SCHEMA", "RETRY_PLAN_SCHEMA", "RETRY_WORKER_SCHEMA", "ROLES", "AckRefusal", "Acknowledgement",
    "Actor", "Attempt", "DeliveryEvidence", "EscalationNotice", "EscalationPlan", "EscalationRoute", "EscalationRun",
    "EscalationSchedule", "Event", "HistoryPage", "Json", "Message", "Plan", "PlaybookEntry", "PlaybookStep",
    "RecoveryClosure", "RecoveryPlaybook", "RetryApproval", "RetryEntry", "RetryExecution", "RetryPlan",
    "RetryPolicySnapshot", "RetryWorkerRun", "Route", "RouteDecision", "SkippedRoute", "WorkerRefusal",
]
