"""The records the core produces and hands between its tiers: plan, route decision, route, message,
event, delivery evidence, acknowledgement and escalation plan.

Each is a frozen dataclass with one ``to_json()`` that gives its published JSON (the same keys in the
same order as the payloads the CLI prints and the API answers). They import nothing from the
evaluation, dispatch or store tiers: planning builds them, delivery consumes them, the store
serialises them, the faces render them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

PLAN_SCHEMA: Final = "cavra.go-backend-pilot.rollback-drill-notification-plan.v1"
EVENT_TYPE: Final = "cavra.go_backend.rollback_drill.notification"
ACK_SCHEMA: Final = "cavra.go-backend-pilot.rollback-drill-notification-ack.v1"
ESCALATION_SCHEMA: Final = "cavra.go-backend-pilot.rollback-drill-notification-escalation-plan.v1"
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


@dataclass(frozen=True)
class Acknowledgement:
    """``cavra.go-backend-pilot.rollback-drill-notification-ack.v1``."""

    schedule_id: str
    plan_id: str
    provider: str
    acknowledged_by: str
    state: str
    external_ref: str | None
    notes: str | None
    acknowledged_at: str
    schema_version: str = ACK_SCHEMA

    def to_json(self) -> Json:
        return {"schema_version": self.schema_version, "schedule_id": self.schedule_id, "plan_id": self.plan_id,
                "provider": self.provider, "acknowledged_by": self.acknowledged_by, "state": self.state,
                "external_ref": self.external_ref, "notes": self.notes, "acknowledged_at": self.acknowledged_at}


@dataclass(frozen=True)
class EscalationRoute:
    """A delivered route still waiting for a clearing acknowledgement; ``breached`` once late."""

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

    def to_json(self) -> Json:
        return {"schedule_id": self.schedule_id, "plan_id": self.plan_id, "route_key": self.route_key,
                "owner": self.owner, "provider": self.provider, "delivered_at": self.delivered_at,
                "acknowledgement_minutes": self.acknowledgement_minutes, "acknowledge_by": self.acknowledge_by,
                "breached": self.breached, "escalate_to": self.escalate_to}


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


# --- failed notifications: retries with approval, connector recovery (issue 17, docs/retries.md) ---------

RETRY_PLAN_SCHEMA: Final = "cavra.go-backend-pilot.rollback-drill-retry-plan.v1"
RETRY_APPROVAL_SCHEMA: Final = "cavra.go-backend-pilot.rollback-drill-retry-approval.v1"
RETRY_EXECUTION_SCHEMA: Final = "cavra.go-backend-pilot.rollback-drill-retry-execution-record.v1"
RETRY_WORKER_SCHEMA: Final = "cavra.go-backend-pilot.rollback-drill-retry-worker-run.v1"
PLAYBOOK_SCHEMA: Final = "cavra.go-backend-pilot.connector-recovery-playbook.v1"
CLOSURE_SCHEMA: Final = "cavra.go-backend-pilot.connector-recovery-closure.v1"


@dataclass(frozen=True)
class RetryPolicySnapshot:
    """The retry policy a plan was built with (the routing policy's ``retry_policy`` or its defaults)."""

    delay_minutes: int
    backoff_multiplier: float
    max_retry_executions: int
    approval_expiry_minutes: int
    lookback_hours: int
    playbook_min_failures: int
    source: str

    def to_json(self) -> Json:
        return {"delay_minutes": self.delay_minutes, "backoff_multiplier": self.backoff_multiplier,
                "max_retry_executions": self.max_retry_executions,
                "approval_expiry_minutes": self.approval_expiry_minutes, "lookback_hours": self.lookback_hours,
                "playbook_min_failures": self.playbook_min_failures, "source": self.source}


@dataclass(frozen=True)
class RetryEntry:
    """One failed (route, connector) and what to do next: ``retry``, ``wait`` (until ``not_before``),
    ``suppress``, ``superseded`` or ``not_retryable``."""

    entry_id: str
    schedule_id: str
    plan_id: str
    occurrence: str
    route_key: str
    owner: str
    provider: str
    connector: str
    failure_class: str | None
    failed_evidence_id: str
    failed_at: str
    retry_executions: int
    action: str
    reason: str
    not_before: str | None = None

    def to_json(self) -> Json:
        return {"entry_id": self.entry_id, "schedule_id": self.schedule_id, "plan_id": self.plan_id,
                "occurrence": self.occurrence, "route_key": self.route_key, "owner": self.owner,
                "provider": self.provider, "connector": self.connector, "failure_class": self.failure_class,
                "failed_evidence_id": self.failed_evidence_id, "failed_at": self.failed_at,
                "retry_executions": self.retry_executions, "action": self.action, "reason": self.reason,
                "not_before": self.not_before}

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> RetryEntry:
        return cls(d["entry_id"], d["schedule_id"], d["plan_id"], d["occurrence"], d["route_key"], d["owner"],
                   d["provider"], d["connector"], d["failure_class"], d["failed_evidence_id"], d["failed_at"],
                   d["retry_executions"], d["action"], d["reason"], d.get("not_before"))


@dataclass(frozen=True)
class RetryPlan:
    """``cavra.go-backend-pilot.rollback-drill-retry-plan.v1``: one entry per failed (route, connector)."""

    retry_plan_id: str
    generated_at: str
    generated_by: str
    policy: RetryPolicySnapshot
    entries: tuple[RetryEntry, ...]
    schema_version: str = RETRY_PLAN_SCHEMA

    def counts(self) -> dict[str, int]:
        names = ("retry", "wait", "suppress", "superseded", "not_retryable")
        return {name: sum(e.action == name for e in self.entries) for name in names}

    def to_json(self) -> Json:
        return {"schema_version": self.schema_version, "retry_plan_id": self.retry_plan_id,
                "generated_at": self.generated_at, "generated_by": self.generated_by,
                "policy": self.policy.to_json(), "entry_count": len(self.entries), "counts": self.counts(),
                "entries": [e.to_json() for e in self.entries]}


@dataclass(frozen=True)
class RetryApproval:
    """``…rollback-drill-retry-approval.v1``: a decision on one retry entry, bound to its plan, route,
    connector and failed evidence; ``approved`` is usable once, until ``expires_at``."""

    approval_id: str
    retry_plan_id: str
    entry_id: str
    schedule_id: str
    route_key: str
    connector: str
    failed_evidence_id: str
    decision: str
    decided_by: str
    decided_at: str
    expires_at: str
    notes: str | None
    schema_version: str = RETRY_APPROVAL_SCHEMA

    def to_json(self) -> Json:
        return {"schema_version": self.schema_version, "approval_id": self.approval_id,
                "retry_plan_id": self.retry_plan_id, "entry_id": self.entry_id, "schedule_id": self.schedule_id,
                "route_key": self.route_key, "connector": self.connector,
                "failed_evidence_id": self.failed_evidence_id, "decision": self.decision,
                "decided_by": self.decided_by, "decided_at": self.decided_at, "expires_at": self.expires_at,
                "notes": self.notes}

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> RetryApproval:
        return cls(d["approval_id"], d["retry_plan_id"], d["entry_id"], d["schedule_id"], d["route_key"],
                   d["connector"], d["failed_evidence_id"], d["decision"], d["decided_by"], d["decided_at"],
                   d["expires_at"], d.get("notes"))


# the fields an execution record's ``execution_hash`` covers, in order
EXECUTION_HASHED: Final = ("execution_id", "worker_run_id", "retry_plan_id", "entry_id", "approval_id",
                           "schedule_id", "route_key", "connector", "failed_evidence_id", "status",
                           "delivery_evidence_id", "reason", "executed_at", "executed_by")


@dataclass(frozen=True)
class RetryExecution:
    """``…rollback-drill-retry-execution-record.v1``: what one live retry did (``delivered``, ``failed``
    or ``skipped``), bound to its approval; ``execution_hash`` is sha256 over :data:`EXECUTION_HASHED`."""

    execution_id: str
    worker_run_id: str
    retry_plan_id: str
    entry_id: str
    approval_id: str
    schedule_id: str
    route_key: str
    connector: str
    failed_evidence_id: str
    status: str
    delivery_evidence_id: str | None
    reason: str
    executed_at: str
    executed_by: str
    execution_hash: str
    schema_version: str = RETRY_EXECUTION_SCHEMA

    def to_json(self) -> Json:
        return {"schema_version": self.schema_version, **{name: getattr(self, name) for name in EXECUTION_HASHED},
                "execution_hash": self.execution_hash}


@dataclass(frozen=True)
class WorkerRefusal:
    """An entry the worker did not send, and why: ``dry_run``, ``missing_approval``, ``denied``,
    ``deferred``, ``expired``, ``approval_used`` or ``not_due`` (the entry's action is not ``retry``)."""

    entry_id: str
    route_key: str
    connector: str
    reason: str
    approval_id: str | None

    def to_json(self) -> Json:
        return {"entry_id": self.entry_id, "route_key": self.route_key, "connector": self.connector,
                "reason": self.reason, "approval_id": self.approval_id}


@dataclass(frozen=True)
class RetryWorkerRun:
    """``…rollback-drill-retry-worker-run.v1``: one worker pass over a retry plan."""

    worker_run_id: str
    retry_plan_id: str | None
    execute: bool
    started_at: str
    executions: tuple[RetryExecution, ...]
    refusals: tuple[WorkerRefusal, ...]
    schema_version: str = RETRY_WORKER_SCHEMA

    def to_json(self) -> Json:
        return {"schema_version": self.schema_version, "worker_run_id": self.worker_run_id,
                "retry_plan_id": self.retry_plan_id, "execute": self.execute, "started_at": self.started_at,
                "executed_count": len(self.executions),
                "delivered_count": sum(e.status == "delivered" for e in self.executions),
                "refused_count": len(self.refusals),
                "executions": [e.to_json() for e in self.executions],
                "refusals": [r.to_json() for r in self.refusals]}


@dataclass(frozen=True)
class PlaybookStep:
    failure_class: str
    step: str

    def to_json(self) -> Json:
        return {"failure_class": self.failure_class, "step": self.step}


@dataclass(frozen=True)
class PlaybookEntry:
    """A connector with repeated failures: what was seen and what to do, at the private boundary.
    ``status``: ``open``, ``resolved``/``mitigated``/``deferred``/``escalated`` (its latest closure) or
    ``reopened`` (a failure after that closure)."""

    connector: str
    plugin: str
    category: str
    failure_count: int
    failure_classes: Mapping[str, int]
    first_failure_at: str
    last_failure_at: str
    last_failed_evidence_id: str
    steps: tuple[PlaybookStep, ...]
    status: str
    closure_id: str | None

    def to_json(self) -> Json:
        return {"connector": self.connector, "plugin": self.plugin, "category": self.category,
                "failure_count": self.failure_count, "failure_classes": dict(self.failure_classes),
                "first_failure_at": self.first_failure_at, "last_failure_at": self.last_failure_at,
                "last_failed_evidence_id": self.last_failed_evidence_id,
                "steps": [s.to_json() for s in self.steps], "status": self.status, "closure_id": self.closure_id}


@dataclass(frozen=True)
class RecoveryPlaybook:
    """``cavra.go-backend-pilot.connector-recovery-playbook.v1``. No secret, no private URL."""

    playbook_id: str
    generated_at: str
    generated_by: str
    lookback_hours: int
    min_failures: int
    entries: tuple[PlaybookEntry, ...]
    schema_version: str = PLAYBOOK_SCHEMA

    def to_json(self) -> Json:
        return {"schema_version": self.schema_version, "playbook_id": self.playbook_id,
                "generated_at": self.generated_at, "generated_by": self.generated_by,
                "lookback_hours": self.lookback_hours, "min_failures": self.min_failures,
                "entry_count": len(self.entries), "entries": [e.to_json() for e in self.entries]}


# the fields a closure's ``closure_hash`` covers, in order
CLOSURE_HASHED: Final = ("closure_id", "connector", "state", "verification_refs", "last_failure_at",
                         "last_failed_evidence_id", "closed_by", "closed_at", "notes")


@dataclass(frozen=True)
class RecoveryClosure:
    """``cavra.go-backend-pilot.connector-recovery-closure.v1``: ``resolved``/``mitigated`` only with a
    verification ref that is a successful delivery through the connector after its last failure."""

    closure_id: str
    connector: str
    state: str
    verification_refs: tuple[str, ...]
    last_failure_at: str
    last_failed_evidence_id: str
    closed_by: str
    closed_at: str
    notes: str | None
    closure_hash: str
    schema_version: str = CLOSURE_SCHEMA

    def hashed(self) -> Json:
        return {name: list(v) if isinstance(v := getattr(self, name), tuple) else v for name in CLOSURE_HASHED}

    def to_json(self) -> Json:
        return {"schema_version": self.schema_version, **self.hashed(), "closure_hash": self.closure_hash}
