"""Pydantic models of the public-safe metadata (SPEC §2). Unknown extra keys are kept, never trusted."""

from __future__ import annotations

from typing import Any, Literal, TypeVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, model_validator

from .errors import InputError
from .guard import findings
from .jsonfile import json_path, read_json

HISTORY_SCHEMA = "cavra.go-backend-rollback-drill-history.v1"
SCHEDULE_SCHEMA = "cavra.go-backend-rollback-drill-schedule.v1"
ROUTING_SCHEMA = "cavra.go-backend-rollback-drill-routing.v1"


class _Public(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True, defer_build=True)


class _Window(_Public):
    start_at: AwareDatetime
    end_at: AwareDatetime
    reason: str | None = None

    @model_validator(mode="after")
    def _ordered(self) -> _Window:
        if self.end_at <= self.start_at:
            raise ValueError("end_at must be after start_at")
        return self


class Drill(_Public):
    drill_id: str
    executed_at: AwareDatetime
    actor: str | None = None
    source_mode: str | None = None
    target_mode: str | None = None
    status: str | None = None
    fallback_verified: bool | None = None
    recovery_minutes: float | None = None
    max_recovery_minutes: float | None = None
    runbook_ref: str | None = None
    evidence_refs: list[str] = Field(default_factory=list)


class DrillHistory(_Public):
    schema_version: Literal["cavra.go-backend-rollback-drill-history.v1"]
    environment: str | None = None
    drills: list[Drill] = Field(default_factory=list)

    def latest(self) -> Drill | None:
        return max(self.drills, key=lambda d: d.executed_at, default=None)


class OwnerRoute(_Public):
    providers: list[str] | None = None
    acknowledgement_minutes: int | None = Field(default=None, gt=0)
    escalation_owner: str | None = None


class MaintenanceWindow(_Window):
    window_id: str
    owners: list[str] | None = None
    providers: list[str] | None = None
    schedule_ids: list[str] | None = None


class OwnerCalendar(_Public):
    unavailable_windows: list[_Window] = Field(default_factory=list)


class _Routing(_Public):
    owner_routes: dict[str, OwnerRoute] | None = None
    maintenance_windows: list[MaintenanceWindow] | None = None
    owner_calendars: dict[str, OwnerCalendar] | None = None


class DrillSchedule(_Routing):
    schema_version: Literal["cavra.go-backend-rollback-drill-schedule.v1"]
    schedule_id: str = Field(min_length=1)
    environment: str | None = None
    status: str | None = None
    interval_days: int | None = None
    next_due_at: AwareDatetime | None = None
    owners: list[str] = Field(default_factory=list)
    notification_providers: list[str] = Field(default_factory=list)
    runbook_ref: str | None = None


class RoutingPolicy(_Routing):
    schema_version: Literal["cavra.go-backend-rollback-drill-routing.v1"] | None = None
    acknowledgement_minutes: int | None = Field(default=None, gt=0)
    repeat_interval_minutes: int | None = Field(default=None, gt=0)


M = TypeVar("M", bound=BaseModel)


class SchemaError(InputError):
    """The document is JSON but not the expected schema."""


class GuardError(InputError):
    """The document failed the public-safe guard; ``findings`` name the JSON paths."""

    def __init__(self, message: str, found: list[str]) -> None:
        super().__init__(message)
        self.findings = found


def validate(model: type[M], document: Any, where: str) -> M:
    """Validate ``document``; a failure is one :class:`SchemaError` line naming JSON paths."""
    try:
        return model.model_validate(document)
    except ValidationError as exc:
        problems = [f"{json_path(e['loc'])}: {e['msg']}" for e in exc.errors(include_input=False)[:5]]
        more = exc.error_count() - len(problems)
        suffix = f" (and {more} more)" if more > 0 else ""
        raise SchemaError(f"{where}: " + "; ".join(problems) + suffix) from None


def guard(document: Any, where: str, deny_names: list[str]) -> None:
    found = findings(document, deny_names)
    if found:
        raise GuardError(f"{where}: not public-safe: " + "; ".join(found[:5]), found)


def load(path: str, label: str, model: type[M], deny_names: list[str] | None = None) -> M:
    """Read, guard and validate one public metadata file (``InputError`` subclasses on failure)."""
    document = read_json(path, label)
    where = f"{label} {path}"
    guard(document, where, deny_names or [])
    return validate(model, document, where)


def parse(document: Any, label: str, model: type[M], deny_names: list[str] | None = None) -> M:
    """Guard and validate an in-memory document (an API body's ``routing_policy``)."""
    guard(document, label, deny_names or [])
    return validate(model, document, label)
