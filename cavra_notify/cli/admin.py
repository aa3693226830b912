"""``cavra plugins``, ``cavra connectors check``, ``cavra evidence ...`` and ``cavra serve``."""

from __future__ import annotations

import argparse
import json
import os
from typing import Any

from . import output


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
    p.add_argument("--evidence-db")
    p.set_defaults(handler=cmd_evidence_show)
    p = sub.add_parser("export", help="a hash-chained JSON bundle of everything for a schedule")
    p.add_argument("schedule_id")
    p.add_argument("--evidence-db")
    p.set_defaults(handler=cmd_evidence_export)
    p = sub.add_parser("verify", help="check an exported bundle's hashes")
    p.add_argument("bundle")
    p.set_defaults(handler=cmd_evidence_verify)
    p = sub.add_parser("dashboard", help="counts of deliveries, failures, acks and outstanding routes")
    p.add_argument("--now")
    p.add_argument("--evidence-db")
    p.set_defaults(handler=cmd_evidence_dashboard)


def cmd_plugins(args: argparse.Namespace) -> int:
    from ..plugins import get_registry

    registry = get_registry()
    plugins = [info.as_dict() for info in registry.plugins.values()]
    if args.json:
        output.emit_json(plugins)
    else:
        rows = [(p["name"], p["distribution"], p["version"], "yes" if p["loaded"] else "NO",
                 ", ".join(p["providers"]), p["error"] or "") for p in plugins]
        output.emit(output.table(["PLUGIN", "DISTRIBUTION", "VERSION", "LOADED", "PROVIDERS", "ERROR"], rows))
    return 0


def cmd_plugins_check(args: argparse.Namespace) -> int:
    """Exit 0 when every case passes, 1 when one fails, 2 when the plugin is missing or offers no case."""
    from ..errors import SettingsError
    from ..plugins import get_registry
    from ..testkit import check_conformance

    registry = get_registry()
    info = registry.plugins.get(args.name)
    if info is None or not info.loaded:
        why = "is not installed" if info is None else f"did not load: {info.error}"
        raise SettingsError(f"plugin {args.name!r} {why} (see `cavra plugins`)")
    cases = registry.conformance_cases(args.name)
    if not cases:
        raise SettingsError(f"plugin {args.name!r} describes no conformance case (hook cavra_conformance_cases)")
    results = []
    for case in cases:
        try:
            check_conformance(case)
            problems: list[str] = []
        except AssertionError as exc:
            problems = [line.strip()[2:] for line in str(exc).splitlines()[1:]]
        results.append({"provider": case.provider.name, "passed": not problems, "problems": problems})
    passed = all(r["passed"] for r in results)
    if args.json:
        output.emit_json({"plugin": args.name, "passed": passed, "cases": results})
    else:
        lines = [f"plugin {args.name}: {'passed' if passed else 'FAILED'} ({len(results)} case(s))"]
        for number, r in enumerate(results, 1):
            lines.append(f"  case {number} ({r['provider']}): {'ok' if r['passed'] else 'FAILED'}")
            lines += [f"    - {problem}" for problem in r["problems"]]
        output.emit("\n".join(lines))
    return 0 if passed else 1


def cmd_connectors_check(args: argparse.Namespace) -> int:
    from ..connectors import read_config, validate_connector
    from ..errors import ConfigError, SettingsError
    from ..network import NetworkSettings, describe, summary
    from ..plugins import get_registry
    from ..provider import secret_field_names
    from ..redact import Redactor

    path = args.connector_config or os.environ.get("CAVRA_CONNECTOR_CONFIG")
    if not path:
        raise SettingsError("--connector-config: no connector config given (or set CAVRA_CONNECTOR_CONFIG)")
    raw, registry = read_config(path), get_registry()
    results: list[dict[str, Any]] = []
    secrets: list[str] = []
    for name in sorted(raw.connectors):
        provider = registry.providers.get(raw.provider_of(name))
        own = [f for f in secret_field_names(provider.settings_model) if f not in NetworkSettings.model_fields] \
            if provider else []
        row: dict[str, Any] = {"connector": name, "provider": raw.provider_of(name),
                               "plugin_installed": provider is not None, "valid": False, "problem": None,
                               "secret_fields": own, "network": None}
        try:
            connector = validate_connector(raw, name, registry)
            secrets.extend(connector.secrets)
            row["valid"], row["network"] = True, describe(connector.settings)
        except ConfigError as exc:
            row["problem"] = str(exc)
        results.append(row)
    output.set_scrubber(Redactor(secrets).text)
    if args.json:
        output.emit_json({"config": raw.path, "connectors": results})
    else:
        output.emit(output.table(["CONNECTOR", "PROVIDER", "INSTALLED", "VALID", "NETWORK", "PROBLEM"], [
            (r["connector"], r["provider"], "yes" if r["plugin_installed"] else "no", "yes" if r["valid"] else "NO",
             summary(r["network"]), r["problem"] or "") for r in results]))
    return 0 if all(r["valid"] for r in results) else 2


def _store(args: argparse.Namespace) -> Any:
    from ..store import open_store

    return open_store(args.evidence_db)


def cmd_evidence_list(args: argparse.Namespace) -> int:
    store = _store(args)
    try:
        records = store.history(schedule_id=args.schedule_id, provider=args.provider, kind=args.kind,
                                outcome=args.outcome, since=args.since, until=args.until, limit=args.limit)
    finally:
        store.close()
    if args.json:
        output.emit_json(records)
    else:
        output.emit(output.table(["RECORDED", "KIND", "ID", "SCHEDULE", "PROVIDER", "OUTCOME"], [
            (r["recorded_at"], r["kind"], r["id"], r["schedule_id"], r["provider"] or "", r["outcome"] or "")
            for r in records]))
    return 0


def cmd_evidence_show(args: argparse.Namespace) -> int:
    from ..errors import InputError

    store = _store(args)
    try:
        record = store.get_record(args.record_id)
    finally:
        store.close()
    if record is None:
        raise InputError(f"no evidence record with id {args.record_id!r}")
    output.emit_json(record)
    return 0


def cmd_evidence_export(args: argparse.Namespace) -> int:
    store = _store(args)
    try:
        output.emit_json(store.export(args.schedule_id))
    finally:
        store.close()
    return 0


def cmd_evidence_verify(args: argparse.Namespace) -> int:
    from ..errors import InputError
    from ..jsonfile import read_json
    from ..store import verify_bundle

    bundle = read_json(args.bundle, "evidence bundle", max_bytes=512 * 1024 * 1024)
    if not isinstance(bundle, dict):
        raise InputError(f"evidence bundle {args.bundle}: not a bundle object")
    problems = verify_bundle(bundle)
    for line in problems:
        output.emit(f"TAMPERED: {line}")
    if not problems:
        output.emit(f"bundle intact: {len(bundle.get('records', []))} records, chain hash {bundle.get('chain_hash')}")
    return 1 if problems else 0


def cmd_evidence_dashboard(args: argparse.Namespace) -> int:
    from ..timeutil import parse_aware, utcnow

    store = _store(args)
    try:
        output.emit(json.dumps(store.dashboard(parse_aware(args.now) if args.now else utcnow()), indent=2))
    finally:
        store.close()
    return 0
