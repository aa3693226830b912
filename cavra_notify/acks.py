"""Acknowledgements: an owner says a delivered notification was seen (or dismissed, escalated, resolved).

``acknowledged`` and ``resolved`` clear a route in the escalation plan; ``dismissed`` and
``escalated`` are recorded but do not.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, field_serializer, field_validator

from .errors import InputError
from .records import ACK_SCHEMA, Acknowledgement
from .store import EvidenceStore, iso_z, to_utc

AckState = Literal["acknowledged", "dismissed", "escalated", "resolved"]
ACK_STATES: tuple[str, ...] = ("acknowledged", "dismissed", "escalated", "resolved")

_IDENTIFIER = r"^[^\s\x00-\x1f\x7f]+$"
_UNSAFE = (
    (re.compile(r"[a-z][a-z0-9+.\-]*://", re.I), "must not contain a URL"),
    (re.compile(r"\b(?:\d{1,3}\.){3}\d{1,3}\b"), "must not contain an IP address"),
    (re.compile(r"xox[a-z]-|\bbearer\s", re.I), "must not contain a token"),
    (re.compile(r"\b(?:sig|token|password|passwd|secret|api_?key)=", re.I), "must not contain a credential"),
    (re.compile(r"(?=[A-Za-z0-9+/=_\-]*\d)(?=[A-Za-z0-9+/=_\-]*[A-Za-z])[A-Za-z0-9+/=_\-]{40,}"),
     "must not contain a long token-like string"),
)
_ALLOWED_REF = re.compile(r"go-rollback-drill://", re.I)


class AckInput(BaseModel):
    """Validates an acknowledgement before it becomes an :class:`Acknowledgement` record."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    schema_version: Literal["cavra.go-backend-pilot.rollback-drill-notification-ack.v1"] = ACK_SCHEMA
    schedule_id: str = Field(min_length=1, max_length=200, pattern=_IDENTIFIER)
    plan_id: str = Field(min_length=1, max_length=200, pattern=_IDENTIFIER)
    provider: str = Field(min_length=1, max_length=100, pattern=_IDENTIFIER)
    acknowledged_by: str = Field(min_length=1, max_length=200)
    state: AckState = "acknowledged"
    external_ref: str | None = Field(default=None, min_length=1, max_length=200)
    notes: str | None = Field(default=None, max_length=2000)
    acknowledged_at: AwareDatetime

    @field_validator("acknowledged_by", "external_ref", "notes")
    @classmethod
    def _public_safe(cls, value: str | None) -> str | None:
        if value is None:
            return None
        text = _ALLOWED_REF.sub("", value)
        for pattern, problem in _UNSAFE:
            if pattern.search(text):
                raise ValueError(problem)
        return value

    @field_serializer("acknowledged_at")
    def _iso(self, value: datetime) -> str:
        return iso_z(value)


def _explain(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error["loc"]) or "record"
        message = str(error["msg"]).removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = "unknown field"
        parts.append(f"{where}: {message}")
    return "invalid acknowledgement: " + "; ".join(parts)


def _delivered_providers(store: EvidenceStore, plan: dict[str, Any]) -> tuple[set[str], set[str]]:
    """(providers routed in the plan, providers with a successful delivery in its occurrence)."""
    routed: dict[str, str] = {}
    for decision in plan.get("route_decisions", []):
        route = decision.get("route", {}) if isinstance(decision, dict) else {}
        if route.get("route_key") and route.get("provider"):
            routed[route["route_key"]] = route["provider"]
    occurrence = plan.get("occurrence")
    delivered = store.last_deliveries(plan["schedule_id"], occurrence) if occurrence else {}
    return set(routed.values()), {routed[key] for key in delivered if key in routed}


def record_ack(
    store: EvidenceStore,
    *,
    schedule_id: str,
    provider: str,
    acknowledged_by: str,
    state: str = "acknowledged",
    plan_id: str | None = None,
    external_ref: str | None = None,
    notes: str | None = None,
    now: datetime,
) -> Acknowledgement:
    """Validate and record an acknowledgement against a plan (the schedule's latest by default)."""
    if state not in ACK_STATES:
        raise InputError(f"invalid acknowledgement state '{state}'; expected one of: {', '.join(ACK_STATES)}")
    if plan_id is None:
        plan = store.latest_plan(schedule_id)
        if plan is None:
            raise InputError(f"schedule '{schedule_id}' has no recorded notification plan to acknowledge")
    else:
        plan = store.get_plan(plan_id)
        if plan is None:
            raise InputError(f"plan '{plan_id}' is not in the evidence store")
        if plan.get("schedule_id") != schedule_id:
            raise InputError(f"plan '{plan_id}' belongs to schedule '{plan.get('schedule_id')}', not '{schedule_id}'")
    routed, delivered = _delivered_providers(store, plan)
    if provider not in routed:
        known = ", ".join(sorted(routed)) or "none"
        raise InputError(f"provider '{provider}' has no route in plan '{plan['plan_id']}' (providers: {known})")
    if provider not in delivered:
        raise InputError(
            f"provider '{provider}' has no delivered route in plan '{plan['plan_id']}'; nothing to acknowledge"
        )
    try:
        ack = AckInput(
            schedule_id=schedule_id,
            plan_id=plan["plan_id"],
            provider=provider,
            acknowledged_by=acknowledged_by,
            state=state,  # type: ignore[arg-type]
            external_ref=external_ref,
            notes=notes,
            acknowledged_at=to_utc(now, "now"),
        )
    except ValidationError as exc:
        raise InputError(_explain(exc)) from None
    record = Acknowledgement(**{k: v for k, v in ack.model_dump(mode="json").items() if k != "schema_version"})
    store.save_ack(record.to_json())
    return record

