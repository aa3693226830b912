"""``cavra store migrate`` and ``cavra store copy``: the evidence store's schema, and moving to PostgreSQL."""

from __future__ import annotations

import argparse
from typing import Any

from .. import facade
from . import output


def add_commands(commands: Any) -> None:
    store = commands.add_parser("store", help="evidence store: migrate its schema, copy it to PostgreSQL")
    sub = store.add_subparsers(dest="store_command", required=True, metavar="COMMAND")
    p = sub.add_parser("migrate", help="bring the evidence store's schema to this version")
    p.add_argument("--evidence-db", help="SQLite path or postgresql:// URL; env CAVRA_EVIDENCE_DB")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_migrate)
    p = sub.add_parser("copy", help="copy every record into a new, empty store (e.g. SQLite to PostgreSQL)")
    p.add_argument("--from", dest="source", required=True, help="sqlite:PATH (or a postgresql:// URL)")
    p.add_argument("--to", dest="target", required=True, help="postgresql://… (or sqlite:PATH), empty")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_copy)


def cmd_migrate(args: argparse.Namespace) -> int:
    result = facade.Cavra.migrate_store(args.evidence_db)
    if args.json:
        output.emit_json(result)
    else:
        output.emit(f"evidence store {result['store']}: schema version {result['schema_version']}")
    return 0


def cmd_copy(args: argparse.Namespace) -> int:
    result = facade.Cavra.copy_store(args.source, args.target)
    if args.json:
        output.emit_json(result)
    else:
        copied = result["copied"]
        output.emit(f"copied {copied['records']} records and {copied['notification_log']} notification-log rows "
                    f"from {result['source']} to {result['target']}; {result['schedules_verified']} schedules' "
                    "bundles have the same chain hash on both sides")
    return 0
