"""``cavra runtime`` commands that write evidence: deliver, ack, escalation plan, sweep."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import facade, service
from . import output

if TYPE_CHECKING:
    from ..delivery import Result
    from ..records import DeliveryEvidence


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

    p = sub.add_parser("go-rollback-drill-notification-ack", help="record an acknowledgement")
    p.add_argument("schedule_id")
    p.add_argument("--provider", required=True)
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

    p = sub.add_parser("go-rollback-drill-escalation-plan", help="outstanding and breached routes")
    p.add_argument("--now")
    p.add_argument("--json", action="store_true")
    _store_flag(p)
    p.set_defaults(handler=cmd_escalation)

    p = sub.add_parser("go-rollback-drill-sweep", help="evaluate, plan and deliver every schedule in a folder")
    p.add_argument("--schedules", required=True, help="folder of schedule JSON files")
    p.add_argument("--histories", help="folder of histories named like the schedules (default: <stem>.history.json "
                                       "beside each schedule)")
    p.add_argument("--mode", default="promoted")
    p.add_argument("--rollback-drill-due-soon-days")
    p.add_argument("--rollback-drill-max-age-days")
    p.add_argument("--connector-config")
    p.add_argument("--routing-policy")
    p.add_argument("--provider", default="all")
    p.add_argument("--force", action="store_true")
    p.add_argument("--now")
    p.add_argument("--json", action="store_true")
    _delivery_flags(p)
    _store_flag(p)
    p.add_argument("--execute-approved-retries", action="store_true", help="then run the retry worker live")
    p.set_defaults(handler=cmd_sweep)


def open_store(args: argparse.Namespace) -> Any:
    from ..store import open_store as _open

    return _open(args.evidence_db)


def options(args: argparse.Namespace) -> facade.DeliveryOptions:
    return facade.DeliveryOptions(retries=args.retries, timeout_seconds=args.timeout_seconds,
                                  deadline_seconds=args.deadline_seconds)


def _options(args: argparse.Namespace) -> Any:
    from ..delivery import Options

    o = options(args)
    return Options(retries=o.retries, timeout=o.timeout_seconds, deadline=o.deadline_seconds)


def _now(args: argparse.Namespace) -> Any:
    from ..timeutil import parse_aware, utcnow

    return parse_aware(args.now, "--now") if args.now else utcnow()


def print_deliveries(result: Result) -> None:
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
    request = facade.AckRequest(schedule_id=args.schedule_id, provider=args.provider,
                                acknowledged_by=args.acknowledged_by, state=args.acknowledgement_state,
                                plan_id=args.plan_id, external_ref=args.external_ref, notes=args.notes,
                                now=facade.parse_time(args.now))
    with _store_only(args) as cavra:
        ack = cavra.acknowledge(request)
    if args.json:
        output.emit_json(ack.to_json())
    else:
        output.emit(f"recorded {ack.state} by {ack.acknowledged_by} for {ack.schedule_id} "
                    f"via {ack.provider} (plan {ack.plan_id})")
    return 0


def cmd_escalation(args: argparse.Namespace) -> int:
    now = facade.parse_time(args.now)
    with _store_only(args) as cavra:
        plan = cavra.escalation_plan(now)
    if args.json:
        output.emit_json(plan.to_json())
    else:
        output.emit(f"escalation plan: {plan.alert_level}: {plan.outstanding_route_count} outstanding, "
                    f"{plan.breached_route_count} breached")
        rows = [(r.schedule_id, r.owner, r.provider, r.acknowledge_by, "BREACHED" if r.breached else "waiting",
                 r.escalate_to or "") for r in plan.routes]
        if rows:
            output.emit(output.table(["SCHEDULE", "OWNER", "PROVIDER", "ACK BY", "STATE", "ESCALATE TO"], rows))
    return 0


def _pairs(schedules: Path, histories: Path | None) -> list[tuple[Path, Path | None]]:
    from ..errors import InputError

    if not schedules.is_dir():
        raise InputError(f"--schedules {schedules}: not a folder")
    pairs = []
    for file in sorted(schedules.glob("*.json")):
        if file.name.endswith(".history.json"):
            continue
        stem = file.name.removesuffix(".json")
        history = (histories / f"{stem}.json") if histories else (schedules / f"{stem}.history.json")
        pairs.append((file, history if history.exists() else None))
    return pairs


def cmd_sweep(args: argparse.Namespace) -> int:
    from .. import settings as settings_mod
    from ..errors import CavraError

    now, options = _now(args), _options(args)
    pairs = _pairs(Path(args.schedules), Path(args.histories) if args.histories else None)
    store = open_store(args)
    rows: list[dict[str, Any]] = []
    worst = 0
    try:
        for index, (schedule, history) in enumerate(pairs, 1):
            _progress(index, len(pairs))
            resolved = settings_mod.resolve(
                mode=args.mode, schedule_path=str(schedule), history_path=str(history) if history else None,
                due_soon_days=args.rollback_drill_due_soon_days, max_age_days=args.rollback_drill_max_age_days,
                connector_config_path=args.connector_config)
            ctx = service.context(resolved, now)
            report = service.schedule_report(ctx)
            row = {"schedule": schedule.name, "status": report.status, "next_due_at": report.as_dict()["schedule"][
                "next_due_at"], "outcome": "", "delivered": 0, "failed": 0, "skipped": 0}
            try:
                policy = service.routing_policy(ctx, path=args.routing_policy)
                result = service.deliver(ctx, report, policy, store=store, providers=args.provider,
                                         force=args.force, options=options, generated_by="cavra sweep")
                payload = result.to_json()
                row.update(outcome=result.outcome, delivered=payload["delivered_count"],
                           failed=payload["failed_count"], skipped=len(payload["skipped"]))
                worst = max(worst, result.exit_code)
            except CavraError as exc:
                row.update(outcome="error", error=str(exc))
                worst = max(worst, exc.exit_code)
            rows.append(row)
    finally:
        store.close()
        _progress(0, 0)
    if args.execute_approved_retries:  # docs/retries.md
        from .retries import sweep_retries

        worst = max(worst, sweep_retries(args, now))
    if args.json:
        output.emit_json({"generated_at": now.isoformat(), "schedules": rows})
    else:
        output.emit(output.table(["SCHEDULE", "STATUS", "NEXT DUE", "OUTCOME", "DELIVERED", "FAILED", "SKIPPED"],
                                 [(r["schedule"], r["status"], r["next_due_at"], r["outcome"] + (
                                     f" ({r['error']})" if r.get("error") else ""), r["delivered"], r["failed"],
                                   r["skipped"]) for r in rows]))
    return worst


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
