"""What every evidence store backend offers its callers, and the timestamps they exchange.

Callers (delivery, acknowledgements, escalation, the faces) depend on this module only; a backend
is any class with these methods. Records go in and come out as the JSON documents the callers build.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, NamedTuple, Protocol, runtime_checkable

from ..errors import InputError, SettingsError
from ..timeutil import iso, parse_aware

KINDS = ("plan", "delivery", "ack", "escalation_plan", "escalation", "retry_plan", "retry_approval",
         "retry_execution", "recovery_playbook", "recovery_closure")
SUCCESS_OUTCOMES = ("delivered", "accepted")

ClaimResult = Literal["send", "settle", "in_flight", "already_delivered"]
Timestamp = datetime | str


class Filed(NamedTuple):
    """A record of a kind without its own save method (retry plans, approvals, executions, recovery
    playbooks and closures): its indexed columns, and the other schedules it is filed under."""

    kind: str
    record_id: str
    recorded_at: Timestamp
    payload: dict[str, Any]
    schedule_id: str | None = None
    schedules: tuple[str, ...] = ()
    connector: str | None = None
    outcome: str | None = None
    route_key: str | None = None
    plan_id: str | None = None


class RouteClaim(NamedTuple):
    """One route's key in the notification log, and the delivery key it would be sent with."""

    occurrence: str
    route_key: str
    connector: str
    delivery_key: str


class DeliveredRoute(NamedTuple):
    """A route's latest successful delivery in one occurrence: which plan sent it, and when."""

    route_key: str
    plan_id: str | None
    delivered_at: datetime


def to_utc(value: Timestamp, what: str = "timestamp") -> datetime:
    """A :data:`Timestamp` (aware datetime, or ISO 8601 text with an offset) as an aware UTC datetime."""
    if isinstance(value, str):
        try:
            value = parse_aware(value, what)
        except SettingsError as exc:
            raise InputError(str(exc)) from None
    if value.tzinfo is None or value.utcoffset() is None:
        raise InputError(f"{what} has no UTC offset; add Z or +HH:MM")
    return value.astimezone(UTC)


def iso_z(value: Timestamp) -> str:
    """A :data:`Timestamp` as ISO 8601 in UTC with a ``Z`` suffix (:func:`cavra_notify.timeutil.iso`)."""
    return str(iso(to_utc(value)))


@runtime_checkable
class EvidenceStore(Protocol):
    """The store every caller relies on, whatever the backend.

    ``claim_many`` records the intent to send each route before it is sent (one transaction):
    ``send`` — first claim, or a new notification after the repeat interval (or ``force``);
    ``settle`` — an earlier claim's lease expired without an outcome, send again with the same key;
    ``in_flight`` — another run holds a live lease; ``already_delivered`` — within the repeat interval.
    ``claim_plans`` saves plans and claims their routes in one transaction (a sweep's batch);
    ``record_deliveries`` stores each route's evidence and settles its claim, in one transaction.
    Leases run on the store's clock (the database's, for a server), never on the caller's ``now``.
    ``lock_schedules`` takes what it can of the schedules for this worker (the ids it got) until
    ``unlock_schedules``: sweep workers split the work; exactly-once never depends on it.
    """

    def save_plan(self, plan: dict[str, Any]) -> None: ...
    def get_plan(self, plan_id: str) -> dict[str, Any] | None: ...
    def get_record(self, record_id: str) -> dict[str, Any] | None: ...
    def latest_plan(self, schedule_id: str) -> dict[str, Any] | None: ...
    def latest_plans(self) -> list[dict[str, Any]]: ...
    def claim_many(self, claims: Sequence[RouteClaim], *, now: datetime, repeat_interval: timedelta,
                   force: bool, lease_seconds: float) -> list[ClaimResult]: ...
    def claim_plans(self, plans: Sequence[dict[str, Any]], claims: Sequence[RouteClaim], *, now: datetime,
                    repeat_interval: timedelta, force: bool, lease_seconds: float) -> list[ClaimResult]: ...
    def record_deliveries(self, evidences: Sequence[dict[str, Any]]) -> None: ...
    def lock_schedules(self, schedule_ids: Sequence[str]) -> list[str]: ...
    def unlock_schedules(self, schedule_ids: Sequence[str]) -> None: ...
    def notified_routes(self, occurrence: str) -> dict[str, datetime]: ...
    def pending_intents(self) -> list[dict[str, Any]]: ...
    def last_deliveries(self, schedule_id: str, occurrence: str) -> dict[str, datetime]: ...
    def save_ack(self, ack: dict[str, Any]) -> str: ...
    def save_acks(self, acks: Sequence[dict[str, Any]]) -> list[str]: ...
    def delivered_routes(self, schedule_id: str, occurrence: str) -> list[DeliveredRoute]: ...
    def record_escalations(self, evidences: Sequence[dict[str, Any]]) -> None: ...
    def escalations(self, schedule_id: str, occurrence: str) -> list[dict[str, Any]]: ...
    def acks(self, schedule_id: str | None = None) -> list[dict[str, Any]]: ...
    def save_escalation_plan(self, plan: dict[str, Any]) -> None: ...
    def history(self, *, schedule_id: str | None = None, provider: str | None = None, kind: str | None = None,
                outcome: str | None = None, since: Timestamp | None = None, until: Timestamp | None = None,
                limit: int = 100, connector: str | None = None, offset: int = 0) -> list[dict[str, Any]]: ...
    def count_history(self, *, schedule_id: str | None = None, provider: str | None = None,
                      kind: str | None = None, outcome: str | None = None, since: Timestamp | None = None,
                      until: Timestamp | None = None, connector: str | None = None) -> int: ...
    def counts(self) -> dict[str, Any]: ...
    def export(self, schedule_id: str, *, from_seq: int | None = None,
               to_seq: int | None = None) -> dict[str, Any]: ...
    def close(self) -> None: ...
    # issue 17 (docs/retries.md)
    def save_records(self, records: Sequence[Filed]) -> None: ...
    def use_approval(self, approval_id: str, worker_run_id: str, now: datetime) -> bool: ...
