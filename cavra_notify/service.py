"""The one core the CLI and the API share: settings → report → plan (→ delivery in ``delivery``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .connectors import RawConfig, read_config
from .models import RoutingPolicy, load, parse
from .plan import LastNotified, build_plan
from .routing import effective_policy
from .schedule import ScheduleReport, evaluate_schedule
from .settings import Settings


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
    config = read_config(settings.connector_config_path) if settings.connector_config_path else None
    return Context(settings, now, config)


def schedule_report(ctx: Context) -> ScheduleReport:
    return evaluate_schedule(ctx.settings, ctx.now, deny_names=ctx.deny_names,
                             configured_connectors=ctx.configured)


def routing_policy(ctx: Context, path: str | None = None, document: Any = None) -> RoutingPolicy | None:
    """The routing policy from a file or an in-memory document (API body), guarded and validated."""
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
) -> dict[str, Any]:
    return build_plan(report, effective_policy(report.schedule, policy), providers=providers, force=force,
                      configured=ctx.configured, last_notified=last_notified, generated_by=generated_by)


def connectors_for(ctx: Context, names: list[str]) -> dict[str, Any]:
    """Validate (and resolve the secrets of) the named connectors before any traffic is sent."""
    from .connectors import validate_connector
    from .errors import ConfigError
    from .plugins import get_registry

    if ctx.config is None:
        raise ConfigError("delivery needs the private connector config (--connector-config or CAVRA_CONNECTOR_CONFIG)")
    registry, config = get_registry(), ctx.config
    return {name: validate_connector(config, name, registry) for name in sorted(set(names) & config.names)}


def install_log_redaction(secrets: list[str]) -> Any:
    """Seed the process redactor (every log record already passes through it) and make sure warnings
    reach stderr; the same redactor for every delivery of the process, never one per delivery."""
    import logging

    from .redact import seed

    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.WARNING, format="cavra: %(levelname)s: %(message)s")
    return seed(secrets)


def deliver(
    ctx: Context,
    report: ScheduleReport,
    policy: RoutingPolicy | None,
    *,
    store: Any,
    providers: str | None = None,
    force: bool = False,
    options: Any = None,
    generated_by: str = "cavra",
) -> Any:
    """Plan with the notification log's memory, then deliver every ``deliver`` route (SPEC §6)."""
    from .delivery import deliver_plan
    from .plugins import get_registry

    plan = notification_plan(ctx, report, policy, providers=providers, force=force,
                             last_notified=store.notified_routes if store is not None else None,
                             generated_by=generated_by)
    wanted = [d["route"]["provider"] for d in plan["route_decisions"] if d["action"] == "deliver"]
    connectors = connectors_for(ctx, wanted) if wanted else {}
    redactor = install_log_redaction([s for c in connectors.values() for s in c.secrets])
    return deliver_plan(plan, connectors, get_registry(), options, redactor=redactor, store=store, force=force,
                        now=ctx.now)
