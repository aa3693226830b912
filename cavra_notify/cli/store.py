"""``cavra store migrate`` and ``cavra store copy``: the evidence store's schema, and moving to PostgreSQL."""

from __future__ import annotations

import argparse
from typing import Any

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
    from ..store import SCHEMA_VERSION, open_store

    store = open_store(args.evidence_db)  # opening writable applies every missing migration
    label = getattr(store, "label", "")
    store.close()
    result = {"store": label, "schema_version": SCHEMA_VERSION}
    if args.json:
        output.emit_json(result)
    else:
        output.emit(f"evidence store {label}: schema version {SCHEMA_VERSION}")
    return 0


def cmd_copy(args: argparse.Namespace) -> int:
    from ..errors import SettingsError
    from ..store import open_store
    from ..store.sql import SQLStore
    from ..store.transfer import copy_store

    source = open_store(args.source, read_only=True)
    try:
        target = open_store(args.target)
        try:
            if not (isinstance(source, SQLStore) and isinstance(target, SQLStore)):
                raise SettingsError("store copy works between the SQLite and PostgreSQL stores only")
            result = copy_store(source, target)
        finally:
            target.close()
    finally:
        source.close()
    if args.json:
        output.emit_json(result)
    else:
        copied = result["copied"]
        output.emit(f"copied {copied['records']} records and {copied['notification_log']} notification-log rows "
                    f"from {result['source']} to {result['target']}; {result['schedules_verified']} schedules' "
                    "bundles have the same chain hash on both sides")
    return 0
