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
from .errors import CavraError, ConfigError, InputError, SettingsError, StoreError
from .settings import Settings
from .timeutil import parse_aware, utcnow

if TYPE_CHECKING:
    from .checks import ConnectorsCheck, PluginCheck
    from .delivery import Options, Result
    from .gate import Evaluation, Readiness
    from .records import (
        Acknowledgement,
        DeliveryEvidence,
        EscalationPlan,
        Plan,
        RecoveryClosure,
        RecoveryPlaybook,
        RetryApproval,
        RetryEntry,
        RetryPlan,
        RetryWorkerRun,
        SkippedRoute,
    )
    from .schedule import ScheduleReport
    from .service import Context
    from .store import EvidenceStore

__all__ = [
    "AckRequest", "Cavra", "CavraError", "ConfigError", "DeliverRequest", "DeliveryOptions", "HistoryQuery",
    "InputError", "PlanRequest", "Settings", "SettingsError", "StoreError", "parse_time",
    "ALL_ROLES", "ClosureRequest", "RetryDecisionRequest", "RetryPlanRequest", "RetryWorkerRequest",
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
    schedule_id: str
    provider: str
    acknowledged_by: str
    state: str = "acknowledged"
    plan_id: str | None = None
    external_ref: str | None = None
    notes: str | None = None
    now: datetime | None = None


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
        from .delivery import Options

        ctx = self.context(request.now)
        policy = service.routing_policy(ctx, path=request.routing_policy_path, document=request.routing_policy)
        report = service.schedule_report(ctx, policy)
        o = request.options
        options = Options(retries=o.retries, timeout=o.timeout_seconds, deadline=o.deadline_seconds)
        return service.deliver(ctx, report, policy, store=self.store(), providers=request.providers,
                               force=request.force, options=options, generated_by=self.generated_by)

    def acknowledge(self, request: AckRequest) -> Acknowledgement:
        from .acks import record_ack

        return record_ack(self.store(), schedule_id=request.schedule_id, provider=request.provider,
                          acknowledged_by=request.acknowledged_by, state=request.state, plan_id=request.plan_id,
                          external_ref=request.external_ref, notes=request.notes, now=request.now or utcnow())

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
        return self.store().history(schedule_id=query.schedule_id, provider=query.provider, kind=query.kind,
                                    outcome=query.outcome, since=query.since, until=query.until, limit=query.limit)

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
        from .retries import hash_problems
        from .store import verify_bundle

        bundle = read_json(bundle_path, "evidence bundle", max_bytes=512 * 1024 * 1024)
        if not isinstance(bundle, dict):
            raise InputError(f"evidence bundle {bundle_path}: not a bundle object")
        return bundle, verify_bundle(bundle) + hash_problems(bundle)

    # --- failed notifications: retries with approval, connector recovery (issue 17, docs/retries.md) ---
    # The deciding actor is a parameter (``actor``, ``roles``); ``retries.require_role`` is the one check.
    def retry_plan(self, request: RetryPlanRequest) -> RetryPlan:
        """What happens next to each failed (route, connector), recorded as evidence."""
        from . import service
        from .retries import build_retry_plan, policy_snapshot

        ctx = self.context(request.now)
        policy = service.routing_policy(ctx, path=request.routing_policy_path, document=request.routing_policy)
        return build_retry_plan(self.store(), policy_snapshot(policy), ctx.now, self.generated_by)

    def decide_retry(self, request: RetryDecisionRequest) -> RetryApproval:
        from .retries import decide, require_role

        require_role(request.roles, "approve")
        return decide(self.store(), retry_plan_id=request.retry_plan_id, entry_id=request.entry_id,
                      decision=request.decision, actor=request.actor, notes=request.notes,
                      expires_in_minutes=request.expires_in_minutes, now=request.now or utcnow())

    def retry_worker(self, request: RetryWorkerRequest) -> RetryWorkerRun:
        """Dry run by default; live, re-send approved entries through the delivery core (forced, one route)."""
        from .delivery import Options
        from .retries import load_plan, run_worker

        ctx, store = self.context(request.now), self.store()
        o = request.options
        options = Options(retries=o.retries, timeout=o.timeout_seconds, deadline=o.deadline_seconds)
        return run_worker(store, load_plan(store, request.retry_plan_id), execute=request.execute,
                          limit=request.limit, now=ctx.now, executed_by=self.generated_by,
                          send=lambda entry: self._send_retry(ctx, entry, options))

    def _send_retry(self, ctx: Context, entry: RetryEntry, options: Options) -> DeliveryEvidence | SkippedRoute:
        from .retries import narrowed_plan

        stored = self.store().get_plan(entry.plan_id)
        if stored is None:
            raise InputError(f"plan {entry.plan_id} of retry entry {entry.entry_id} is not in the evidence store")
        result = self._send(ctx, narrowed_plan(stored, entry.route_key), entry.connector, options, self.store())
        return result.evidence[0] if result.evidence else result.skipped[0]

    def _send(self, ctx: Context, plan: Plan, connector: str, options: Options,
              store: EvidenceStore | None) -> Result:
        from . import service
        from .delivery import deliver_plan
        from .plugins import get_registry

        connectors = service.connectors_for(ctx, [connector])
        redactor = service.install_log_redaction([s for c in connectors.values() for s in c.secrets])
        return deliver_plan(plan, connectors, get_registry(), options, redactor=redactor, store=store, force=True,
                            now=ctx.now)

    def recovery_playbook(self, request: RetryPlanRequest) -> RecoveryPlaybook:
        """Connectors with repeated failures and the steps to bring each back, recorded as evidence."""
        from . import service
        from .plugins import get_registry
        from .provider import provider_category
        from .recovery import build_playbook
        from .retries import policy_snapshot

        ctx = self.context(request.now)
        policy = service.routing_policy(ctx, path=request.routing_policy_path, document=request.routing_policy)
        categories = {name: provider_category(p) for name, p in get_registry().providers.items()}
        return build_playbook(self.store(), policy_snapshot(policy), ctx.now, self.generated_by, categories)

    def close_recovery(self, request: ClosureRequest) -> RecoveryClosure:
        from .recovery import close
        from .retries import require_role

        require_role(request.roles, "approve")
        return close(self.store(), connector=request.connector, state=request.state,
                     verification_refs=request.verification_refs, actor=request.actor, notes=request.notes,
                     now=request.now or utcnow())

    def test_connector(self, name: str, now: datetime | None = None,
                       options: DeliveryOptions | None = None) -> DeliveryEvidence:
        """Send a public-safe test notification through connector ``name``; its evidence is recorded
        (schedule ``cavra-connector-test``) and can verify a recovery closure."""
        from dataclasses import replace

        from .delivery import Options
        from .recovery import test_plan
        from .retries import TEST_SCHEDULE

        ctx = self.context(now)
        if ctx.config is None or name not in ctx.config.names:
            raise ConfigError(f"connector {name!r} is not in the private connector config")
        o = options or DeliveryOptions()
        result = self._send(ctx, test_plan(name, ctx.now, self.generated_by), name,
                            Options(retries=o.retries, timeout=o.timeout_seconds, deadline=o.deadline_seconds), None)
        evidence = replace(result.evidence[0], schedule_id=TEST_SCHEDULE)
        self.store().record_deliveries([evidence.to_json()])
        return evidence

    def retry_console(self) -> dict[str, Any]:
        """Failed deliveries awaiting a decision, open playbook entries and closures (the console)."""
        from .recovery import console_view

        return console_view(self.store())


ALL_ROLES = frozenset({"read", "deliver", "acknowledge", "approve", "admin"})


@dataclass(frozen=True)
class RetryPlanRequest:
    """The routing policy (file or document) whose ``retry_policy`` applies, and the time."""

    routing_policy_path: str | None = None
    routing_policy: Any = None
    now: datetime | None = None


@dataclass(frozen=True)
class RetryDecisionRequest:
    retry_plan_id: str
    entry_id: str
    decision: str
    actor: str
    roles: frozenset[str]
    notes: str | None = None
    expires_in_minutes: int | None = None
    now: datetime | None = None


@dataclass(frozen=True)
class RetryWorkerRequest:
    execute: bool = False
    limit: int = 5
    retry_plan_id: str | None = None
    now: datetime | None = None
    options: DeliveryOptions = field(default_factory=DeliveryOptions)


@dataclass(frozen=True)
class ClosureRequest:
    connector: str
    state: str
    actor: str
    roles: frozenset[str]
    verification_refs: tuple[str, ...] = ()
    notes: str | None = None
    now: datetime | None = None
