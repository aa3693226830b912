"""``cavra plugins``, ``cavra connectors check``, ``cavra evidence ...`` and ``cavra serve``."""

from __future__ import annotations

import argparse
from typing import Any

from .. import facade
from . import output, retries


def add_commands(commands: Any) -> None:
    p = commands.add_parser("plugins", help="installed provider plugins; `plugins check NAME` tests one")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_plugins)
    sub = p.add_subparsers(dest="plugins_command", metavar="COMMAND")
    check = sub.add_parser("check", help="run the test kit's conformance check against an installed plugin")
    check.add_argument("name", help="the plugin's entry point name (see `cavra plugins`)")
    check.add_argument("--json", action="store_true")
    check.set_defaults(handler=cmd_plugins_check)

    connectors = commands.add_parser("connectors", help="the private connector config")
    sub = connectors.add_subparsers(dest="connectors_command", required=True, metavar="COMMAND")
    p = sub.add_parser("check", help="validate every connector without printing a secret")
    p.add_argument("--connector-config", help="env CAVRA_CONNECTOR_CONFIG")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_connectors_check)
    retries.add_connector_test(sub)

    evidence = commands.add_parser("evidence", help="audit evidence: list, export, verify")
    sub = evidence.add_subparsers(dest="evidence_command", required=True, metavar="COMMAND")
    p = sub.add_parser("list", help="plans, deliveries, acks and escalation plans, newest first")
    for flag in ("--schedule-id", "--kind", "--outcome", "--since", "--until"):
        p.add_argument(flag)
    p.add_argument("--provider", help="a provider plugin (webhook) or a connector name (webhook-audit)")
    p.add_argument("--limit", type=int, default=50)
    p.add_argument("--json", action="store_true")
    p.add_argument("--evidence-db")
    p.set_defaults(handler=cmd_evidence_list)
    p = sub.add_parser("show", help="one record by id (plan id, evidence id, ack id)")
    p.add_argument("record_id")
    p.add_argument("--json", action="store_true", help="the record as JSON (its only form)")
    p.add_argument("--evidence-db")
    p.set_defaults(handler=cmd_evidence_show)
    p = sub.add_parser("export", help="a hash-chained JSON bundle of everything for a schedule")
    p.add_argument("schedule_id")
    p.add_argument("--json", action="store_true", help="the bundle as JSON (its only form)")
    p.add_argument("--evidence-db")
    p.add_argument("--connector-config", help="signs with its evidence_signing_key (env CAVRA_CONNECTOR_CONFIG)")
    p.add_argument("--from-seq", type=int, help="first store sequence number (a range export says and signs it)")
    p.add_argument("--to-seq", type=int, help="last store sequence number (default: the store's last)")
    p.set_defaults(handler=cmd_evidence_export)
    p = sub.add_parser("verify", help="check an exported bundle's hashes, range and signature")
    p.add_argument("bundle")
    p.add_argument("--json", action="store_true", help="the verdict as JSON")
    p.add_argument("--public-key", help="PEM Ed25519 public key the bundle must be signed with")
    p.set_defaults(handler=cmd_evidence_verify)
    p = sub.add_parser("dashboard", help="counts of deliveries, failures, acks and outstanding routes")
    p.add_argument("--now")
    p.add_argument("--json", action="store_true", help="the dashboard as JSON")
    p.add_argument("--evidence-db")
    p.set_defaults(handler=cmd_evidence_dashboard)


def cmd_plugins(args: argparse.Namespace) -> int:
    plugins = facade.Cavra.plugins()
    if args.json:
        output.emit_json(plugins)
    else:
        rows = [(p["name"], p["distribution"], p["version"], "yes" if p["loaded"] else "NO",
                 ", ".join(p["providers"]), p["error"] or "") for p in plugins]
        output.emit(output.table(["PLUGIN", "DISTRIBUTION", "VERSION", "LOADED", "PROVIDERS", "ERROR"], rows))
    return 0


def cmd_plugins_check(args: argparse.Namespace) -> int:
    """Exit 0 when every case passes, 1 when one fails, 2 when the plugin is missing or offers no case."""
    check = facade.Cavra.check_plugin(args.name)
    if args.json:
        output.emit_json(check.to_json())
    else:
        lines = [f"plugin {args.name}: {'passed' if check.passed else 'FAILED'} ({len(check.cases)} case(s))"]
        for number, case in enumerate(check.cases, 1):
            lines.append(f"  case {number} ({case.provider}): {'ok' if case.passed else 'FAILED'}")
            lines += [f"    - {problem}" for problem in case.problems]
        output.emit("\n".join(lines))
    return 0 if check.passed else 1


def cmd_connectors_check(args: argparse.Namespace) -> int:
    report = facade.Cavra.from_flags(connector_config_path=args.connector_config).check_connectors()
    if args.json:
        output.emit_json(report.to_json())
    else:
        output.emit(output.table(["CONNECTOR", "PROVIDER", "INSTALLED", "VALID", "NETWORK", "PROBLEM"], [
            (c.connector, c.provider, "yes" if c.plugin_installed else "no", "yes" if c.valid else "NO",
             c.network_summary, c.problem or "") for c in report.connectors]))
    return 0 if report.valid else 2


def _evidence(args: argparse.Namespace) -> facade.Cavra:
    """The facade for the evidence commands: they only read, so the store opens read-only."""
    return facade.Cavra.from_flags(evidence_db=getattr(args, "evidence_db", None), read_only=True,
                                   connector_config_path=getattr(args, "connector_config", None))


def cmd_evidence_list(args: argparse.Namespace) -> int:
    query = facade.HistoryQuery(schedule_id=args.schedule_id, provider=args.provider, kind=args.kind,
                                outcome=args.outcome, since=facade.parse_time(args.since, "--since"),
                                until=facade.parse_time(args.until, "--until"), limit=args.limit)
    with _evidence(args) as cavra:
        records = cavra.history(query)
    if args.json:
        output.emit_json(records)
    else:
        output.emit(output.table(["RECORDED", "KIND", "ID", "SCHEDULE", "PROVIDER", "OUTCOME"], [
            (r["recorded_at"], r["kind"], r["id"], r["schedule_id"], r["provider"] or "", r["outcome"] or "")
            for r in records]))
    return 0


def cmd_evidence_show(args: argparse.Namespace) -> int:
    """One record; JSON is its only form (``--json`` is accepted for symmetry)."""
    with _evidence(args) as cavra:
        output.emit_json(cavra.record(args.record_id))
    return 0


def cmd_evidence_export(args: argparse.Namespace) -> int:
    """The bundle; JSON is its only form (``--json`` is accepted for symmetry)."""
    with _evidence(args) as cavra:
        bundle, note = cavra.export(args.schedule_id, args.from_seq, args.to_seq)
    output.emit_json(bundle)
    if note:
        output.warn(f"note: {note}")
    return 0


def cmd_evidence_verify(args: argparse.Namespace) -> int:
    bundle, problems, proof = facade.Cavra.verify(args.bundle, args.public_key)
    if args.json:
        output.emit_json({"bundle": args.bundle, "intact": not problems, "problems": problems, "proof": proof,
                          "record_count": len(bundle.get("records", [])), "chain_hash": bundle.get("chain_hash")})
    else:
        for line in problems:
            output.emit(f"TAMPERED: {line}")
        if not problems:
            output.emit(f"bundle intact: {len(bundle.get('records', []))} records, "
                        f"chain hash {bundle.get('chain_hash')} ({proof})")
    return 1 if problems else 0


def cmd_evidence_dashboard(args: argparse.Namespace) -> int:
    now = facade.parse_time(args.now)
    with _evidence(args) as cavra:
        board = cavra.dashboard(now)
    if args.json:
        output.emit_json(board)
    else:
        output.emit(f"evidence dashboard as of {board['generated_at']}: {board['alert_level']}")
        output.emit(output.table(["WHAT", "COUNT"], [(k, v) for k, v in board.items()
                                                      if isinstance(v, int) and not isinstance(v, bool)]))
    return 0
