"""The typed facade: every operation the CLI, the API and the console offer, in one class.

A face parses its input into the request dataclasses (:mod:`.request_types`, re-exported here), calls
one :class:`Cavra` method and renders the record it gets back; it never reaches past this module into
the core. Defaults and validation of every option live here once, so the faces cannot drift apart
(docs/architecture.md).

Importing this module is cheap: the delivery side, the store, pluggy and the provider contract are
imported only by the methods that use them, so the read-only commands stay fast.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from . import settings as _settings
from .errors import CavraError, ConfigError, InputError, SettingsError, StoreError
from .retryfacade import RetryMethods
from .settings import Settings
from .timeutil import parse_aware, utcnow

if TYPE_CHECKING:
    from .actors import Identities
    from .checks import ConnectorsCheck, PluginCheck
    from .delivery import Result as Result  # re-exported for the faces' type hints
    from .gate import Evaluation, Readiness
    from .records import Acknowledgement, Actor, EscalationPlan, EscalationRun, HistoryPage, Plan
    from .request_types import ALL_ROLES as ALL_ROLES
    from .request_types import AckRequest as AckRequest
    from .request_types import ClosureRequest as ClosureRequest
    from .request_types import DeliverRequest as DeliverRequest
    from .request_types import DeliveryOptions as DeliveryOptions
    from .request_types import HistoryQuery as HistoryQuery
    from .request_types import PlanRequest as PlanRequest
    from .request_types import RetryDecisionRequest as RetryDecisionRequest
    from .request_types import RetryPlanRequest as RetryPlanRequest
    from .request_types import RetryWorkerRequest as RetryWorkerRequest
    from .request_types import SweepRequest as SweepRequest
    from .schedule import ScheduleReport
    from .service import Context
    from .store import EvidenceStore
    from .sweep import SweepResult

__all__ = [
    "AckRequest", "Cavra", "CavraError", "ConfigError", "DeliverRequest", "DeliveryOptions", "HistoryQuery",
    "InputError", "PlanRequest", "Settings", "SettingsError", "StoreError", "SweepRequest", "parse_time",
    "ALL_ROLES", "ClosureRequest", "RetryDecisionRequest", "RetryPlanRequest", "RetryWorkerRequest",
]
REQUEST_TYPES = frozenset({
    "ALL_ROLES",
    "AckRequest",
    "ClosureRequest",
    "DeliverRequest",
    "DeliveryOptions",
    "HistoryQuery",
    "PlanRequest",
    "RetryDecisionRequest",
    "RetryPlanRequest",
    "RetryWorkerRequest",
    "SweepRequest",
})


def __getattr__(name: str) -> Any:
    """The request dataclasses (:mod:`.request_types`), loaded on first use: building a dozen frozen
    dataclasses costs milliseconds the read-only schedule and history commands do not need."""
    if name in REQUEST_TYPES:
        from . import request_types

        return getattr(request_types, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


MODES = _settings.MODES
ENV = {"mode": _settings.ENV_MODE, "history": _settings.ENV_HISTORY, "schedule": _settings.ENV_SCHEDULE,
       "due_soon": _settings.ENV_DUE_SOON, "max_age": _settings.ENV_MAX_AGE,
       "connectors": _settings.ENV_CONNECTORS, "evidence_db": "CAVRA_EVIDENCE_DB"}


def configure_logging(log_format: str | None = None, level: str = "warning") -> None:
    """Log to stderr as text or JSON lines (``--log-format``, else ``CAVRA_LOG_FORMAT``); see ``logs``."""
    import logging

    from .logs import configure

    configure(log_format, getattr(logging, level.upper(), logging.WARNING))


def gate_evidence() -> tuple[Any, ...]:
    """The Go pilot gate's other evidence inputs (key, flag, environment variable, kind)."""
    from .gate import EVIDENCE

    return EVIDENCE


def parse_time(value: str | None, what: str = "--now") -> datetime | None:
    """An ISO 8601 time with an offset (``None`` stays ``None``); anything else is a clear error."""
    return None if value is None else parse_aware(value, what)


class Cavra(RetryMethods):
    """One evaluation setting (resolved :class:`Settings`), one evidence store (opened on first use).

    ``generated_by`` names the face in the records it writes (``cavra``, ``cavra api``, ``cavra sweep``).
    Safe to share between threads (the API does): the store is opened once under a lock.
    """

    def __init__(self, settings: Settings, *, evidence_db: str | None = None, generated_by: str = "cavra",
                 env: Mapping[str, str] | None = None, read_only: bool = False) -> None:
        self.settings = settings
        self.read_only = read_only  # read commands open an existing store without creating or writing
        self.env = dict(os.environ if env is None else env)
        self.evidence_db = evidence_db or self.env.get(ENV["evidence_db"]) or None
        self.generated_by = generated_by
        self._store: EvidenceStore | None = None
        import threading  # here: the read-only commands never open a store

        self._lock = threading.Lock()

    @classmethod
    def from_flags(cls, *, env: Mapping[str, str] | None = None, evidence_db: str | None = None,
                   generated_by: str = "cavra", read_only: bool = False, **flags: Any) -> Cavra:
        """Settings from flags, else the environment, else defaults (SPEC §3); see ``settings.resolve``."""
        environment = dict(os.environ if env is None else env)
        return cls(_settings.resolve(env=environment, **flags), evidence_db=evidence_db, generated_by=generated_by,
                   env=environment, read_only=read_only)

    @staticmethod
    def default_evidence_db(env: Mapping[str, str]) -> str:
        """The evidence store when none is named: ``$CAVRA_EVIDENCE_DB``, else the per-user default."""
        from .store import default_db_path

        return env.get(ENV["evidence_db"]) or str(default_db_path())

    # --- lifecycle -------------------------------------------------------------------------------
    def store(self) -> EvidenceStore:
        with self._lock:
            if self._store is None:
                from .store import open_store

                self._store = open_store(self.evidence_db, read_only=self.read_only)
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
        """The notification plan (sends nothing). With an evidence store configured (``evidence_db``, or
        ``CAVRA_EVIDENCE_DB``; the API always has one) it consults the notification log, so a dry run and a
        delivery at the same ``now`` agree route by route."""
        from . import service

        ctx = self.context(request.now)
        policy = service.routing_policy(ctx, path=request.routing_policy_path, document=request.routing_policy)
        log = self.store().notified_routes if self.evidence_db else None
        return service.notification_plan(ctx, service.schedule_report(ctx, policy), policy,
                                         providers=request.providers, force=request.force, last_notified=log,
                                         generated_by=self.generated_by)

    def readiness(self, now: datetime | None = None) -> Readiness:
        """Production readiness: the Go pilot gate's checks, evidence paths from the environment."""
        from . import gate
        from .history import history_report
        from .service import schedule_report

        ctx = self.context(now)
        history = history_report(ctx.settings, ctx.now, ctx.deny_names)
        return gate.production_readiness(gate.gates(schedule_report(ctx), history, gate.evidence_paths({}, self.env)))

    def gate(self, action: str, target: str, evidence: Mapping[str, str | None] | None = None,
             now: datetime | None = None) -> Evaluation:
        """The Go pilot gate for one action; ``evidence`` paths by key (flags), else the environment."""
        from . import gate
        from .history import history_report
        from .service import schedule_report

        ctx = self.context(now)
        history = history_report(ctx.settings, ctx.now, ctx.deny_names)
        paths = gate.evidence_paths(evidence or {}, self.env)
        return gate.evaluate(action, target, gate.gates(schedule_report(ctx), history, paths))

    # --- deliver and record ----------------------------------------------------------------------
    def deliver(self, request: DeliverRequest) -> Result:
        """Plan with the notification log's memory, then deliver every ``deliver`` route (SPEC §6)."""
        from . import service

        ctx = self.context(request.now)
        policy = service.routing_policy(ctx, path=request.routing_policy_path, document=request.routing_policy)
        report = service.schedule_report(ctx, policy)
        return service.deliver(ctx, report, policy, store=self.store(), providers=request.providers,
                               force=request.force, options=request.options.core(), generated_by=self.generated_by)

    def sweep(self, request: SweepRequest) -> SweepResult:
        """Evaluate, plan and deliver every schedule of a folder in one pass (``cavra_notify.sweep``)."""
        from . import sweep
        from .metrics import sweep_metrics

        metrics = sweep_metrics(request.metrics_textfile)  # a textfile that cannot be written is refused first
        try:
            result = sweep.run_sweep(request, self.store())
            if request.execute_approved_retries:  # after its deliveries and escalations (docs/retries.md)
                result.retry_run = self.sweep_retries(request)
            return result
        finally:
            if metrics is not None:
                metrics.write(self.store())

    def acknowledge(self, request: AckRequest, actor: Actor | None = None) -> Acknowledgement:
        """Record one acknowledgement; with a verified ``actor`` it is recorded as theirs."""
        from .acks import record_spec, spec_of

        return record_spec(self.store(), spec_of(request, actor), now=request.now or utcnow())

    def acknowledge_many(self, requests: list[AckRequest], actor: Actor | None = None) -> list[Acknowledgement]:
        """Record 1..100 acknowledgements in one transaction, all or none (:class:`AckRefusedError`)."""
        from .acks import record_acks, spec_of

        specs = [spec_of(r, actor) for r in requests]
        now = next((r.now for r in requests if r.now is not None), None)
        return record_acks(self.store(), specs, now=now or utcnow())

    @staticmethod
    def ack_requests(path: str, now: datetime | None = None) -> list[AckRequest]:
        """The acknowledgements of a bulk file: ``{"acknowledgements": [...]}`` (1..100 entries)."""
        from .acks import read_bulk
        from .request_types import AckRequest

        return [AckRequest(schedule_id=i.schedule_id, provider=i.provider, owner=i.owner, route_key=i.route_key,
                           acknowledged_by=i.acknowledged_by, state=i.effective_state, plan_id=i.plan_id,
                           external_ref=i.external_ref, notes=i.notes, now=now) for i in read_bulk(path)]

    def escalate(self, now: datetime | None = None, *, routing_policy_path: str | None = None,
                 options: DeliveryOptions | None = None) -> EscalationRun:
        """Deliver every escalation due (breached routes of the open occurrences; see
        :mod:`cavra_notify.escalate`), through the configured schedule's owner routes when it is one of them."""
        from .escalate import escalate_configured

        return escalate_configured(self.context(now), self.store(), routing_policy_path=routing_policy_path,
                                   options=(options or _default_options()).core(), generated_by=self.generated_by)

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

    # --- metrics ------------------------------------------------------------------------------------
    @staticmethod
    def enable_metrics() -> None:
        """Count deliveries, attempts and retries from now on (``cavra_notify.metrics``)."""
        from .metrics import enable

        enable()

    def metrics_text(self) -> bytes:
        """The Prometheus text format: the counters since :meth:`enable_metrics` and this store's gauges."""
        from .metrics import enable

        metrics = enable()
        metrics.use_store(self.store)
        return metrics.text()

    # --- the store itself ----------------------------------------------------------------------------
    @staticmethod
    def migrate_store(evidence_db: str | None) -> dict[str, Any]:
        """Bring the store's schema to this version (opening it writable applies every missing migration)."""
        from .store import SCHEMA_VERSION, open_store

        store = open_store(evidence_db)
        label = getattr(store, "label", "")
        store.close()
        return {"store": label, "schema_version": SCHEMA_VERSION}

    @staticmethod
    def copy_store(source: str, target: str) -> dict[str, Any]:
        """Copy every record and notification-log row into a new, empty store; each schedule's bundle must
        have the same chain hash on both sides (``cavra_notify.store.transfer``)."""
        from .store.transfer import copy_between

        return copy_between(source, target)

    # --- evidence (read) -------------------------------------------------------------------------
    def history(self, query: HistoryQuery) -> list[dict[str, Any]]:
        return list(self.history_page(query).items)

    def history_page(self, query: HistoryQuery) -> HistoryPage:
        """One page of records, newest first, and how many match (``acknowledgement_state`` selects
        acknowledgements in that state)."""
        from .acks import history_filter
        from .records import HistoryPage

        kind, outcome = history_filter(query.kind, query.outcome, query.acknowledgement_state)
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

    def export(self, schedule_id: str, from_seq: int | None = None, to_seq: int | None = None
               ) -> tuple[dict[str, Any], str | None]:
        """A hash-chained bundle of the schedule's records (a sequence range when given), signed with the
        private config's ``evidence_signing_key`` when it has one: (the bundle, a note when unsigned)."""
        from .store.signing import signed_export

        return signed_export(self.store(), schedule_id, from_seq=from_seq, to_seq=to_seq,
                             config_path=self.settings.connector_config_path)

    @staticmethod
    def verify(bundle_path: str, public_key: str | None = None) -> tuple[dict[str, Any], list[str], str]:
        """Read an exported bundle and check its chain, range and (with ``public_key``) its signature:
        (the bundle, its problems — none when intact, what was proven)."""
        from .jsonfile import read_json
        from .retries import hash_problems
        from .store.signing import verify_with_key

        bundle = read_json(bundle_path, "evidence bundle", max_bytes=512 * 1024 * 1024)
        if not isinstance(bundle, dict):
            raise InputError(f"evidence bundle {bundle_path}: not a bundle object")
        problems, proof = verify_with_key(bundle, public_key)
        return bundle, problems + hash_problems(bundle), proof


def ack_state(state: str | None, alias: str | None) -> str:
    """``acknowledgement_state``, or its alias ``state``; both given must agree (default ``acknowledged``)."""
    from .acks import ack_state as resolve

    return resolve(state, alias)


def _default_options() -> DeliveryOptions:
    from .request_types import DeliveryOptions

    return DeliveryOptions()
