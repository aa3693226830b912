"""How records become rows and rows become records, the same for every backend.

A record is stored as canonical JSON (its ``payload``) next to the indexed columns drawn from it;
timestamps in columns have a fixed width in UTC so that text order is time order.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from ..errors import InputError
from .protocol import SUCCESS_OUTCOMES, ClaimResult, Filed, Timestamp, iso_z, to_utc

# The columns of ``records`` that an insert fills, in the order of the insert's parameters.
INSERT_FIELDS = ("kind", "record_id", "schedule_id", "provider", "connector", "outcome", "failure_class",
                 "occurrence", "route_key", "plan_id", "recorded_at", "payload")
RECORD_COLUMNS = "seq, kind, id, schedule_id, provider, outcome, recorded_at, payload"


def col(value: Timestamp, what: str = "timestamp") -> str:
    """Fixed-width UTC form used in columns, so text order is time order."""
    return to_utc(value, what).isoformat(timespec="microseconds")[:-6] + "Z"


def canonical_json(obj: Any) -> str:
    try:
        return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InputError(f"record is not JSON-serialisable: {exc}") from None


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def required(record: Mapping[str, Any], kind: str, *keys: str) -> None:
    for key in keys:
        value = record.get(key)
        if not isinstance(value, str) or not value:
            raise InputError(f"{kind} record lacks a non-empty string '{key}'")


def row_values(fields: Mapping[str, Any]) -> tuple[Any, ...]:
    """An insert's parameters (:data:`INSERT_FIELDS`) from a row's fields; absent columns are NULL."""
    return tuple(fields.get(name) for name in INSERT_FIELDS)


def plan_row(plan: dict[str, Any]) -> dict[str, Any]:
    required(plan, "plan", "plan_id", "schedule_id", "generated_at")
    return {
        "kind": "plan",
        "record_id": plan["plan_id"],
        "recorded_at": col(plan["generated_at"], "plan generated_at"),
        "payload": canonical_json(plan),
        "schedule_id": plan["schedule_id"],
        "outcome": plan.get("status"),
        "occurrence": plan.get("occurrence"),
        "plan_id": plan["plan_id"],
    }


def evidence_row(evidence: dict[str, Any]) -> dict[str, Any]:
    """The row of one delivery evidence (an ``evidence_id`` is assigned when it has none)."""
    if "evidence_id" not in evidence:
        evidence = {**evidence, "evidence_id": f"ev-{uuid.uuid4().hex}"}
    required(evidence, "delivery evidence", "evidence_id", "schedule_id", "route_key", "outcome")
    when = evidence.get("completed_at") or evidence.get("started_at") or datetime.now(UTC)
    return {
        "kind": "delivery",
        "record_id": evidence["evidence_id"],
        "payload": canonical_json(evidence),
        "recorded_at": col(when, "evidence completed_at"),
        "schedule_id": evidence["schedule_id"],
        "provider": evidence.get("provider"),
        "connector": evidence.get("connector"),
        "outcome": evidence["outcome"],
        "failure_class": evidence.get("failure_class"),
        "occurrence": evidence.get("occurrence"),
        "route_key": evidence["route_key"],
        "plan_id": evidence.get("plan_id"),
    }


def ack_row(ack: dict[str, Any]) -> dict[str, Any]:
    """The row of one acknowledgement (its ``acknowledgement_id``; older records: a content hash)."""
    required(ack, "acknowledgement", "schedule_id", "provider", "state", "acknowledged_at")
    payload = canonical_json(ack)
    return {
        "kind": "ack",
        "record_id": ack.get("acknowledgement_id") or f"ack-{sha256_hex(payload)[:32]}",
        "occurrence": ack.get("occurrence"),
        "payload": payload,
        "recorded_at": col(ack["acknowledged_at"], "acknowledged_at"),
        "schedule_id": ack["schedule_id"],
        "provider": ack["provider"],
        "outcome": ack["state"],
        "plan_id": ack.get("plan_id"),
    }


def escalation_evidence_row(evidence: dict[str, Any]) -> dict[str, Any]:
    """The row of one escalation delivery: a delivery evidence row of its own kind."""
    return {**evidence_row(evidence), "kind": "escalation"}


def escalation_row(plan: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The row of an escalation plan, and the schedules it names (it is filed under each)."""
    required(plan, "escalation plan", "generated_at")
    payload = canonical_json(plan)
    schedules = sorted(
        {s["schedule_id"] for s in plan.get("schedules", []) if isinstance(s, dict) and s.get("schedule_id")}
    )
    row = {
        "kind": "escalation_plan",
        "record_id": f"esc-{sha256_hex(payload)[:32]}",
        "payload": payload,
        "recorded_at": col(plan["generated_at"], "escalation plan generated_at"),
        "outcome": plan.get("alert_level"),
    }
    return row, schedules


def filed_row(filed: Filed) -> dict[str, Any]:
    """The row of a :class:`Filed` record (retry plans, approvals, executions, playbooks, closures)."""
    if not filed.record_id:
        raise InputError(f"{filed.kind} record lacks an id")
    return {"kind": filed.kind, "record_id": filed.record_id, "payload": canonical_json(filed.payload),
            "recorded_at": col(filed.recorded_at, f"{filed.kind} recorded_at"), "schedule_id": filed.schedule_id,
            "connector": filed.connector, "outcome": filed.outcome, "route_key": filed.route_key,
            "plan_id": filed.plan_id}


def settlement(key: tuple[str, str, str], outcome: str, completed_at: Timestamp) -> tuple[Any, ...]:
    """The notification-log upsert parameters that settle a route's claim with its outcome."""
    done = col(completed_at, "completed_at")
    success = outcome in SUCCESS_OUTCOMES
    return (*key, "delivered" if success else "failed", done, done if success else None, outcome, done)


def record(row: tuple[Any, ...]) -> dict[str, Any]:
    """A stored record as callers see it, from a row of :data:`RECORD_COLUMNS`."""
    _seq, kind, record_id, schedule_id, provider, outcome, recorded_at, payload = row
    return {
        "kind": kind,
        "id": record_id,
        "schedule_id": schedule_id,
        "provider": provider,
        "outcome": outcome,
        "recorded_at": iso_z(recorded_at),
        "payload": json.loads(payload),
    }


# The notification-log writes a claim decision makes (``?`` placeholders, key last).
CLAIM_INSERT = ("INSERT INTO notification_log (occurrence, route_key, connector, delivery_key, state, claims,"
                " claimed_at, lease_until) VALUES (?, ?, ?, ?, 'sending', 1, ?, ?)")
CLAIM_SETTLE = ("UPDATE notification_log SET claims = claims + 1, claimed_at = ?, lease_until = ?"
                " WHERE occurrence = ? AND route_key = ? AND connector = ?")
CLAIM_RESEND = ("UPDATE notification_log SET state = 'sending', delivery_key = ?, claims = claims + 1,"
                " claimed_at = ?, lease_until = ? WHERE occurrence = ? AND route_key = ? AND connector = ?")


def decide(row: tuple[Any, ...] | None, now_utc: datetime, clock_s: str, repeat_interval: timedelta,
           force: bool) -> ClaimResult:
    """A claim's result from its log row ``(state, lease_until, delivered_at)`` (None: never claimed).

    ``now_utc`` is the evaluation time (repeat interval); ``clock_s`` the store clock's (leases)."""
    if row is None:
        return "send"
    state, lease_until, delivered_at = row
    if state == "sending":
        return "in_flight" if lease_until is not None and lease_until > clock_s else "settle"
    if (state == "delivered" and not force and delivered_at is not None
            and now_utc < to_utc(delivered_at) + repeat_interval):
        return "already_delivered"
    return "send"
