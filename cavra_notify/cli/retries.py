"""``cavra runtime`` commands for failed notifications (docs/retries.md): the retry plan, approval
decisions, the retry worker, the connector recovery playbook and closures; and ``cavra connectors test``.

A local operator is the deciding actor: ``--actor NAME`` with every role.
"""

from __future__ import annotations

import argparse
from datetime import datetime
from typing import TYPE_CHECKING, Any

from .. import facade
from . import output

if TYPE_CHECKING:
    from ..records import RetryWorkerRun


def _flags(p: argparse.ArgumentParser, *, config: bool = False, policy: bool = False) -> None:
    p.add_argument("--evidence-db", help="evidence store (SQLite file); env CAVRA_EVIDENCE_DB")
    p.add_argument("--now", help="evaluate at this ISO 8601 time (with offset) instead of the clock")
    p.add_argument("--json", action="store_true", help="print the JSON payload")
    if config or policy:
        p.add_argument("--connector-config", help="private connector config; env CAVRA_CONNECTOR_CONFIG")
    if policy:
        p.add_argument("--routing-policy", help="routing policy JSON whose retry_policy applies (else defaults)")


def _delivery(p: argparse.ArgumentParser) -> None:
    p.add_argument("--retries", type=int, default=2, help="retries after the first attempt (default 2)")
    p.add_argument("--timeout-seconds", type=float, default=10.0, help="per-attempt timeout (default 10)")
    p.add_argument("--deadline-seconds", type=float, default=120.0, help="overall deadline (default 120)")


def _limit(text: str) -> int:
    value = int(text) if text.isdigit() else 0
    if not 1 <= value <= 25:
        raise argparse.ArgumentTypeError("expected a whole number from 1 to 25")
    return value


def add_commands(sub: Any) -> None:
    p = sub.add_parser("go-rollback-drill-retry-plan", help="what happens next to each failed notification")
    _flags(p, policy=True)
    p.set_defaults(handler=cmd_plan)

    p = sub.add_parser("go-rollback-drill-retry-decision", help="approve, deny, defer or expire one retry entry")
    p.add_argument("retry_plan_id")
    p.add_argument("entry_id")
    p.add_argument("--decision", required=True, choices=["approved", "denied", "deferred", "expired"])
    p.add_argument("--actor", required=True, help="who decides (a local operator holds every role)")
    p.add_argument("--notes")
    p.add_argument("--expires-in-minutes", type=int, help="approval expiry (default: the retry policy's, 24 h)")
    _flags(p)
    p.set_defaults(handler=cmd_decision)

    p = sub.add_parser("go-rollback-drill-retry-worker", help="re-send approved retries (dry run unless --execute)")
    p.add_argument("--execute", action="store_true", help="send for real (default: a dry run that sends nothing)")
    p.add_argument("--limit", type=_limit, default=5, help="at most this many sends, 1..25 (default 5)")
    p.add_argument("--retry-plan-id", help="default: the latest retry plan")
    _flags(p, config=True)
    _delivery(p)
    p.set_defaults(handler=cmd_worker)

    p = sub.add_parser("connector-recovery-playbook", help="connectors with repeated failures and what to do")
    _flags(p, policy=True)
    p.set_defaults(handler=cmd_playbook)

    p = sub.add_parser("connector-recovery-closure", help="close (or defer, escalate, reopen) a connector's recovery")
    p.add_argument("connector")
    p.add_argument("--state", required=True, choices=["resolved", "mitigated", "deferred", "escalated", "reopened"])
    p.add_argument("--verification-ref", action="append", default=[],
                   help="a delivery evidence id proving the connector works (repeatable)")
    p.add_argument("--actor", required=True)
    p.add_argument("--notes")
    _flags(p)
    p.set_defaults(handler=cmd_closure)


def add_connector_test(sub: Any) -> None:
    """``cavra connectors test NAME`` (registered under ``cavra connectors``)."""
    p = sub.add_parser("test", help="send a public-safe test notification through one connector")
    p.add_argument("name")
    _flags(p, config=True)
    _delivery(p)
    p.set_defaults(handler=cmd_connector_test)


def _cavra(args: argparse.Namespace) -> facade.Cavra:
    return facade.Cavra.from_flags(evidence_db=args.evidence_db,
                                   connector_config_path=getattr(args, "connector_config", None))


def _now(args: argparse.Namespace) -> datetime | None:
    return facade.parse_time(args.now)


def _options(args: argparse.Namespace) -> facade.DeliveryOptions:
    return facade.DeliveryOptions(retries=args.retries, timeout_seconds=args.timeout_seconds,
                                  deadline_seconds=args.deadline_seconds)


def cmd_plan(args: argparse.Namespace) -> int:
    with _cavra(args) as cavra:
        plan = cavra.retry_plan(facade.RetryPlanRequest(routing_policy_path=args.routing_policy, now=_now(args)))
    if args.json:
        output.emit_json(plan.to_json())
        return 0
    counts = ", ".join(f"{n} {a}" for a, n in plan.counts().items())
    output.emit(f"retry plan {plan.retry_plan_id}: {len(plan.entries)} failed route(s): {counts}")
    rows = [(e.entry_id, e.route_key, e.connector, e.failure_class or "", e.action, e.reason) for e in plan.entries]
    if rows:
        output.emit(output.table(["ENTRY", "ROUTE", "CONNECTOR", "CLASS", "ACTION", "REASON"], rows))
    return 0


def cmd_decision(args: argparse.Namespace) -> int:
    request = facade.RetryDecisionRequest(
        retry_plan_id=args.retry_plan_id, entry_id=args.entry_id, decision=args.decision, actor=args.actor,
        roles=facade.ALL_ROLES, notes=args.notes, expires_in_minutes=args.expires_in_minutes, now=_now(args))
    with _cavra(args) as cavra:
        approval = cavra.decide_retry(request)
    if args.json:
        output.emit_json(approval.to_json())
    else:
        output.emit(f"{approval.decision} {approval.approval_id} by {approval.decided_by}: entry {approval.entry_id} "
                    f"({approval.route_key} via {approval.connector}), expires {approval.expires_at}")
    return 0


def print_run(run: RetryWorkerRun) -> None:
    mode = "live" if run.execute else "dry run (nothing sent)"
    output.emit(f"retry worker {run.worker_run_id} ({mode}) on {run.retry_plan_id or 'no retry plan'}: "
                f"{len(run.executions)} executed, {len(run.refusals)} refused")
    rows = [(x.entry_id, x.route_key, x.connector, x.status, x.approval_id, x.delivery_evidence_id or "")
            for x in run.executions]
    rows += [(r.entry_id, r.route_key, r.connector, f"refused: {r.reason}", r.approval_id or "", "")
             for r in run.refusals]
    if rows:
        output.emit(output.table(["ENTRY", "ROUTE", "CONNECTOR", "STATUS", "APPROVAL", "EVIDENCE"], rows))


def worker(args: argparse.Namespace, execute: bool, now: datetime | None) -> RetryWorkerRun:
    request = facade.RetryWorkerRequest(execute=execute, limit=args.limit, now=now, options=_options(args),
                                        retry_plan_id=getattr(args, "retry_plan_id", None))
    with _cavra(args) as cavra:
        return cavra.retry_worker(request)


def cmd_worker(args: argparse.Namespace) -> int:
    """Exit 0 when every live send delivered (or a dry run), 4 when a live send failed."""
    run = worker(args, args.execute, _now(args))
    if args.json:
        output.emit_json(run.to_json())
    else:
        print_run(run)
    return 4 if any(x.status == "failed" for x in run.executions) else 0


def summarise_run(run: RetryWorkerRun) -> None:
    """The sweep's ``--execute-approved-retries`` pass, summarised on stderr."""
    output.warn(f"retry worker {run.worker_run_id}: {sum(x.status == 'delivered' for x in run.executions)} delivered,"
                f" {sum(x.status == 'failed' for x in run.executions)} failed, {len(run.refusals)} refused")


def cmd_playbook(args: argparse.Namespace) -> int:
    with _cavra(args) as cavra:
        book = cavra.recovery_playbook(facade.RetryPlanRequest(routing_policy_path=args.routing_policy,
                                                               now=_now(args)))
    if args.json:
        output.emit_json(book.to_json())
        return 0
    output.emit(f"recovery playbook {book.playbook_id}: {len(book.entries)} connector(s) with at least "
                f"{book.min_failures} failures in {book.lookback_hours} h")
    for e in book.entries:
        classes = ", ".join(f"{c} x{n}" for c, n in e.failure_classes.items())
        output.emit(f"{e.connector} ({e.plugin}, {e.category}): {e.status}; {e.failure_count} failures ({classes}), "
                    f"last {e.last_failure_at}")
        for step in e.steps:
            output.emit(f"  - {step.failure_class}: {step.step}")
    return 0


def cmd_closure(args: argparse.Namespace) -> int:
    request = facade.ClosureRequest(connector=args.connector, state=args.state, actor=args.actor,
                                    roles=facade.ALL_ROLES, verification_refs=tuple(args.verification_ref),
                                    notes=args.notes, now=_now(args))
    with _cavra(args) as cavra:
        closure = cavra.close_recovery(request)
    if args.json:
        output.emit_json(closure.to_json())
    else:
        output.emit(f"{closure.state} {closure.closure_id} for {closure.connector} by {closure.closed_by} "
                    f"(verified by {', '.join(closure.verification_refs) or 'no ref'}); hash {closure.closure_hash}")
    return 0


def cmd_connector_test(args: argparse.Namespace) -> int:
    """Exit 0 when the test notification was delivered, 4 when it failed."""
    with _cavra(args) as cavra:
        evidence = cavra.test_connector(args.name, _now(args), _options(args))
    if args.json:
        output.emit_json(evidence.to_json())
    else:
        detail = evidence.failure_class or "ok"
        output.emit(f"connector test {args.name}: {evidence.outcome} ({detail}); evidence {evidence.evidence_id}")
    return 0 if evidence.succeeded else 4
