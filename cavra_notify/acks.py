"""Acknowledgements: an owner says a delivered notification was seen (or dismissed, escalated, resolved).

An acknowledgement names delivered routes of one occurrence (the schedule's open one, or that of the
plan it names): a route key; an owner and a provider; or a provider alone, which covers every owner
that provider reached in the occurrence. The routes it covers are recorded in ``route_keys``.
``acknowledged`` and ``resolved`` clear those routes in the escalation plan (and stop their
escalation); ``dismissed`` and ``escalated`` are recorded but do not. Bulk acknowledgements are all
or nothing, in one transaction.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, field_serializer, field_validator

from .errors import AckRefusedError, ForbiddenError, InputError
from .escalation import DeliveredRoute, delivered_routes
from .records import ACK_SCHEMA, Acknowledgement, AckRefusal, Actor
from .store import EvidenceStore, iso_z, to_utc

if TYPE_CHECKING:
    from .request_types import AckRequest

AckState = Literal["acknowledged", "dismissed", "escalated", "resolved"]
ACK_STATES: tuple[str, ...] = ("acknowledged", "dismissed", "escalated", "resolved")
MAX_BULK = 100

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


class BulkItem(BaseModel):
    """One entry of a bulk acknowledgement file or body (``state`` is an alias of ``acknowledgement_state``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    schedule_id: str = Field(min_length=1, max_length=200)
    route_key: str | None = Field(default=None, min_length=1, max_length=500)
    provider: str | None = Field(default=None, min_length=1, max_length=100)
    owner: str | None = Field(default=None, min_length=1, max_length=200)
    acknowledged_by: str | None = Field(default=None, min_length=1, max_length=200)
    acknowledgement_state: AckState | None = None
    state: AckState | None = None
    plan_id: str | None = Field(default=None, min_length=1, max_length=200)
    external_ref: str | None = Field(default=None, min_length=1, max_length=200)
    notes: str | None = Field(default=None, max_length=2000)

    @property
    def effective_state(self) -> str:
        return ack_state(self.acknowledgement_state, self.state)


class BulkInput(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    acknowledgements: list[BulkItem] = Field(min_length=1, max_length=100)


def parse_bulk(document: Any) -> list[BulkItem]:
    """The entries of a bulk acknowledgement document (``{"acknowledgements": [...]}``, 1..100 entries)."""
    try:
        return list(BulkInput.model_validate(document).acknowledgements)
    except ValidationError as exc:
        raise InputError(_explain(exc).replace("invalid acknowledgement", "invalid bulk acknowledgement")) from None


def read_bulk(path: str) -> list[BulkItem]:
    """The entries of a bulk acknowledgement file (``{"acknowledgements": [...]}``, 1..100 entries)."""
    from .jsonfile import read_json

    return parse_bulk(read_json(path, "bulk acknowledgement file"))


def history_filter(kind: str | None, outcome: str | None, acknowledgement_state: str | None
                   ) -> tuple[str | None, str | None]:
    """The history's (kind, outcome) filters: ``acknowledgement_state`` selects acknowledgements in that state."""
    if acknowledgement_state is None:
        return kind, outcome
    if kind not in (None, "ack") or outcome not in (None, acknowledgement_state):
        raise InputError("acknowledgement_state selects acknowledgements: it cannot be combined with "
                         "another kind or outcome")
    return "ack", acknowledgement_state


def ack_state(state: str | None, alias: str | None) -> str:
    """``acknowledgement_state``, or its alias ``state``; both given must agree (default ``acknowledged``)."""
    if state and alias and state != alias:
        raise InputError(f"acknowledgement_state '{state}' and its alias state '{alias}' disagree")
    return state or alias or "acknowledged"


def _explain(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error["loc"]) or "record"
        message = str(error["msg"]).removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = "unknown field"
        parts.append(f"{where}: {message}")
    return "invalid acknowledgement: " + "; ".join(parts)


@dataclass(frozen=True)
class AckSpec:
    """What one acknowledgement names: a route key, an owner and a provider, or a provider alone
    (every delivered route of that provider in the occurrence, whatever its owner)."""

    schedule_id: str
    acknowledged_by: str
    provider: str | None = None
    owner: str | None = None
    route_key: str | None = None
    state: str = "acknowledged"
    plan_id: str | None = None
    external_ref: str | None = None
    notes: str | None = None
    actor_verified: bool = False

    @property
    def target(self) -> str:
        if self.route_key:
            return self.route_key
        return f"{self.owner or '*'}:{self.provider or '?'}"


def spec_of(request: AckRequest, actor: Actor | None) -> AckSpec:
    """The acknowledgement to record: a verified actor's own name; another name in the request is refused."""
    by = request.acknowledged_by
    if actor is not None:
        if by and by != actor.name:
            raise ForbiddenError(f"acknowledged_by '{by}' is not the verified actor '{actor.name}'; "
                                 "an acknowledgement is recorded as the caller's own")
        by = actor.name
    if not by:
        raise InputError("acknowledged_by: who acknowledges is required")
    return AckSpec(request.schedule_id, by, request.provider, request.owner, request.route_key, request.state,
                   request.plan_id, request.external_ref, request.notes,
                   actor_verified=actor is not None and actor.source != "loopback")


def _plan_of(store: EvidenceStore, spec: AckSpec) -> dict[str, Any]:
    """The named plan (it must be the schedule's), else the schedule's latest: its occurrence is acknowledged."""
    if spec.plan_id is None:
        plan = store.latest_plan(spec.schedule_id)
        if plan is None:
            raise InputError(f"schedule '{spec.schedule_id}' has no recorded notification plan to acknowledge")
        return plan
    plan = store.get_plan(spec.plan_id)
    if plan is None:
        raise InputError(f"plan '{spec.plan_id}' is not in the evidence store")
    if plan.get("schedule_id") != spec.schedule_id:
        raise InputError(f"plan '{spec.plan_id}' belongs to schedule '{plan.get('schedule_id')}', "
                         f"not '{spec.schedule_id}'")
    return plan


def _routes(store: EvidenceStore, spec: AckSpec, occurrence: str) -> list[DeliveredRoute]:
    """The delivered routes of ``occurrence`` the acknowledgement names; none is an error."""
    if not spec.route_key and not spec.provider:
        raise InputError("an acknowledgement names a route: route_key, or provider (with owner, or alone for "
                         "every owner of that provider)")
    delivered = delivered_routes(store, spec.schedule_id, occurrence)
    chosen = [d for d in delivered
              if (not spec.route_key or d.route.route_key == spec.route_key)
              and (not spec.provider or d.route.provider == spec.provider)
              and (not spec.owner or d.route.owner == spec.owner)]
    if not chosen:
        known = ", ".join(sorted(d.route.route_key for d in delivered)) or "none"
        raise InputError(f"no delivered route matches {spec.target} in occurrence '{occurrence}' of schedule "
                         f"'{spec.schedule_id}' (delivered routes: {known}); nothing to acknowledge")
    return chosen


def prepare_ack(store: EvidenceStore, spec: AckSpec, now: datetime) -> Acknowledgement:
    """Validate one acknowledgement against the evidence and build its record (nothing is saved)."""
    if spec.state not in ACK_STATES:
        raise InputError(f"invalid acknowledgement state '{spec.state}'; expected one of: {', '.join(ACK_STATES)}")
    if spec.owner and not spec.provider and not spec.route_key:
        raise InputError("an owner is acknowledged through one provider: give the provider (or the route key)")
    plan = _plan_of(store, spec)
    routes = _routes(store, spec, str(plan["occurrence"]))
    try:
        ack = AckInput(schedule_id=spec.schedule_id, plan_id=plan["plan_id"],
                       provider=spec.provider or routes[0].route.provider, acknowledged_by=spec.acknowledged_by,
                       state=spec.state,  # type: ignore[arg-type]
                       external_ref=spec.external_ref, notes=spec.notes, acknowledged_at=to_utc(now, "now"))
    except ValidationError as exc:
        raise InputError(_explain(exc)) from None
    owners = {d.route.owner for d in routes}
    return Acknowledgement(
        acknowledgement_id="ack-" + uuid.uuid4().hex, schedule_id=ack.schedule_id, plan_id=ack.plan_id,
        occurrence=str(plan["occurrence"]), provider=ack.provider, owner=owners.pop() if len(owners) == 1 and (
            spec.owner or spec.route_key) else None,
        route_keys=tuple(d.route.route_key for d in routes), acknowledged_by=ack.acknowledged_by,
        actor_verified=spec.actor_verified, state=ack.state, external_ref=ack.external_ref, notes=ack.notes,
        acknowledged_at=iso_z(ack.acknowledged_at))


def record_acks(store: EvidenceStore, specs: Sequence[AckSpec], *, now: datetime) -> list[Acknowledgement]:
    """Validate every acknowledgement, then record them all in one transaction; any refusal records none
    and raises :class:`AckRefusedError` with one reason per refused acknowledgement."""
    if not 1 <= len(specs) <= MAX_BULK:
        raise InputError(f"a bulk acknowledgement names 1 to {MAX_BULK} routes, got {len(specs)}")
    records: list[Acknowledgement] = []
    refusals: list[AckRefusal] = []
    for index, spec in enumerate(specs):
        try:
            records.append(prepare_ack(store, spec, now))
        except InputError as exc:
            refusals.append(AckRefusal(index, spec.schedule_id, spec.target, str(exc)))
    if refusals:
        raise AckRefusedError(f"{len(refusals)} of {len(specs)} acknowledgements refused; none was recorded",
                              tuple(r.to_json() for r in refusals))
    store.save_acks([r.to_json() for r in records])
    return records


def record_ack(store: EvidenceStore, *, schedule_id: str, acknowledged_by: str, provider: str | None = None,
               owner: str | None = None, route_key: str | None = None, state: str = "acknowledged",
               plan_id: str | None = None, external_ref: str | None = None, notes: str | None = None,
               now: datetime, actor_verified: bool = False) -> Acknowledgement:
    """Validate and record one acknowledgement (of the schedule's open occurrence by default)."""
    spec = AckSpec(schedule_id, acknowledged_by, provider, owner, route_key, state, plan_id, external_ref, notes,
                   actor_verified)
    return record_spec(store, spec, now=now)


def record_spec(store: EvidenceStore, spec: AckSpec, *, now: datetime) -> Acknowledgement:
    record = prepare_ack(store, spec, now)
    store.save_ack(record.to_json())
    return record
