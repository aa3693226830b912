"""The typed facade: every operation the CLI, the API and the console offer, in one class.

A face parses its input into the request dataclasses below, calls one :class:`Cavra` method and
renders the record it gets back; it never reaches past this module into the core. Defaults and
validation of every option live here once, so the faces cannot drift apart (docs/architecture.md).

Importing this module is cheap: the delivery side, the store, pluggy and the provider contract are
imported only by the methods that use them, so the read-only commands stay fast.
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from . import settings as _settings
from .errors import CavraError, ConfigError, ForbiddenError, InputError, SettingsError, StoreError
from .settings import Settings
from .timeutil import parse_aware, utcnow

if TYPE_CHECKING:
    from .acks import AckSpec
    from .actors import Identities
    from .checks import ConnectorsCheck, PluginCheck
    from .delivery import Result
    from .records import Acknowledgement, Actor, EscalationPlan, EscalationRun, HistoryPage, Plan
    from .schedule import ScheduleReport
    from .service import Context
    from .store import EvidenceStore

__all__ = [
    "AckRequest", "Cavra", "CavraError", "ConfigError", "DeliverRequest", "DeliveryOptions", "HistoryQuery",
    "InputError", "PlanRequest", "Settings", "SettingsError", "StoreError", "parse_time",
]
MODES = _settings.MODES
ENV = {"mode": _settings.ENV_MODE, "history": _settings.ENV_HISTORY, "schedule": _settings.ENV_SCHEDULE,
       "due_soon": _settings.ENV_DUE_SOON, "max_age": _settings.ENV_MAX_AGE,
       "connectors": _settings.ENV_CONNECTORS, "evidence_db": "CAVRA_EVIDENCE_DB"}
def gate_evidence() -> tuple[Any, ...]:
    """The Go pilot gate's other evidence inputs (key, flag, environment variable, kind)."""
    from .gate import EVIDENCE

    return EVIDENCE


MAX_RETRIES = 10
MAX_TIMEOUT_SECONDS = 300.0
MAX_DEADLINE_SECONDS = 3600.0


def parse_time(value: str | None, what: str = "--now") -> datetime | None:
    """An ISO 8601 time with an offset (``None`` stays ``None``); anything else is a clear error."""
    return None if value is None else parse_aware(value, what)


@dataclass(frozen=True)
class PlanRequest:
    """What to plan: ``providers`` is ``all``, one name or a comma list; the routing policy comes from
    a file (``routing_policy_path``, CLI) or an in-memory document (``routing_policy``, API body)."""

    providers: str | None = "all"
    force: bool = False
    routing_policy_path: str | None = None
    routing_policy: Any = None
    now: datetime | None = None


@dataclass(frozen=True)
class DeliveryOptions:
    """Retries after the first attempt, the per-attempt timeout and the overall deadline (seconds)."""

    retries: int = 2
    timeout_seconds: float = 10.0
    deadline_seconds: float = 120.0

    def __post_init__(self) -> None:
        if isinstance(self.retries, bool) or not 0 <= self.retries <= MAX_RETRIES:
            raise SettingsError(f"retries: expected a whole number from 0 to {MAX_RETRIES}, got {self.retries}")
        for name, top in (("timeout_seconds", MAX_TIMEOUT_SECONDS), ("deadline_seconds", MAX_DEADLINE_SECONDS)):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and math.isfinite(value) and 0 < value <= top):
                raise SettingsError(f"{name.replace('_', '-')}: expected a number of seconds above 0 and at most "
                                    f"{top:g}, got {value}")


@dataclass(frozen=True)
class DeliverRequest(PlanRequest):
    options: DeliveryOptions = field(default_factory=DeliveryOptions)


@dataclass(frozen=True)
class AckRequest:
    """One acknowledgement: a route key, an owner and a provider, or a provider alone (every owner of that
    provider in the occurrence). ``acknowledged_by`` may be empty when a verified actor acknowledges."""

    schedule_id: str
    provider: str | None = None
    acknowledged_by: str | None = None
    state: str = "acknowledged"
    plan_id: str | None = None
    external_ref: str | None = None
    notes: str | None = None
    now: datetime | None = None
    owner: str | None = None
    route_key: str | None = None


@dataclass(frozen=True)
class HistoryQuery:
    """Filters of the evidence history; ``provider`` matches a plugin or a connector name."""

    schedule_id: str | None = None
    provider: str | None = None
    kind: str | None = None
    outcome: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int = 100
    connector: str | None = None
    acknowledgement_state: str | None = None
    offset: int = 0


class Cavra:
    """One evaluation setting (resolved :class:`Settings`), one evidence store (opened on first use).

    ``generated_by`` names the face in the records it writes (``cavra``, ``cavra api``, ``cavra sweep``).
    Safe to share between threads (the API does): the store is opened once under a lock.
    """

    def __init__(self, settings: Settings, *, evidence_db: str | None = None, generated_by: str = "cavra",
                 env: Mapping[str, str] | None = None) -> None:
        self.settings = settings
        self.env = dict(os.environ if env is None else env)
        self.evidence_db = evidence_db or self.env.get(ENV["evidence_db"]) or None
        self.generated_by = generated_by
        self._store: EvidenceStore | None = None
        self._lock = threading.Lock()

    @classmethod
    def from_flags(cls, *, env: Mapping[str, str] | None = None, evidence_db: str | None = None,
                   generated_by: str = "cavra", **flags: Any) -> Cavra:
        """Settings from flags, else the environment, else defaults (SPEC §3); see ``settings.resolve``."""
        environment = dict(os.environ if env is None else env)
        return cls(_settings.resolve(env=environment, **flags), evidence_db=evidence_db, generated_by=generated_by,
                   env=environment)

    # --- lifecycle -------------------------------------------------------------------------------
    def store(self) -> EvidenceStore:
        with self._lock:
            if self._store is None:
                from .store import open_store

                self._store = open_store(self.evidence_db)
            return self._store

    def close(self) -> None:
        with self._lock:
            if self._store is not None:
                self._store.close()
                self._store = None

    def __enter__(self) -> Cavra:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def api_token(self) -> str | None:
        """The API bearer token from the private connector config (``None`` without config or token)."""
        if not self.settings.connector_config_path:
            return None
        from .connectors import api_token, read_config

        return api_token(read_config(self.settings.connector_config_path))

    def identities(self) -> Identities:
        """The API's verified actors (tokens and OIDC) from the private config; empty without one."""
        from .actors import load_identities
        from .connectors import read_config

        path = self.settings.connector_config_path
        return load_identities(read_config(path) if path else None)

    def context(self, now: datetime | None = None) -> Context:
        from .service import context

        return context(self.settings, now or utcnow())

    # --- evaluate (read-only) --------------------------------------------------------------------
    def history_report(self, now: datetime | None = None) -> dict[str, Any]:
        from .history import history_report

        ctx = self.context(now)
        return history_report(ctx.settings, ctx.now, ctx.deny_names)

    def schedule_report(self, now: datetime | None = None) -> ScheduleReport:
        from .service import schedule_report

        return schedule_report(self.context(now))

    def plan(self, request: PlanRequest) -> Plan:
        """The notification plan (sends nothing)."""
        from . import service

        ctx = self.context(request.now)
        policy = service.routing_policy(ctx, path=request.routing_policy_path, document=request.routing_policy)
        return service.notification_plan(ctx, service.schedule_report(ctx), policy, providers=request.providers,
                                         force=request.force, generated_by=self.generated_by)

    def readiness(self, now: datetime | None = None) -> dict[str, Any]:
        from .gate import production_readiness
        from .history import history_report
        from .service import schedule_report

        ctx = self.context(now)
        return production_readiness(schedule_report(ctx), history_report(ctx.settings, ctx.now, ctx.deny_names))

    def gate(self, action: str, target: str, evidence: Mapping[str, str | None] | None = None,
             now: datetime | None = None) -> dict[str, Any]:
        """The Go pilot gate for one action; ``evidence`` paths by key (flags), else the environment."""
        from . import gate
        from .service import schedule_report

        ctx = self.context(now)
        paths = gate.evidence_paths(evidence or {}, self.env)
        return gate.evaluate(action, target, ctx.settings.mode, schedule_report(ctx), paths)

    # --- deliver and record ----------------------------------------------------------------------
    def deliver(self, request: DeliverRequest) -> Result:
        """Plan with the notification log's memory, then deliver every ``deliver`` route (SPEC §6)."""
        from . import service
        from .delivery import Options

        ctx = self.context(request.now)
        policy = service.routing_policy(ctx, path=request.routing_policy_path, document=request.routing_policy)
        report = service.schedule_report(ctx)
        o = request.options
        options = Options(retries=o.retries, timeout=o.timeout_seconds, deadline=o.deadline_seconds)
        return service.deliver(ctx, report, policy, store=self.store(), providers=request.providers,
                               force=request.force, options=options, generated_by=self.generated_by)

    def acknowledge(self, request: AckRequest, actor: Actor | None = None) -> Acknowledgement:
        """Record one acknowledgement; with a verified ``actor`` it is recorded as theirs."""
        from .acks import record_spec

        return record_spec(self.store(), _ack_spec(request, actor), now=request.now or utcnow())

    def acknowledge_many(self, requests: list[AckRequest], actor: Actor | None = None) -> list[Acknowledgement]:
        """Record 1..100 acknowledgements in one transaction, all or none (:class:`AckRefusedError`)."""
        from .acks import record_acks

        specs = [_ack_spec(r, actor) for r in requests]
        now = next((r.now for r in requests if r.now is not None), None)
        return record_acks(self.store(), specs, now=now or utcnow())

    @staticmethod
    def ack_requests(path: str, now: datetime | None = None) -> list[AckRequest]:
        """The acknowledgements of a bulk file: ``{"acknowledgements": [...]}`` (1..100 entries)."""
        from .acks import parse_bulk
        from .jsonfile import read_json

        items = parse_bulk(read_json(path, "bulk acknowledgement file"))
        return [AckRequest(schedule_id=i.schedule_id, provider=i.provider, owner=i.owner, route_key=i.route_key,
                           acknowledged_by=i.acknowledged_by, state=ack_state(i.acknowledgement_state, i.state),
                           plan_id=i.plan_id, external_ref=i.external_ref, notes=i.notes, now=now) for i in items]

    def escalate(self, now: datetime | None = None, *, routing_policy_path: str | None = None,
                 options: DeliveryOptions | None = None) -> EscalationRun:
        """Deliver every escalation due (breached routes of the open occurrences; see
        :mod:`cavra_notify.escalate`), through the configured schedule's owner routes when it is one of them."""
        from . import service
        from .delivery import Options
        from .escalate import deliver_escalations
        from .routing import effective_policy

        ctx = self.context(now)
        report = service.schedule_report(ctx)
        policies = {}
        if report.schedule is not None:
            policy = service.routing_policy(ctx, path=routing_policy_path)
            policies[report.schedule.schedule_id] = effective_policy(report.schedule, policy)
        o = options or DeliveryOptions()
        return deliver_escalations(ctx, self.store(), policies=policies, generated_by=self.generated_by,
                                   options=Options(retries=o.retries, timeout=o.timeout_seconds,
                                                   deadline=o.deadline_seconds))

    def escalation_plan(self, now: datetime | None = None) -> EscalationPlan:
        """Outstanding and breached routes as of ``now``, recorded as evidence."""
        from .escalation import build_escalation_plan

        return build_escalation_plan(self.store(), now=now or utcnow(), generated_by=self.generated_by)

    # --- operator checks ---------------------------------------------------------------------------
    @staticmethod
    def plugins() -> list[dict[str, Any]]:
        from .checks import plugins

        return plugins()

    @staticmethod
    def check_plugin(name: str) -> PluginCheck:
        from .checks import check_plugin

        return check_plugin(name)

    def check_connectors(self) -> ConnectorsCheck:
        """Validate every connector of the private config (never prints or returns a secret)."""
        from .checks import check_connectors

        if not self.settings.connector_config_path:
            raise SettingsError("--connector-config: no connector config given (or set CAVRA_CONNECTOR_CONFIG)")
        return check_connectors(self.settings.connector_config_path)

    # --- evidence (read) -------------------------------------------------------------------------
    def history(self, query: HistoryQuery) -> list[dict[str, Any]]:
        return list(self.history_page(query).items)

    def history_page(self, query: HistoryQuery) -> HistoryPage:
        """One page of records, newest first, and how many match (``acknowledgement_state`` selects
        acknowledgements in that state)."""
        from .records import HistoryPage

        kind, outcome = query.kind, query.outcome
        if query.acknowledgement_state is not None:
            if kind not in (None, "ack") or outcome not in (None, query.acknowledgement_state):
                raise InputError("acknowledgement_state selects acknowledgements: it cannot be combined with "
                                 "another kind or outcome")
            kind, outcome = "ack", query.acknowledgement_state
        filters: dict[str, Any] = {"schedule_id": query.schedule_id, "provider": query.provider, "kind": kind,
                                   "outcome": outcome, "since": query.since, "until": query.until,
                                   "connector": query.connector}
        store = self.store()
        items = store.history(**filters, limit=query.limit, offset=query.offset)
        return HistoryPage(tuple(items), store.count_history(**filters), query.limit, query.offset)

    def record(self, record_id: str) -> dict[str, Any]:
        record = self.store().get_record(record_id)
        if record is None:
            raise InputError(f"no evidence record with id {record_id!r}")
        return record

    def dashboard(self, now: datetime | None = None) -> dict[str, Any]:
        from .dashboard import build_dashboard

        return build_dashboard(self.store(), now or utcnow())

    def overview(self, now: datetime | None = None) -> dict[str, Any]:
        """Every known schedule for the evidence console (see :mod:`cavra_notify.overview`)."""
        from .overview import build_overview

        return build_overview(self.context(now), self.store())

    def export(self, schedule_id: str) -> dict[str, Any]:
        return self.store().export(schedule_id)

    @staticmethod
    def verify(bundle_path: str) -> tuple[dict[str, Any], list[str]]:
        """Read an exported bundle and check it: (the bundle, its problems; none when intact)."""
        from .jsonfile import read_json
        from .store import verify_bundle

        bundle = read_json(bundle_path, "evidence bundle", max_bytes=512 * 1024 * 1024)
        if not isinstance(bundle, dict):
            raise InputError(f"evidence bundle {bundle_path}: not a bundle object")
        return bundle, verify_bundle(bundle)


def ack_state(state: str | None, alias: str | None) -> str:
    """``acknowledgement_state``, or its alias ``state``; both given must agree (default ``acknowledged``)."""
    if state and alias and state != alias:
        raise InputError(f"acknowledgement_state '{state}' and its alias state '{alias}' disagree")
    return state or alias or "acknowledged"


def _ack_spec(request: AckRequest, actor: Actor | None) -> AckSpec:
    """The acknowledgement to record: a verified actor's own name; another name in the request is refused."""
    from .acks import AckSpec

    by = request.acknowledged_by
    if actor is not None:
        if by and by != actor.name:
            raise ForbiddenError(f"acknowledged_by '{by}' is not the verified actor '{actor.name}'; "
                                 "an acknowledgement is recorded as the caller's own")
        by = actor.name
    if not by:
        raise InputError("acknowledged_by: who acknowledges is required")
    return AckSpec(request.schedule_id, by, request.provider, request.owner, request.route_key, request.state,
                   request.plan_id, request.external_ref, request.notes, actor_verified=actor is not None
                   and actor.source != "loopback")
