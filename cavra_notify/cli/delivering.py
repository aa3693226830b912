"""``cavra runtime`` commands that write evidence: deliver, ack, escalation plan, sweep."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .. import facade
from . import output

if TYPE_CHECKING:
    from ..records import Acknowledgement, DeliveryEvidence, EscalationRun


def _store_flag(p: argparse.ArgumentParser) -> None:
    p.add_argument("--evidence-db", help="evidence store (SQLite file); env CAVRA_EVIDENCE_DB")


def _delivery_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--retries", type=int, default=2, help="retries after the first attempt (default 2)")
    p.add_argument("--timeout-seconds", type=float, default=10.0, help="per-attempt timeout (default 10)")
    p.add_argument("--deadline-seconds", type=float, default=120.0, help="overall deadline (default 120)")


def add_commands(sub: Any, common: Callable[..., None], plan_flags: Callable[..., None]) -> None:
    p = sub.add_parser("go-rollback-drill-notification-deliver", help="plan and deliver notifications")
    common(p)
    plan_flags(p)
    _delivery_flags(p)
    p.set_defaults(handler=cmd_deliver)

    p = sub.add_parser("go-rollback-drill-notification-ack", help="record an acknowledgement of delivered routes")
    p.add_argument("schedule_id")
    p.add_argument("--provider", help="the route's provider; alone: every owner that provider reached")
    p.add_argument("--owner", help="the route's owner (with --provider)")
    p.add_argument("--route-key", help="the route key <schedule>:<owner>:<provider>")
    p.add_argument("--acknowledged-by", required=True)
    p.add_argument("--acknowledgement-state", default="acknowledged",
                   choices=["acknowledged", "dismissed", "escalated", "resolved"])
    p.add_argument("--plan-id")
    p.add_argument("--external-ref")
    p.add_argument("--notes")
    p.add_argument("--now")
    p.add_argument("--json", action="store_true")
    _store_flag(p)
    p.set_defaults(handler=cmd_ack)

    p = sub.add_parser("go-rollback-drill-notification-ack-bulk",
                       help="record 1..100 acknowledgements from a JSON file, all or none")
    p.add_argument("file", help='{"acknowledgements": [{"schedule_id": ..., "route_key" | "provider" [+ "owner"], '
                                '"acknowledged_by": ..., ...}, ...]}')
    p.add_argument("--now")
    p.add_argument("--json", action="store_true")
    _store_flag(p)
    p.set_defaults(handler=cmd_ack_bulk)

    p = sub.add_parser("go-rollback-drill-escalation-plan", help="outstanding and breached routes "
                                                               "(--deliver: tell the escalation owners)")
    common(p)
    p.add_argument("--deliver", action="store_true", help="deliver every escalation due, once per breach")
    p.add_argument("--routing-policy", help="routing policy JSON (the escalation owners' owner routes)")
    _delivery_flags(p)
    _store_flag(p)
    p.set_defaults(handler=cmd_escalation)

    p = sub.add_parser("go-rollback-drill-sweep", help="evaluate, plan and deliver every schedule in a folder")
    p.add_argument("--schedules", required=True, help="folder of schedule JSON files")
    p.add_argument("--histories", help="folder of histories named like the schedules (default: <stem>.history.json "
                                       "beside each schedule)")
    p.add_argument("--mode", help="default: env CAVRA_GO_BACKEND_MODE, else promoted")
    p.add_argument("--rollback-drill-due-soon-days")
    p.add_argument("--rollback-drill-max-age-days")
    p.add_argument("--connector-config")
    p.add_argument("--routing-policy")
    p.add_argument("--provider", default="all")
    p.add_argument("--force", action="store_true")
    p.add_argument("--now")
    p.add_argument("--json", action="store_true")
    p.add_argument("--metrics-textfile", help="write Prometheus metrics here when the sweep ends (node-exporter)")
    _delivery_flags(p)
    _store_flag(p)
    p.add_argument("--execute-approved-retries", action="store_true", help="then run the retry worker live")
    p.set_defaults(handler=cmd_sweep)


def options(args: argparse.Namespace) -> facade.DeliveryOptions:
    return facade.DeliveryOptions(retries=args.retries, timeout_seconds=args.timeout_seconds,
                                  deadline_seconds=args.deadline_seconds)


def print_deliveries(result: facade.Result) -> None:
    payload = result.to_json()
    output.emit(f"delivery {payload['outcome']}: {payload['delivered_count']} delivered, "
                f"{payload['failed_count']} failed, {len(payload['skipped'])} skipped (plan {payload['plan_id']})")
    rows = [(e.route_key, e.connector, e.outcome, e.failure_class or "", len(e.attempts), _receipt(e))
            for e in result.evidence]
    rows += [(s.route_key, s.connector, "skipped", s.skipped, 0, "") for s in result.skipped]
    if rows:
        output.emit(output.table(["ROUTE", "CONNECTOR", "OUTCOME", "CLASS", "ATTEMPTS", "RECEIPT"], rows))


def _receipt(evidence: DeliveryEvidence) -> str:
    return " ".join(f"{k}={v}" for k, v in evidence.receipt.items()) or (evidence.error or "")


def cmd_deliver(args: argparse.Namespace) -> int:
    from .runtime import cavra_from, plan_request

    with cavra_from(args, evidence_db=args.evidence_db) as cavra:
        result = cavra.deliver(facade.DeliverRequest(**plan_request(args), options=options(args)))
    if args.json:
        output.emit_json(result.redactor.value(result.to_json()))
    else:
        print_deliveries(result)
    return int(result.exit_code)


def _store_only(args: argparse.Namespace) -> facade.Cavra:
    """A facade for the commands that read or write only the evidence store (no schedule flags)."""
    return facade.Cavra.from_flags(evidence_db=args.evidence_db)


def cmd_ack(args: argparse.Namespace) -> int:
    request = facade.AckRequest(schedule_id=args.schedule_id, provider=args.provider, owner=args.owner,
                                route_key=args.route_key, acknowledged_by=args.acknowledged_by,
                                state=args.acknowledgement_state, plan_id=args.plan_id,
                                external_ref=args.external_ref, notes=args.notes, now=facade.parse_time(args.now))
    with _store_only(args) as cavra:
        ack = cavra.acknowledge(request)
    if args.json:
        output.emit_json(ack.to_json())
    else:
        _print_ack(ack)
    return 0


def _print_ack(ack: Acknowledgement) -> None:
    output.emit(f"recorded {ack.state} {ack.acknowledgement_id} by {ack.acknowledged_by} for {ack.schedule_id}: "
                f"{', '.join(ack.route_keys)} (plan {ack.plan_id})")


def cmd_ack_bulk(args: argparse.Namespace) -> int:
    from ..errors import AckRefusedError

    requests = facade.Cavra.ack_requests(args.file, facade.parse_time(args.now))
    with _store_only(args) as cavra:
        try:
            acks = cavra.acknowledge_many(requests)
        except AckRefusedError as exc:
            if args.json:
                output.emit_json({"error": str(exc), "detail": list(exc.refusals)})
            for refusal in exc.refusals:
                sys.stderr.write(output.scrub(f"cavra: acknowledgement {refusal['index']} ({refusal['route']}): "
                                              f"{refusal['reason']}") + "\n")
            raise
    if args.json:
        output.emit_json({"acknowledgements": [a.to_json() for a in acks]})
    else:
        for ack in acks:
            _print_ack(ack)
    return 0


def cmd_escalation(args: argparse.Namespace) -> int:
    from .runtime import cavra_from

    now = facade.parse_time(args.now)
    with cavra_from(args, evidence_db=args.evidence_db) as cavra:
        run = cavra.escalate(now, routing_policy_path=args.routing_policy, options=options(args)) if args.deliver \
            else None
        plan = cavra.escalation_plan(now)
    if args.json:
        output.emit_json(plan.to_json() if run is None else {"escalation_plan": plan.to_json(),
                                                              "escalations": run.to_json()})
        return _escalation_exit(run)
    if run is not None:
        payload = run.to_json()
        output.emit(f"escalation {run.outcome}: {payload['delivered_count']} delivered, {payload['failed_count']} "
                    f"failed, {len(run.skipped)} already sent, {len(run.unroutable)} without a provider")
        rows = [(e["escalation"]["breached_route_key"], e["escalation"]["level"], e["owner"], e["connector"],
                 e["outcome"]) for e in payload["deliveries"]]
        if rows:
            output.emit(output.table(["BREACHED ROUTE", "LEVEL", "ESCALATED TO", "CONNECTOR", "OUTCOME"], rows))
    output.emit(f"escalation plan: {plan.alert_level}: {plan.outstanding_route_count} outstanding, "
                f"{plan.breached_route_count} breached")
    routes = [(r.schedule_id, r.owner, r.provider, r.acknowledge_by, "BREACHED" if r.breached else "waiting",
               r.escalate_to or "") for r in plan.routes]
    if routes:
        output.emit(output.table(["SCHEDULE", "OWNER", "PROVIDER", "ACK BY", "STATE", "ESCALATE TO"], routes))
    return _escalation_exit(run)


def _escalation_exit(run: EscalationRun | None) -> int:
    """Like delivery: 3 when some escalations failed, 4 when all did, 3 when one could not be routed."""
    if run is None:
        return 0
    code = {"delivered": 0, "nothing_to_deliver": 0, "partial": 3, "failed": 4}[run.outcome]
    return max(code, 3 if run.unroutable else 0)


def cmd_sweep(args: argparse.Namespace) -> int:
    request = facade.SweepRequest(
        schedules=args.schedules, histories=args.histories, mode=args.mode,
        due_soon_days=args.rollback_drill_due_soon_days, max_age_days=args.rollback_drill_max_age_days,
        connector_config=args.connector_config, routing_policy_path=args.routing_policy, providers=args.provider,
        force=args.force, options=options(args), now=facade.parse_time(args.now), progress=_progress,
        metrics_textfile=args.metrics_textfile, execute_approved_retries=args.execute_approved_retries)
    try:
        with facade.Cavra.from_flags(evidence_db=args.evidence_db, generated_by="cavra sweep") as cavra:
            result = cavra.sweep(request)
    finally:
        _progress(0, 0)
    if result.retry_run is not None:  # --execute-approved-retries (docs/retries.md)
        from .retries import summarise_run

        summarise_run(result.retry_run)
    if args.json:
        output.emit_json(result.to_json())
    else:
        output.emit(output.table(
            ["SCHEDULE", "SCHEDULE ID", "STATUS", "NEXT DUE", "OUTCOME", "DELIVERED", "FAILED", "SKIPPED",
             "ESCALATED"],
            [(r.schedule, r.schedule_id or "", r.status, r.next_due_at or "", r.outcome + (
                f" ({r.error})" if r.error else ""), r.delivered, r.failed, r.skipped, r.escalated)
             for r in result.rows]))
    return result.exit_code


def _progress(done: int, total: int) -> None:
    if not sys.stderr.isatty():
        return
    if total == 0:
        sys.stderr.write("\r\033[K")
        return
    width = 30
    filled = width * done // total
    sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} schedules")
    sys.stderr.flush()
