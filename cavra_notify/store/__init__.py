"""The evidence store: plans, delivery evidence, the notification log, acknowledgements and
escalation plans, all already redacted by the caller.

:class:`EvidenceStore` (in :mod:`.protocol`) is what callers rely on; :class:`SQLiteStore` is the
embedded default (one file, WAL). :func:`open_store` picks the backend from a path or URL.
Modules: ``protocol`` (the interface and its timestamps), ``codec`` (records <-> rows), ``schema``
(versioned migrations), ``files`` (SQLite file checks), ``sqlite`` (the backend), ``queries`` (read
models), ``bundle`` (export and verify).
"""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import StoreError
from .bundle import BUNDLE_SCHEMA, GENESIS_HASH, build_bundle, chain_step, content_hash, verify_bundle
from .codec import canonical_json, sha256_hex
from .files import BUSY_TIMEOUT_MS
from .protocol import KINDS, SUCCESS_OUTCOMES, ClaimResult, EvidenceStore, Filed, RouteClaim, Timestamp, iso_z, to_utc
from .schema import MIGRATIONS, SCHEMA_VERSION
from .sqlite import SQLiteStore

DEFAULT_DB_ENV = "CAVRA_EVIDENCE_DB"

__all__ = [
    "BUNDLE_SCHEMA", "BUSY_TIMEOUT_MS", "DEFAULT_DB_ENV", "GENESIS_HASH", "KINDS", "MIGRATIONS", "SCHEMA_VERSION",
    "SUCCESS_OUTCOMES", "ClaimResult", "EvidenceStore", "Filed", "RouteClaim", "SQLiteStore", "Timestamp",
    "build_bundle", "canonical_json", "chain_step", "content_hash", "default_db_path", "iso_z", "open_store",
    "sha256_hex", "to_utc", "verify_bundle",
]


def default_db_path() -> Path:
    configured = os.environ.get(DEFAULT_DB_ENV, "").strip()
    if configured:
        return Path(configured).expanduser()
    base = os.environ.get("XDG_DATA_HOME", "").strip() or str(Path.home() / ".local" / "share")
    return Path(base) / "cavra-notify" / "evidence.db"


def open_store(path: str | Path | None = None, *, read_only: bool = False) -> EvidenceStore:
    """Open (creating if needed) the evidence store at ``path``, ``$CAVRA_EVIDENCE_DB`` or the default.

    ``read_only`` opens an existing store without creating, migrating or writing anything."""
    target: str | Path = path if path is not None else os.environ.get(DEFAULT_DB_ENV, "").strip()
    if not target:
        target = default_db_path()
    if isinstance(target, str):
        scheme = target.split("://", 1)[0].lower() if "://" in target else ""
        if scheme in ("postgresql", "postgres"):
            from .postgres import PostgresStore

            return PostgresStore(target, read_only=read_only)
        if target.startswith("sqlite:"):
            target = target.removeprefix("sqlite:").removeprefix("//")
        elif scheme:
            raise StoreError(f"unsupported evidence store URL scheme '{scheme}'; use a file path or postgresql://")
    return SQLiteStore(Path(target).expanduser(), read_only=read_only)
