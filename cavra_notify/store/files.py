"""Checks on an SQLite evidence store's file, and SQLite's errors as one clear line each."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from ..errors import StoreError

BUSY_TIMEOUT_MS = 15_000


def check_file(path: Path) -> None:
    """Reject paths SQLite would misreport or only fail on later."""
    if path.is_dir():
        raise StoreError(f"evidence store path {path} is a directory, not a database file")
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
