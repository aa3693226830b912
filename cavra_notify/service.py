"""The evaluation pipeline behind the facade: settings → report → policy → plan (→ delivery).

Only the schedule evaluation is imported up front: the read-only schedule and history commands pass
through here without loading planning, connectors, pluggy or the delivery side.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from .schedule import ScheduleReport, evaluate_schedule
from .settings import Settings

if TYPE_CHECKING:
    from .connectors import Connector, RawConfig
    from .delivery import Options, Result
    from .models import FallbackRoute, RoutingPolicy
    from .plan import LastNotified
    from .records import Plan
    from .redact import Redactor
    from .store import EvidenceStore


@dataclass(frozen=True)
class Context:
    """What one evaluation knows: settings, the private config (if any) and the time."""

    settings: Settings
    now: datetime
    config: RawConfig | None

    @property
    def deny_names(self) -> list[str]:
        return self.config.deny_names if self.config else []

    @property
    def configured(self) -> frozenset[str] | None:
        return self.config.names if self.config else None


def context(settings: Settings, now: datetime) -> Context:
    config = None
    if settings.connector_config_path:
        from .connectors import read_config

        config = read_config(settings.connector_config_path)
    return Context(settings, now, config)


def schedule_report(ctx: Context, policy: RoutingPolicy | None = None) -> ScheduleReport:
    """The schedule report, with a failed ``owner_routes`` check for every owner that no route under
    the effective routing policy (``policy`` over the schedule's own keys) can reach."""
    from .reach import owner_checks
    from .routing import effective_policy

    report = evaluate_schedule(ctx.settings, ctx.now, deny_names=ctx.deny_names,
                               configured_connectors=ctx.configured)
    if report.status != "not_requested" and report.schedule is not None:
        unreachable = owner_checks(report.schedule, effective_policy(report.schedule, policy), ctx.configured)
        if unreachable:
            report.checks.extend(unreachable)
            report.status = "needs_attention"
    return report


def fallback_route(ctx: Context, policy: RoutingPolicy | None) -> FallbackRoute | None:
    """The routing policy's ``fallback_route``, else the private connector config's."""
    if policy is not None and policy.fallback_route is not None:
        return policy.fallback_route
    if ctx.config is None or ctx.config.fallback_route is None:
        return None
    from .errors import ConfigError
    from .models import FallbackRoute, SchemaError, validate

    try:
        return validate(FallbackRoute, ctx.config.fallback_route, f"connector config {ctx.config.path}: "
                                                                   "$.fallback_route")
    except SchemaError as exc:
        raise ConfigError(str(exc)) from None


def routing_policy(ctx: Context, path: str | None = None, document: Any = None) -> RoutingPolicy | None:
    """The routing policy from a file or an in-memory document (API body), guarded and validated."""
    from .models import RoutingPolicy, load, parse

    if path is not None:
        return load(path, "routing policy", RoutingPolicy, ctx.deny_names)
    if document is not None:
        return parse(document, "routing_policy", RoutingPolicy, ctx.deny_names)
    return None


def notification_plan(
    ctx: Context,
    report: ScheduleReport,
    policy: RoutingPolicy | None,
    *,
    providers: str | None = None,
    force: bool = False,
    last_notified: LastNotified | None = None,
    generated_by: str = "cavra",
) -> Plan:
    from .plan import build_plan
    from .routing import effective_policy

    return build_plan(report, effective_policy(report.schedule, policy), providers=providers, force=force,
                      configured=ctx.configured, last_notified=last_notified, generated_by=generated_by,
                      fallback=fallback_route(ctx, policy))


def connectors_for(ctx: Context, names: list[str]) -> dict[str, Connector]:
    """Validate (and resolve the secrets of) the named connectors before any traffic is sent."""
    from .connectors import validate_connector
    from .errors import ConfigError
    from .plugins import get_registry

    if ctx.config is None:
        raise ConfigError("delivery needs the private connector config (--connector-config or CAVRA_CONNECTOR_CONFIG)")
    registry, config = get_registry(), ctx.config
    return {name: validate_connector(config, name, registry) for name in sorted(set(names) & config.names)}


def install_log_redaction(secrets: list[str]) -> Redactor:
    """Seed the process redactor (every log record already passes through it) and make sure warnings
    reach stderr; the same redactor for every delivery of the process, never one per delivery."""
    from .logs import configure
    from .redact import seed

    configure()
    return seed(secrets)


def deliver(
    ctx: Context,
    report: ScheduleReport,
    policy: RoutingPolicy | None,
    *,
    store: EvidenceStore | None,
    providers: str | None = None,
    force: bool = False,
    options: Options | None = None,
    generated_by: str = "cavra",
) -> Result:
    """Plan with the notification log's memory, then deliver every ``deliver`` route (SPEC §6)."""
    from .delivery import deliver_plan
    from .errors import UnroutableError
    from .plugins import get_registry

    plan = notification_plan(ctx, report, policy, providers=providers, force=force,
                             last_notified=store.notified_routes if store is not None else None,
                             generated_by=generated_by)
    if plan.unroutable:
        raise UnroutableError(f"{plan.schedule_id or 'schedule'} needs attention ("
                              + "; ".join(f"{c['id']}: {c['message']}" for c in plan.failed_checks[:2])
                              + ") and no fallback route is configured: nobody was notified")
    wanted = [route.provider for route in plan.deliverable]
    connectors = connectors_for(ctx, wanted) if wanted else {}
    redactor = install_log_redaction([s for c in connectors.values() for s in c.secrets])
    return deliver_plan(plan, connectors, get_registry(), options, redactor=redactor, store=store, force=force,
                        now=ctx.now)
