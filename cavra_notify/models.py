"""The models of the public-safe metadata (SPEC §2), validated by pydantic v2.

Each model is a read-only dataclass. pydantic generates the validation schema from these classes, and
``_schemas.py`` keeps that schema as generated data (``python -m cavra_notify.models`` rewrites it; a
test fails when it is stale), so a read-only command validates with ``pydantic_core`` alone and never
pays for building pydantic model classes. Unknown extra keys are kept (in ``__pydantic_extra__``, apart
from the fields), never trusted -- except in a routing policy, whose known keys are its models' fields
(adding a key is adding a field here): there a misspelt key would silently drop a rule, so it is an error.

Types are strict (SPEC §2.3): a string is never a boolean or a number, a boolean never a number, a
number never a timestamp; numbers are finite and bounded, timestamps carry an offset and lie in
``timeutil.MIN_YEAR..MAX_YEAR``, lists and maps have a maximum size (``docs/operators.md``, "Input
limits"), and an owner or provider is listed once.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal, TypeVar

from .errors import InputError
from .guard import findings
from .jsonfile import json_path, read_json, value_problem
from .timeutil import MAX_MINUTES, MAX_SPAN_DAYS, year_problem

if TYPE_CHECKING:
    from pydantic_core import SchemaValidator

HISTORY_SCHEMA = "cavra.go-backend-rollback-drill-history.v1"
SCHEDULE_SCHEMA = "cavra.go-backend-rollback-drill-schedule.v1"
ROUTING_SCHEMA = "cavra.go-backend-rollback-drill-routing.v1"


class Constraint:
    """Field metadata for pydantic: core-schema keys added to the field's type (``gt``, ``tz_constraint``)."""

    def __init__(self, **keys: object) -> None:
        self.keys = keys

    def __get_pydantic_core_schema__(self, source: Any, handler: Any) -> Any:
        return {**handler(source), **self.keys}


class Checked:
    """Field metadata for pydantic: a function run before (on the raw input) and/or after the field's type."""

    def __init__(self, before: Any = None, after: Any = None) -> None:
        self.before, self.after = before, after

    def __get_pydantic_core_schema__(self, source: Any, handler: Any) -> Any:
        schema = handler(source)
        for kind, function in (("function-before", self.before), ("function-after", self.after)):
            if function is not None:
                schema = {"type": kind, "function": {"type": "no-info", "function": function}, "schema": schema}
        return schema


def timestamp_text(value: object) -> object:
    """Only a string is a timestamp in a file (pydantic would read a number as Unix time)."""
    if not isinstance(value, str | datetime):
        raise ValueError("expected an ISO 8601 timestamp string with an offset")
    return value


def timestamp_years(value: datetime) -> datetime:
    problem = year_problem(value)
    if problem:
        raise ValueError(problem)
    return value


def each_once(values: list[str]) -> list[str]:
    """A list of owners or providers names each once (a repeat would double its routes)."""
    first: dict[str, int] = {}
    for index, value in enumerate(values):
        if value in first:
            raise ValueError(f"item {index} repeats item {first[value]} (list each name once)")
        first[value] = index
    return values


MAX_DRILLS = 10_000
MAX_OWNERS = 1_000
MAX_PROVIDERS = 100
MAX_ROUTES = 10_000
MAX_WINDOWS = 1_000
MAX_REFS = 1_000

AwareDatetime = Annotated[datetime, Constraint(tz_constraint="aware"),
                          Checked(before=timestamp_text, after=timestamp_years)]
Minutes = Annotated[int, Constraint(strict=True, gt=0, le=MAX_MINUTES)]
Days = Annotated[int, Constraint(strict=True, ge=-MAX_SPAN_DAYS, le=MAX_SPAN_DAYS)]
RecoveryMinutes = Annotated[float, Constraint(strict=True, allow_inf_nan=False, ge=-MAX_MINUTES, le=MAX_MINUTES)]
StrictBool = Annotated[bool, Constraint(strict=True)]
NonEmptyStr = Annotated[str, Constraint(min_length=1)]
Owners = Annotated[list[str], Constraint(max_length=MAX_OWNERS), Checked(after=each_once)]
Providers = Annotated[list[str], Constraint(max_length=MAX_PROVIDERS), Checked(after=each_once)]
Names = Annotated[list[str], Constraint(max_length=MAX_OWNERS)]


T = TypeVar("T")


def _model(cls: type[T]) -> type[T]:
    """A dataclass, so that pydantic can describe it. Instances only come from validation (which sets
    ``__dict__`` directly), so no ``__init__``, ``__repr__`` or ``__eq__`` is generated: that is most of
    the cost of a dataclass at import time (and each model has a docstring, or the dataclass would
    derive one from its signature, which is slow)."""
    return dataclass(init=False, repr=False, eq=False)(cls)


class _Public:
    """Base of the models: read-only; pydantic_core sets ``__dict__`` to the fields and keeps extra keys apart."""

    __slots__ = ("__dict__", "__pydantic_extra__", "__pydantic_fields_set__", "__pydantic_private__")
    __pydantic_config__: ClassVar[dict[str, str]] = {"extra": "allow"}
    __pydantic_extra__: dict[str, Any]

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"{type(self).__name__} is read-only")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__} is read-only")

    def __eq__(self, other: object) -> bool:
        return (type(other) is type(self) and self.__dict__ == other.__dict__
                and self.__pydantic_extra__ == other.__pydantic_extra__)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self.__dict__.items())})"


@_model
class _Window(_Public):
    """A time window: ``start_at <= now < end_at``."""

    start_at: AwareDatetime
    end_at: AwareDatetime
    reason: str | None = None

    def __post_init__(self) -> None:
        if self.end_at <= self.start_at:
            raise ValueError("end_at must be after start_at")


@_model
class Drill(_Public):
    """One rollback drill (SPEC §2.1)."""

    drill_id: str
    executed_at: AwareDatetime
    actor: str | None = None
    source_mode: str | None = None
    target_mode: str | None = None
    status: str | None = None
    fallback_verified: StrictBool | None = None
    recovery_minutes: RecoveryMinutes | None = None
    max_recovery_minutes: RecoveryMinutes | None = None
    runbook_ref: str | None = None
    evidence_refs: Annotated[list[str], Constraint(max_length=MAX_REFS)] = field(default_factory=list)


@_model
class DrillHistory(_Public):
    """``cavra.go-backend-rollback-drill-history.v1``."""

    schema_version: Literal["cavra.go-backend-rollback-drill-history.v1"]
    environment: str | None = None
    drills: Annotated[list[Drill], Constraint(max_length=MAX_DRILLS)] = field(default_factory=list)

    def latest(self) -> Drill | None:
        return max(self.drills, key=lambda d: d.executed_at, default=None)


@_model
class OwnerRoute(_Public):
    """How one owner is notified: providers, acknowledgement minutes, escalation owner."""

    providers: Providers | None = None
    acknowledgement_minutes: Minutes | None = None
    escalation_owner: str | None = None


@_model
class MaintenanceWindow(_Window):
    """No notification while active, for the owners, providers and schedules it names (empty: all)."""

    window_id: str
    owners: Names | None = None
    providers: Names | None = None
    schedule_ids: Names | None = None


@_model
class OwnerCalendar(_Public):
    """When one owner is unavailable."""

    unavailable_windows: Annotated[list[_Window], Constraint(max_length=MAX_WINDOWS)] = field(default_factory=list)


@_model
class FallbackRoute(_Public):
    """Who is told when a schedule cannot be routed from its own content (missing, unreadable, invalid,
    rejected by the guard, or no owner reachable): one owner and the providers to tell them through."""

    __pydantic_config__: ClassVar[dict[str, str]] = {"extra": "forbid"}

    owner: NonEmptyStr
    providers: list[NonEmptyStr]

    def __post_init__(self) -> None:
        if not self.providers:
            raise ValueError("providers must name at least one provider")


@_model
class _Routing(_Public):
    """The routing keys a schedule and a routing policy share (SPEC §2.3)."""

    owner_routes: Annotated[dict[str, OwnerRoute], Constraint(max_length=MAX_OWNERS)] | None = None
    maintenance_windows: Annotated[list[MaintenanceWindow], Constraint(max_length=MAX_WINDOWS)] | None = None
    owner_calendars: Annotated[dict[str, OwnerCalendar], Constraint(max_length=MAX_OWNERS)] | None = None


@_model
class DrillSchedule(_Routing):
    """``cavra.go-backend-rollback-drill-schedule.v1`` (SPEC §2.2)."""

    schema_version: Literal["cavra.go-backend-rollback-drill-schedule.v1"]
    schedule_id: NonEmptyStr
    environment: str | None = None
    status: str | None = None
    interval_days: Days | None = None
    next_due_at: AwareDatetime | None = None
    owners: Owners = field(default_factory=list)
    notification_providers: Providers = field(default_factory=list)
    runbook_ref: str | None = None

    def __post_init__(self) -> None:
        routes = len(self.owners) * len(self.notification_providers)
        if routes > MAX_ROUTES:
            raise ValueError(f"{len(self.owners)} owners x {len(self.notification_providers)} providers make "
                             f"{routes} routes, more than the {MAX_ROUTES} route limit")


STRICT: dict[str, str] = {"extra": "forbid"}


@_model
class PolicyOwnerRoute(OwnerRoute):
    """An owner route of a routing policy: an unknown key (``provider`` for ``providers``) is an error."""

    __pydantic_config__: ClassVar[dict[str, str]] = STRICT


@_model
class PolicyMaintenanceWindow(MaintenanceWindow):
    """A maintenance window of a routing policy: an unknown key (``owner`` for ``owners``, which would
    make the window match every owner) is an error."""

    __pydantic_config__: ClassVar[dict[str, str]] = STRICT


@_model
class _PolicyWindow(_Window):
    """An unavailable window of a routing policy's owner calendar: unknown keys are errors."""

    __pydantic_config__: ClassVar[dict[str, str]] = STRICT


@_model
class PolicyOwnerCalendar(OwnerCalendar):
    """An owner calendar of a routing policy: unknown keys are errors."""

    __pydantic_config__: ClassVar[dict[str, str]] = STRICT

    unavailable_windows: Annotated[list[_PolicyWindow], Constraint(max_length=MAX_WINDOWS)] = field(  # type: ignore[assignment]
        default_factory=list)


@_model
class RetryPolicy(_Public):
    """``retry_policy`` of a routing policy: when a failed notification may be retried with approval,
    and when a connector gets a recovery playbook entry (docs/retries.md). Unknown keys are errors."""

    __pydantic_config__: ClassVar[dict[str, str]] = STRICT

    delay_minutes: Minutes = 15
    backoff_multiplier: Annotated[float, Constraint(strict=True, allow_inf_nan=False, ge=1, le=10)] = 2.0
    max_retry_executions: Annotated[int, Constraint(strict=True, ge=0, le=25)] = 3
    approval_expiry_minutes: Minutes = 1440
    lookback_hours: Annotated[int, Constraint(strict=True, gt=0, le=24 * 90)] = 24
    playbook_min_failures: Annotated[int, Constraint(strict=True, gt=0, le=1000)] = 2


@_model
class RoutingPolicy(_Public):
    """``cavra.go-backend-rollback-drill-routing.v1``: overrides the schedule's routing keys (SPEC §2.3).

    Its fields are its known keys: any other key, at the top or inside a route, window or calendar, is
    an error naming it (a routing policy is the rules; a misspelt key would silently drop one). To add a
    key, add a field here (and regenerate ``_schemas.py``).
    """

    __pydantic_config__: ClassVar[dict[str, str]] = STRICT

    owner_routes: Annotated[dict[str, PolicyOwnerRoute], Constraint(max_length=MAX_OWNERS)] | None = None
    maintenance_windows: Annotated[list[PolicyMaintenanceWindow], Constraint(max_length=MAX_WINDOWS)] | None = None
    owner_calendars: Annotated[dict[str, PolicyOwnerCalendar], Constraint(max_length=MAX_OWNERS)] | None = None
    schema_version: Literal["cavra.go-backend-rollback-drill-routing.v1"] | None = None
    acknowledgement_minutes: Minutes | None = None
    repeat_interval_minutes: Minutes | None = None
    fallback_route: FallbackRoute | None = None
    retry_policy: RetryPolicy | None = None


DOCUMENTS: tuple[type[_Public], ...] = (DrillHistory, DrillSchedule, RoutingPolicy)
M = TypeVar("M", bound=_Public)


class SchemaError(InputError):
    """The document is JSON but not the expected schema."""


class GuardError(InputError):
    """The document failed the public-safe guard; ``findings`` name the JSON paths."""

    def __init__(self, message: str, found: list[str]) -> None:
        super().__init__(message)
        self.findings = found


def post_init(model: _Public) -> _Public:
    """Run a model's ``__post_init__`` check after validation (called by the generated schema)."""
    check = getattr(type(model), "__post_init__", None)
    if check is not None:
        check(model)
    return model


@cache
def _validator(name: str) -> SchemaValidator:
    from pydantic_core import SchemaValidator

    return SchemaValidator({"type": "definitions", "schema": {"type": "definition-ref", "schema_ref": name},
                            "definitions": _definitions()})


def _definitions() -> list[dict[str, Any]]:
    """The generated schema, or, under another pydantic-core than it was generated with, a fresh one
    (slower: it builds pydantic's schema at run time, but always what the installed pydantic means)."""
    from pydantic_core import __version__

    from . import _schemas

    return _schemas.MODELS if __version__ == _schemas.PYDANTIC_CORE_VERSION else model_schemas()


def validate(model: type[M], document: Any, where: str) -> M:
    """Validate ``document``; a failure is one :class:`SchemaError` line naming JSON paths."""
    from pydantic_core import ValidationError

    try:
        result: M = _validator(model.__name__).validate_python(document)
    except ValidationError as exc:
        problems = [f"{json_path(e['loc'])}: {_message(model, e)}" for e in exc.errors(include_input=False)[:5]]
        more = exc.error_count() - len(problems)
        suffix = f" (and {more} more)" if more > 0 else ""
        raise SchemaError(f"{where}: " + "; ".join(problems) + suffix) from None
    return result


def _message(model: type[_Public], error: Any) -> str:
    if error["type"] != "extra_forbidden":
        return str(error["msg"])
    known = ", ".join(f.name for f in fields(model)) if len(error["loc"]) == 1 else None  # type: ignore[arg-type]
    return "unknown key" + (f" (known keys: {known})" if known else "")


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
    """Guard and validate an in-memory document (an API body's ``routing_policy``); what a file's parser
    refuses (non-finite numbers, over-long integers, lone surrogates) is refused here too."""
    refused = value_problem(document)
    if refused is not None:
        raise SchemaError(f"{label}: {json_path(refused[0])}: {refused[1]}")
    guard(document, label, deny_names or [])
    return validate(model, document, label)


def model_schemas() -> list[dict[str, Any]]:
    """Each model's core schema as pydantic generates it (:func:`cavra_notify.schemagen.model_schemas`)."""
    from .schemagen import model_schemas as generate

    return generate(DOCUMENTS, post_init)


def schema_module() -> str:
    """The source of ``_schemas.py`` (:func:`cavra_notify.schemagen.schema_module`)."""
    from .schemagen import schema_module as generate

    return generate(model_schemas(), __name__)


if __name__ == "__main__":
    from pathlib import Path

    from cavra_notify.models import schema_module as current

    Path(__file__).with_name("_schemas.py").write_text(current())
