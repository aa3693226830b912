"""Connector recovery: the playbook for connectors that keep failing, the closure that proves one was
brought back, and the public-safe test notification that produces that proof (docs/retries.md).

Remediation happens at the private boundary (the connector config); the playbook names the connector,
its plugin and category, what failed and what to do, and never a secret or a URL.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from .errors import InputError
from .records import (
    CLOSURE_HASHED,
    Message,
    Plan,
    PlaybookEntry,
    PlaybookStep,
    RecoveryClosure,
    RecoveryPlaybook,
    RetryPolicySnapshot,
    Route,
    RouteDecision,
)
from .retries import MAX_FAILURES, MAX_RECORDS, TEST_SCHEDULE, actor_name, public_notes, record_hash
from .store import SUCCESS_OUTCOMES, Filed, to_utc
from .timeutil import iso

if TYPE_CHECKING:
    from .store import EvidenceStore

CLOSURE_STATES = ("resolved", "mitigated", "deferred", "escalated", "reopened")
VERIFIED_STATES = ("resolved", "mitigated")
OPEN_STATUSES = ("open", "reopened", "deferred", "escalated")
STEPS = {
    "auth": "rotate the connector's credential in the private connector config, then `cavra connectors test`",
    "rate_limited": "lower the connector's concurrency (or the provider's rate) in the private connector config",
    "connection": "check egress from this host to the provider: proxy, firewall and DNS",
    "timeout": "check egress, proxy and DNS; then the provider's latency (raise --timeout-seconds only if it is slow)",
    "client_error": "check the connector's settings (channel, project, table, payload fields) in the private config",
    "server_error": "check the provider's status page; retry with approval once it recovers",
    "plugin_error": "check that the connector is configured and its provider plugin is installed (`cavra plugins`)",
}
TEST_OWNER = "cavra-operator"
_CATEGORY = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")


def category_of(provider: str, categories: Mapping[str, str]) -> str:
    value = categories.get(provider, "other")
    return value if _CATEGORY.match(value) else "other"


def _failures(store: EvidenceStore, connector: str | None = None, since: datetime | None = None,
              limit: int = MAX_FAILURES) -> list[dict[str, Any]]:
    """Failed delivery evidence, newest first (through ``connector`` only, when named)."""
    found = store.history(kind="delivery", outcome="failed", provider=connector, since=since, limit=limit)
    return [r["payload"] for r in found if connector is None or r["payload"].get("connector") == connector]


def latest_closure(store: EvidenceStore, connector: str) -> dict[str, Any] | None:
    found = store.history(kind="recovery_closure", provider=connector, limit=MAX_RECORDS)
    return next((r["payload"] for r in found if r["payload"].get("connector") == connector), None)


def _status(closure: dict[str, Any] | None, last_failure_at: datetime) -> tuple[str, str | None]:
    if closure is None:
        return "open", None
    state = str(closure["state"])
    if state != "reopened" and last_failure_at > to_utc(closure["closed_at"]):
        state = "reopened"  # a new failure after the closure
    return state, str(closure["closure_id"])


def build_playbook(store: EvidenceStore, policy: RetryPolicySnapshot, now: datetime, generated_by: str,
                   categories: Mapping[str, str]) -> RecoveryPlaybook:
    """An entry per connector with at least ``playbook_min_failures`` failures in the lookback, stored."""
    since = now - timedelta(hours=policy.lookback_hours)
    by_connector: dict[str, list[dict[str, Any]]] = {}
    for failure in _failures(store, since=since):
        if to_utc(failure["completed_at"] or failure["started_at"]) <= now:
            by_connector.setdefault(failure["connector"], []).append(failure)
    entries = []
    for connector, failures in sorted(by_connector.items()):
        if len(failures) < policy.playbook_min_failures:
            continue
        classes: dict[str, int] = {}
        for f in failures:
            classes[f.get("failure_class") or "unknown"] = classes.get(f.get("failure_class") or "unknown", 0) + 1
        last, first = failures[0], failures[-1]
        last_at = to_utc(last["completed_at"] or last["started_at"])
        status, closure_id = _status(latest_closure(store, connector), last_at)
        steps = tuple(PlaybookStep(c, STEPS.get(c, STEPS["server_error"])) for c in sorted(classes))
        entries.append(PlaybookEntry(connector, last["provider"], category_of(last["provider"], categories),
                                     len(failures), dict(sorted(classes.items())),
                                     str(iso(to_utc(first["completed_at"] or first["started_at"]))), str(iso(last_at)),
                                     last["evidence_id"], steps, status, closure_id))
    playbook = RecoveryPlaybook("pbk-" + uuid.uuid4().hex[:24], str(iso(now)), generated_by, policy.lookback_hours,
                                policy.playbook_min_failures, tuple(entries))
    schedules = {f["schedule_id"] for fs in by_connector.values() for f in fs}
    store.save_records([Filed("recovery_playbook", playbook.playbook_id, now, playbook.to_json(),
                              schedules=tuple(sorted(schedules)),
                              outcome="open" if any(e.status in OPEN_STATUSES for e in entries) else "clear")])
    return playbook


def _verified(store: EvidenceStore, ref: str, connector: str, after: datetime) -> tuple[bool, str | None]:
    """Whether ``ref`` is a successful delivery through ``connector`` after ``after`` (and its schedule)."""
    record = store.get_record(ref)
    if record is None:
        raise InputError(f"verification ref {ref!r} is not a recorded evidence id")
    p = record["payload"]
    ok = (record["kind"] == "delivery" and p.get("connector") == connector and p.get("outcome") in SUCCESS_OUTCOMES
          and to_utc(p.get("completed_at") or record["recorded_at"]) > after)
    return ok, record.get("schedule_id")


def close(store: EvidenceStore, *, connector: str, state: str, verification_refs: Sequence[str], actor: str,
          notes: str | None, now: datetime) -> RecoveryClosure:
    """Record a closure; ``resolved``/``mitigated`` need a ref the core checks, not one it trusts."""
    if state not in CLOSURE_STATES:
        raise InputError(f"state: expected one of {', '.join(CLOSURE_STATES)}, got {state!r}")
    if len(verification_refs) > 20:
        raise InputError("verification refs: at most 20")
    failures = _failures(store, connector, limit=MAX_RECORDS)
    if not failures:
        raise InputError(f"connector {connector!r} has no recorded failure: there is nothing to close")
    last = failures[0]
    last_at = to_utc(last["completed_at"] or last["started_at"])
    checked = [_verified(store, ref, connector, last_at) for ref in verification_refs]
    if state in VERIFIED_STATES and not any(ok for ok, _ in checked):
        raise InputError(f"{state} needs a verification ref that is a successful delivery through {connector} after "
                         f"its last failure at {iso(last_at)}; run `cavra connectors test {connector}` for one")
    fields: dict[str, Any] = {
        "closure_id": "rcl-" + uuid.uuid4().hex[:24], "connector": connector, "state": state,
        "verification_refs": list(verification_refs), "last_failure_at": str(iso(last_at)),
        "last_failed_evidence_id": last["evidence_id"], "closed_by": actor_name(actor), "closed_at": str(iso(now)),
        "notes": public_notes(notes)}
    closure = RecoveryClosure(**{**fields, "verification_refs": tuple(verification_refs)},
                              closure_hash=record_hash(fields, CLOSURE_HASHED))
    schedules = {last["schedule_id"], *(sid for _, sid in checked if sid)}
    store.save_records([Filed("recovery_closure", closure.closure_id, now, closure.to_json(),
                              schedule_id=last["schedule_id"], schedules=tuple(sorted(schedules)),
                              connector=connector, outcome=state)])
    return closure


def test_plan(connector: str, now: datetime, generated_by: str) -> Plan:
    """A one-route plan that sends a public-safe test notification through ``connector`` (no schedule)."""
    run = uuid.uuid4().hex[:24]
    route = Route(f"{TEST_SCHEDULE}:{TEST_OWNER}:{connector}", TEST_OWNER, connector, 0, TEST_OWNER)
    message = Message("CAVRA connector test", f"A test notification from cavra-notify through {connector}; "
                      "no action is needed.", "docs/retries.md", {"connector": connector, "purpose": "test"}, "info")
    decision = RouteDecision(route, "deliver", None, "connector test")
    return Plan(f"plan-test-{run}", None, f"{TEST_SCHEDULE}:{run}", iso(now), generated_by, "test", "info", None,
                None, True, "connector_test", 0, (connector,), (connector,), (), (), (route,), (decision,),
                {"deliverable_route_count": 1}, (), message)


def console_view(store: EvidenceStore) -> dict[str, Any]:
    """What the console shows: retry entries awaiting a decision, open playbook entries, recent closures."""
    from .retries import latest_decision, load_plan

    plan = load_plan(store, None)
    awaiting = []
    for entry in (e for e in (plan.entries if plan else ()) if e.action == "retry"):
        assert plan is not None
        approval = latest_decision(store, entry, plan.retry_plan_id)
        if approval is None or approval.decision == "deferred":
            awaiting.append({**entry.to_json(), "decision": approval.decision if approval else None})
    playbooks = store.history(kind="recovery_playbook", limit=1)
    entries = playbooks[0]["payload"]["entries"] if playbooks else []
    closures = store.history(kind="recovery_closure", limit=20)
    return {"retry_plan_id": plan.retry_plan_id if plan else None, "awaiting_decision": awaiting,
            "playbook_id": playbooks[0]["id"] if playbooks else None,
            "open_playbook_entries": [e for e in entries if e["status"] in OPEN_STATUSES],
            "closures": [c["payload"] for c in closures]}
