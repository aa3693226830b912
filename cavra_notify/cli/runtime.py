"""``cavra runtime ...``: schedule, history, plan (read-only) and the commands that deliver.

The read-only commands reach only the evaluation core through the facade (no connector plugins, no
delivery, no store), so they start about as fast as a bare ``import pydantic``.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from .. import facade
from . import output

if TYPE_CHECKING:
    from ..records import Plan

EXIT_NEEDS_ATTENTION = 1
READ_ONLY = ("go-rollback-drills", "go-rollback-drill-schedule", "go-rollback-drill-notification-plan")


def _common(p: argparse.ArgumentParser, *, schedule: bool = True) -> None:
    env = facade.ENV
    p.add_argument("--mode", help=f"Go backend mode ({', '.join(facade.MODES)}); env {env['mode']}")
    p.add_argument("--rollback-drill-history-path", help=f"drill history JSON; env {env['history']}")
    if schedule:
        p.add_argument("--rollback-drill-schedule-path", help=f"drill schedule JSON; env {env['schedule']}")
        p.add_argument("--rollback-drill-due-soon-days", help=f"default 14; env {env['due_soon']}")
    p.add_argument("--rollback-drill-max-age-days", help=f"default 90; env {env['max_age']}")
    p.add_argument("--connector-config", help=f"private connector config; env {env['connectors']}")
    p.add_argument("--now", help="evaluate at this ISO 8601 time (with offset) instead of the clock")
    p.add_argument("--json", action="store_true", help="print the JSON payload")


def _plan_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--evidence-db", help="evidence store; with one (or CAVRA_EVIDENCE_DB) the plan consults the "
                                         "notification log like delivery does")
    p.add_argument("--routing-policy", help="routing policy JSON (owner routes, windows, calendars)")
    p.add_argument("--provider", default="all", help="all, one provider, or a comma list")
    p.add_argument("--force", action="store_true", help="notify even a healthy schedule / within the repeat interval")


def add_commands(commands: Any, only: str | None = None) -> None:
    """Add ``cavra runtime`` and its commands; with ``only`` (one of ``READ_ONLY``), just that one."""
    runtime = commands.add_parser("runtime", help="rollback drill schedules and notifications")
    sub = runtime.add_subparsers(dest="runtime_command", required=True, metavar="COMMAND")

    if only in (None, "go-rollback-drills"):
        p = sub.add_parser("go-rollback-drills", help="evaluate the rollback drill history")
        _common(p, schedule=False)
        p.set_defaults(handler=cmd_drills)

    if only in (None, "go-rollback-drill-schedule"):
        p = sub.add_parser("go-rollback-drill-schedule", help="evaluate the rollback drill schedule")
        _common(p)
        p.set_defaults(handler=cmd_schedule)

    if only in (None, "go-rollback-drill-notification-plan"):
        p = sub.add_parser("go-rollback-drill-notification-plan", help="build the notification plan (sends nothing)")
        _common(p)
        _plan_flags(p)
        p.set_defaults(handler=cmd_plan)

    if only is not None:
        return
    from . import delivering, retries, serve

    delivering.add_commands(sub, _common, _plan_flags)
    retries.add_commands(sub)
    serve.add_gate_command(sub, _common)


def cavra_from(args: argparse.Namespace, **extra: Any) -> facade.Cavra:
    """The facade for this command's flags (settings: flag, else environment, else default)."""
    return facade.Cavra.from_flags(
        mode=args.mode,
        history_path=args.rollback_drill_history_path,
        schedule_path=getattr(args, "rollback_drill_schedule_path", None),
        due_soon_days=getattr(args, "rollback_drill_due_soon_days", None),
        max_age_days=args.rollback_drill_max_age_days,
        connector_config_path=args.connector_config,
        **extra,
    )


def plan_request(args: argparse.Namespace) -> dict[str, Any]:
    """The plan flags as keyword arguments of :class:`facade.PlanRequest` (and ``DeliverRequest``)."""
    return {"providers": args.provider, "force": args.force, "routing_policy_path": args.routing_policy,
            "now": facade.parse_time(args.now)}


def cmd_drills(args: argparse.Namespace) -> int:
    report = cavra_from(args).history_report(facade.parse_time(args.now))
    if args.json:
        output.emit_json(report)
    else:
        latest = report["history"]["latest_drill"] or {}
        output.emit(f"rollback drill history: {report['status']}")
        if latest:
            output.emit(f"latest drill: {latest['drill_id']} at {latest['executed_at']} ({latest['status']})")
        for check in report["checks"]:
            if not check["passed"]:
                output.emit(f"  needs attention: {check['id']}: {check['message']}")
    return EXIT_NEEDS_ATTENTION if report["status"] == "needs_attention" else 0


def cmd_schedule(args: argparse.Namespace) -> int:
    report = cavra_from(args).schedule_report(facade.parse_time(args.now))
    payload = report.as_dict()
    if args.json:
        output.emit_json(payload)
    else:
        s = payload["schedule"]
        output.emit(f"rollback drill schedule {s['schedule_id'] or '(none)'}: {report.status} ({report.alert_level})")
        if s["next_due_at"]:
            output.emit(f"next drill due: {s['next_due_at']} ({s['days_until_due']:.1f} days)")
        for check in report.failed_checks:
            output.emit(f"  needs attention: {check.id}: {check.message}")
    return EXIT_NEEDS_ATTENTION if report.status == "needs_attention" else 0


def print_plan(plan: Plan) -> None:
    output.emit(f"{plan.message.title}: {plan.message.summary}")
    output.emit(f"plan {plan.plan_id}: {plan.counts['deliverable_route_count']} to deliver, "
                f"{plan.counts['suppressed_route_count']} suppressed, {plan.counts['skipped_route_count']} skipped")
    rows = [(d.route.owner, d.route.provider, d.action, d.category or "", d.reason) for d in plan.route_decisions]
    if rows:
        output.emit(output.table(["OWNER", "PROVIDER", "ACTION", "CATEGORY", "REASON"], rows))


def cmd_plan(args: argparse.Namespace) -> int:
    with cavra_from(args, evidence_db=args.evidence_db) as cavra:
        plan = cavra.plan(facade.PlanRequest(**plan_request(args)))
    if args.json:
        output.emit_json(plan.to_json())
    else:
        print_plan(plan)
    if plan.unroutable:
        output.warn(next(c["message"] for c in plan.failed_checks if c["id"] == "fallback_route"))
        return EXIT_NEEDS_ATTENTION
    return 0
