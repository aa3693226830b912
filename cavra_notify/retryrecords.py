"""The records of failed notifications (issue 17, docs/retries.md): retry plans, approvals, executions,
worker runs, connector recovery playbooks and closures (re-exported by :mod:`.records`).

Frozen dataclasses with one ``to_json()`` each, like every record; they import nothing of the core.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

Json = dict[str, Any]

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
