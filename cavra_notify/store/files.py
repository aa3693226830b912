"""Opening an SQLite evidence store's file: checks first, SQLite's errors as one clear line each.

A read-only open never creates, migrates or locks anything, so read commands work on a read-only
filesystem (where SQLite cannot create the WAL index, the file is opened as immutable).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from urllib.parse import quote

from ..errors import StoreError
from .schema import SCHEMA_VERSION, check_version

BUSY_TIMEOUT_MS = 15_000


def connect(path: Path, *, read_only: bool = False) -> sqlite3.Connection:
    """A connection to the store at ``path`` (autocommit; writes open their own transactions)."""
    check_file(path, read_only=read_only)
    if read_only:
        return _connect_read_only(path)
    try:
        conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                               check_same_thread=False)
    except sqlite3.Error as exc:
        raise store_error(path, exc) from None
    try:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA journal_mode = WAL").fetchone()
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA foreign_keys = ON")
    except sqlite3.Error as exc:
        conn.close()
        raise store_error(path, exc) from None
    return conn


def _connect_read_only(path: Path) -> sqlite3.Connection:
    last: sqlite3.Error | None = None
    for flags in ("mode=ro", "immutable=1"):
        conn = None
        try:
            conn = sqlite3.connect(f"file:{quote(str(path.resolve()))}?{flags}", uri=True, isolation_level=None,
                                   timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False)
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if "schema_version" not in tables:
                raise StoreError(f"evidence store {path} is not a cavra-notify evidence store")
            version = conn.execute("SELECT COALESCE(MAX(version), 0) FROM schema_version").fetchone()[0]
        except sqlite3.Error as exc:
            last = exc
            if conn is not None:
                conn.close()
            continue
        except StoreError:
            if conn is not None:
                conn.close()
            raise
        check_version(version, str(path))
        if version < SCHEMA_VERSION:
            conn.close()
            raise StoreError(f"evidence store {path} has schema version {version}; open it once writable "
                             f"(cavra store migrate) to bring it to version {SCHEMA_VERSION}")
        return conn
    assert last is not None
    raise store_error(path, last)


def check_file(path: Path, *, read_only: bool = False) -> None:
    """Reject paths SQLite would misreport or only fail on later."""
    if path.is_dir():
        raise StoreError(f"evidence store path {path} is a directory, not a database file")
    if not path.exists() and read_only:
        raise StoreError(f"no evidence store at {path} (nothing has been recorded there yet)")
    if not path.exists():
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create the directory for evidence store {path}: {exc.strerror}") from None
        return
    try:
        with path.open("rb") as fh:
            header = fh.read(100)
        size = path.stat().st_size
    except OSError as exc:
        raise StoreError(f"cannot read evidence store {path}: {exc.strerror}") from None
    if size == 0:
        return
    if not header.startswith(b"SQLite format 3\x00"):
        raise StoreError(f"evidence store {path} is not an SQLite database (wrong file header)")
    if len(header) < 100:
        raise StoreError(f"evidence store {path} is truncated ({size} bytes); restore it from a backup")
    page_size = int.from_bytes(header[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    page_count = int.from_bytes(header[28:32], "big")
    header_valid = header[24:28] == header[92:96]
    if header_valid and page_count and size < page_size * page_count:
        raise StoreError(
            f"evidence store {path} is truncated ({size} bytes, header says "
            f"{page_size * page_count}); restore it from a backup"
        )


def store_error(path: Path, exc: sqlite3.Error) -> StoreError:
    text = str(exc)
    low = text.lower()
    if "not a database" in low:
        return StoreError(f"evidence store {path} is not an SQLite database ({text})")
    if "malformed" in low or "corrupt" in low:
        return StoreError(f"evidence store {path} is corrupt ({text}); restore it from a backup")
    if "locked" in low or "busy" in low:
        return StoreError(
            f"evidence store {path} stayed locked by another process for "
            f"{BUSY_TIMEOUT_MS // 1000}s; try again"
        )
    if "readonly" in low or "read-only" in low:
        return StoreError(f"evidence store {path} is read-only ({text})")
    if "unable to open" in low:
        return StoreError(f"cannot open evidence store {path} ({text})")
    return StoreError(f"evidence store {path}: {text}")
