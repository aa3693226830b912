"""Failed notifications: the retry plan, approval decisions and the retry worker (docs/retries.md).

A delivery whose automatic retries gave up is ``failed``. The retry plan says, per failed (route,
connector), what happens next; an actor with the ``approve`` role decides on a ``retry`` entry; the
worker re-sends only approved, unexpired, unused entries, through the normal delivery core (the facade
hands it a ``send`` function), and binds each live retry to its approval in an execution record.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection, Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from .errors import CavraError, ForbiddenError, InputError
from .records import (
    EXECUTION_HASHED,
    DeliveryEvidence,
    Message,
    Plan,
    RetryApproval,
    RetryEntry,
    RetryExecution,
    RetryPlan,
    RetryPolicySnapshot,
    RetryWorkerRun,
    Route,
    RouteDecision,
    SkippedRoute,
    WorkerRefusal,
)
from .store import Filed, canonical_json, sha256_hex, to_utc
from .timeutil import iso

if TYPE_CHECKING:
    from .models import RoutingPolicy
    from .store import EvidenceStore

DECISIONS = ("approved", "denied", "deferred", "expired")
NOT_RETRYABLE = ("auth", "client_error", "plugin_error")  # a config fix first: see the recovery playbook
MAX_FAILURES = 5000  # failed deliveries one plan looks at (newest first)
MAX_RECORDS = 1000
MAX_EXPIRY_MINUTES = 7 * 24 * 60
TEST_SCHEDULE = "cavra-connector-test"  # connector tests (recovery.py): in the playbook, never retried
Send = Callable[[RetryEntry], "DeliveryEvidence | SkippedRoute"]


def require_role(roles: Collection[str], role: str) -> None:
    """The one role check of retries and recovery closures: ``role`` or ``admin``.

    The seam for verified actors (issue 16): point this at ``cavra_notify.actors`` when it lands."""
    if role not in roles and "admin" not in roles:
        held = ", ".join(sorted(roles)) or "none"
        raise ForbiddenError(f"this decision needs the '{role}' role; the actor has: {held}")


def actor_name(actor: str) -> str:
    from .guard import check_text

    name = actor.strip() if isinstance(actor, str) else ""
    if not name or len(name) > 200 or any(c.isspace() or ord(c) < 32 for c in name):
        raise InputError("actor: expected a name of 1 to 200 characters without spaces")
    problem = check_text(name)
    if problem:
        raise InputError(f"actor: not public-safe: {problem}")
    return name


def public_notes(notes: str | None) -> str | None:
    from .guard import check_text

    if notes is None:
        return None
    if len(notes) > 2000:
        raise InputError("notes: at most 2000 characters")
    problem = check_text(notes)
    if problem:
        raise InputError(f"notes: not public-safe: {problem}")
    return notes


def record_hash(payload: Mapping[str, Any], fields: tuple[str, ...]) -> str:
    """sha256 over the named fields of a record, as canonical JSON (execution and closure hashes)."""
    return sha256_hex(canonical_json({name: payload.get(name) for name in fields}))


def policy_snapshot(policy: RoutingPolicy | None) -> RetryPolicySnapshot:
    from .models import RetryPolicy

    given = policy.retry_policy if policy is not None else None
    p = given or RetryPolicy()
    return RetryPolicySnapshot(p.delay_minutes, float(p.backoff_multiplier), p.max_retry_executions,
                               p.approval_expiry_minutes, p.lookback_hours, p.playbook_min_failures,
                               "routing_policy" if given is not None else "defaults")


# --- the retry plan ------------------------------------------------------------------------------------

def _entry_id(evidence_id: str, route_key: str, connector: str) -> str:
    return "rty-" + sha256_hex(f"{evidence_id}\n{route_key}\n{connector}")[:24]


def _executions(store: EvidenceStore, schedule_id: str) -> list[dict[str, Any]]:
    return [r["payload"] for r in store.history(schedule_id=schedule_id, kind="retry_execution", limit=MAX_RECORDS)]


def _entry(store: EvidenceStore, failed: dict[str, Any], policy: RetryPolicySnapshot, now: datetime,
           since: datetime, executions: list[dict[str, Any]]) -> RetryEntry:
    sid, occurrence, route_key, connector = failed["schedule_id"], failed["occurrence"], failed["route_key"], \
        failed["connector"]
    failed_at = to_utc(failed["completed_at"] or failed["started_at"])
    last_ok = store.last_deliveries(sid, occurrence).get(route_key)
    done = [x for x in executions if x["route_key"] == route_key and x["connector"] == connector
            and x["status"] in ("delivered", "failed") and to_utc(x["executed_at"]) >= since
            and (last_ok is None or to_utc(x["executed_at"]) > last_ok)]
    cls = failed.get("failure_class")
    not_before: str | None = None
    if last_ok is not None and last_ok > failed_at:
        action, reason = "superseded", f"a later delivery of this route succeeded at {iso(last_ok)}"
    elif cls in NOT_RETRYABLE:
        action, reason = "not_retryable", f"{cls} needs a configuration fix first (see the recovery playbook)"
    elif len(done) >= policy.max_retry_executions:
        action, reason = "suppress", f"{len(done)} retry executions reached the cap of {policy.max_retry_executions}"
    else:
        due = failed_at + timedelta(minutes=policy.delay_minutes * policy.backoff_multiplier ** len(done))
        if now < due:
            action, reason, not_before = "wait", f"retry after {iso(due)} ({len(done)} earlier retries)", iso(due)
        else:
            action, reason = "retry", f"{cls or 'failed'}; needs an approval before the worker re-sends it"
    return RetryEntry(_entry_id(failed["evidence_id"], route_key, connector), sid, failed["plan_id"], occurrence,
                      route_key, failed["owner"], failed["provider"], connector, cls, failed["evidence_id"],
                      str(iso(failed_at)), len(done), action, reason, not_before)


def build_retry_plan(store: EvidenceStore, policy: RetryPolicySnapshot, now: datetime,
                     generated_by: str) -> RetryPlan:
    """One entry per failed (route, connector) in the lookback (its latest failure), stored as evidence."""
    since = now - timedelta(hours=policy.lookback_hours)
    latest: dict[tuple[str, str, str, str], dict[str, Any]] = {}
    for record in store.history(kind="delivery", outcome="failed", since=since, limit=MAX_FAILURES):
        p = record["payload"]
        key = (p["schedule_id"], p["occurrence"], p["route_key"], p["connector"])
        if key not in latest and to_utc(record["recorded_at"]) <= now and key[0] != TEST_SCHEDULE:
            latest[key] = p
    executions: dict[str, list[dict[str, Any]]] = {}
    entries = []
    for key in sorted(latest):
        runs = executions.setdefault(key[0], _executions(store, key[0]))
        entries.append(_entry(store, latest[key], policy, now, since, runs))
    plan = RetryPlan("rtp-" + uuid.uuid4().hex[:24], str(iso(now)), generated_by, policy, tuple(entries))
    store.save_records([Filed("retry_plan", plan.retry_plan_id, now, plan.to_json(),
                              schedules=tuple(sorted({e.schedule_id for e in entries})),
                              outcome="retry" if plan.counts()["retry"] else "nothing_to_retry")])
    return plan


def load_plan(store: EvidenceStore, retry_plan_id: str | None) -> RetryPlan | None:
    """A stored retry plan by id (an unknown id is an error), or the latest one (``None`` if none)."""
    if retry_plan_id is None:
        found = store.history(kind="retry_plan", limit=1)
        if not found:
            return None
        record: dict[str, Any] | None = found[0]
    else:
        record = store.get_record(retry_plan_id)
    if record is None or record["kind"] != "retry_plan":
        raise InputError(f"no retry plan with id {retry_plan_id!r}")
    p = record["payload"]
    s = p["policy"]
    policy = RetryPolicySnapshot(s["delay_minutes"], s["backoff_multiplier"], s["max_retry_executions"],
                                 s["approval_expiry_minutes"], s["lookback_hours"], s["playbook_min_failures"],
                                 s["source"])
    return RetryPlan(p["retry_plan_id"], p["generated_at"], p["generated_by"], policy,
                     tuple(RetryEntry.from_json(e) for e in p["entries"]))


# --- approval decisions --------------------------------------------------------------------------------

def decide(store: EvidenceStore, *, retry_plan_id: str, entry_id: str, decision: str, actor: str,
           notes: str | None, expires_in_minutes: int | None, now: datetime) -> RetryApproval:
    """Record a decision on one retry entry, bound to its plan, route, connector and failed evidence."""
    if decision not in DECISIONS:
        raise InputError(f"decision: expected one of {', '.join(DECISIONS)}, got {decision!r}")
    plan = load_plan(store, retry_plan_id)
    assert plan is not None
    entry = next((e for e in plan.entries if e.entry_id == entry_id), None)
    if entry is None:
        raise InputError(f"retry plan {retry_plan_id} has no entry {entry_id!r}")
    if decision == "approved" and entry.action != "retry":
        raise InputError(f"entry {entry_id} is '{entry.action}' ({entry.reason}): only a 'retry' entry can be approved")
    minutes = plan.policy.approval_expiry_minutes if expires_in_minutes is None else expires_in_minutes
    if isinstance(minutes, bool) or not 0 < minutes <= MAX_EXPIRY_MINUTES:
        raise InputError(f"expires-in-minutes: expected 1 to {MAX_EXPIRY_MINUTES}, got {minutes}")
    approval = RetryApproval("apr-" + uuid.uuid4().hex[:24], plan.retry_plan_id, entry.entry_id, entry.schedule_id,
                             entry.route_key, entry.connector, entry.failed_evidence_id, decision, actor_name(actor),
                             str(iso(now)), str(iso(now + timedelta(minutes=minutes))), public_notes(notes))
    store.save_records([Filed("retry_approval", approval.approval_id, now, approval.to_json(),
                              schedule_id=entry.schedule_id, connector=entry.connector, outcome=decision,
                              route_key=entry.route_key, plan_id=entry.plan_id)])
    return approval


def latest_decision(store: EvidenceStore, entry: RetryEntry, retry_plan_id: str) -> RetryApproval | None:
    for record in store.history(schedule_id=entry.schedule_id, kind="retry_approval", limit=MAX_RECORDS):
        p = record["payload"]
        if p.get("entry_id") == entry.entry_id and p.get("retry_plan_id") == retry_plan_id:
            return RetryApproval.from_json(p)
    return None


def refusal(store: EvidenceStore, plan: RetryPlan, entry: RetryEntry, now: datetime) -> tuple[str | None, str | None]:
    """Why the worker may not send ``entry`` (``None`` when it may), and the approval it found."""
    approval = latest_decision(store, entry, plan.retry_plan_id)
    if approval is None:
        return "missing_approval", None
    bound = (approval.retry_plan_id, approval.entry_id, approval.route_key, approval.connector,
             approval.failed_evidence_id)
    if bound != (plan.retry_plan_id, entry.entry_id, entry.route_key, entry.connector, entry.failed_evidence_id):
        return "approval_mismatch", approval.approval_id
    if approval.decision != "approved":
        return approval.decision, approval.approval_id
    if now >= to_utc(approval.expires_at):
        return "expired", approval.approval_id
    if any(x.get("approval_id") == approval.approval_id for x in _executions(store, entry.schedule_id)):
        return "approval_used", approval.approval_id
    return None, approval.approval_id


# --- the worker ----------------------------------------------------------------------------------------

def run_worker(store: EvidenceStore, plan: RetryPlan | None, *, execute: bool, limit: int, now: datetime,
               send: Send, executed_by: str) -> RetryWorkerRun:
    """Dry run: every sendable entry is refused ``dry_run``. Live: at most ``limit`` sends, each claiming
    its approval first (usable once), each written as an execution record."""
    if isinstance(limit, bool) or not 1 <= limit <= 25:
        raise InputError(f"limit: expected 1 to 25, got {limit}")
    run_id = "wrk-" + uuid.uuid4().hex[:24]
    executions: list[RetryExecution] = []
    refusals: list[WorkerRefusal] = []
    for entry in (e for e in (plan.entries if plan else ()) if e.action == "retry"):
        assert plan is not None
        reason, approval_id = refusal(store, plan, entry, now)
        if reason is None and not execute:
            reason = "dry_run"
        if reason is None and len(executions) >= limit:
            reason = "limit_reached"
        if reason is None and approval_id is not None and not store.use_approval(approval_id, run_id, now):
            reason = "approval_used"
        if reason is not None or approval_id is None:
            refusals.append(WorkerRefusal(entry.entry_id, entry.route_key, entry.connector, reason or "", approval_id))
            continue
        executions.append(_execute(store, plan, entry, approval_id, run_id, now, send, executed_by))
    return RetryWorkerRun(run_id, plan.retry_plan_id if plan else None, execute, str(iso(now)), tuple(executions),
                          tuple(refusals))


def _execute(store: EvidenceStore, plan: RetryPlan, entry: RetryEntry, approval_id: str, run_id: str,
             now: datetime, send: Send, executed_by: str) -> RetryExecution:
    last_ok = store.last_deliveries(entry.schedule_id, entry.occurrence).get(entry.route_key)
    evidence_id: str | None = None
    if last_ok is not None and last_ok > to_utc(entry.failed_at):
        status, reason = "skipped", f"superseded: the route was delivered at {iso(last_ok)}"
    else:
        try:
            outcome = send(entry)
        except CavraError as exc:
            outcome = SkippedRoute(entry.route_key, entry.connector, str(exc))
        if isinstance(outcome, SkippedRoute):
            status, reason = "skipped", outcome.skipped
        else:
            evidence_id = outcome.evidence_id
            status = "delivered" if outcome.succeeded else "failed"
            reason = outcome.outcome if outcome.succeeded else f"{outcome.failure_class}: {outcome.error}"
    fields: dict[str, Any] = {
        "execution_id": "rex-" + uuid.uuid4().hex[:24], "worker_run_id": run_id, "retry_plan_id": plan.retry_plan_id,
        "entry_id": entry.entry_id, "approval_id": approval_id, "schedule_id": entry.schedule_id,
        "route_key": entry.route_key, "connector": entry.connector, "failed_evidence_id": entry.failed_evidence_id,
        "status": status, "delivery_evidence_id": evidence_id, "reason": reason, "executed_at": str(iso(now)),
        "executed_by": executed_by}
    execution = RetryExecution(**fields, execution_hash=record_hash(fields, EXECUTION_HASHED))
    store.save_records([Filed("retry_execution", execution.execution_id, now, execution.to_json(),
                              schedule_id=entry.schedule_id, connector=entry.connector, outcome=status,
                              route_key=entry.route_key, plan_id=entry.plan_id)])
    return execution


def narrowed_plan(plan: Mapping[str, Any], route_key: str) -> Plan:
    """The stored notification plan with only ``route_key`` to deliver (the retry re-sends that notification)."""
    found = next((d["route"] for d in plan.get("route_decisions", []) if d["route"]["route_key"] == route_key), None)
    if found is None:
        raise InputError(f"plan {plan['plan_id']} has no route {route_key!r}")
    route = Route.from_json(found)
    decision = RouteDecision(route, "deliver", None, "approved retry of a failed notification")
    counts = {"deliverable_route_count": 1}
    return Plan(plan["plan_id"], plan["schedule_id"], plan["occurrence"], plan["generated_at"], plan["generated_by"],
                plan["status"], plan["alert_level"], plan["next_due_at"], plan["days_until_due"], True,
                plan["policy_source"], plan["repeat_interval_minutes"], (route.provider,), (route.provider,), (), (),
                (route,), (decision,), counts, tuple(plan.get("acknowledgement_required_providers", [])),
                Message.from_json(plan["message"]), tuple(plan.get("failed_checks", [])), plan.get("fallback_route"))


def hash_problems(bundle: Mapping[str, Any]) -> list[str]:
    """Execution records and closures whose own hash no longer matches their fields (``evidence verify``)."""
    from .records import CLOSURE_HASHED

    problems = []
    for position, record in enumerate(bundle.get("records") or []):
        if not isinstance(record, dict) or not isinstance(record.get("payload"), dict):
            continue
        payload, kind = record["payload"], record.get("kind")
        for k, fields, name in (("retry_execution", EXECUTION_HASHED, "execution_hash"),
                                ("recovery_closure", CLOSURE_HASHED, "closure_hash")):
            if kind == k and payload.get(name) != record_hash(payload, fields):
                label = f"record {position} ({kind} {record.get('id')})"
                problems.append(f"{label}: {name} mismatch (the record was altered)")
    return problems


