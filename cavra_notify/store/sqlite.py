"""The embedded backend: one SQLite file, WAL, every write in a ``BEGIN IMMEDIATE`` transaction."""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from ..errors import StoreError
from ..timeutil import utcnow
from . import codec, queries
from .files import connect, store_error
from .protocol import ClaimResult, RouteClaim
from .schema import migrate
from .sql import INSERT_RECORD, SQLStore


class SQLiteStore(SQLStore):
    """An :class:`~cavra_notify.store.protocol.EvidenceStore` in one SQLite file."""

    def __init__(self, path: Path, *, read_only: bool = False) -> None:
        self.path = path
        self.label = str(path)
        self.clock: Callable[[], datetime] = utcnow  # leases run on this clock, never on a caller's ``now``
        self._lock = threading.RLock()
        self._conn = connect(path, read_only=read_only)
        if read_only:
            return
        try:
            with self._write() as db:
                migrate(db, str(path))
        except StoreError:
            self._conn.close()
            raise

    def close(self) -> None:
        with self._lock, contextlib.suppress(sqlite3.Error):
            self._conn.close()

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                try:
                    yield self._conn
                except BaseException:
                    self._conn.execute("ROLLBACK")
                    raise
                self._conn.execute("COMMIT")
            except sqlite3.Error as exc:
                raise store_error(self.path, exc) from None

    @contextlib.contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                yield self._conn
            except sqlite3.Error as exc:
                raise store_error(self.path, exc) from None

    def _clock(self, db: Any) -> datetime:
        return self.clock()

    def _insert_record(self, db: sqlite3.Connection, row: Mapping[str, Any]) -> int | None:
        cur = db.execute(INSERT_RECORD, codec.row_values(row))
        if cur.rowcount:
            return cur.lastrowid
        self._check_repeat(db, row["kind"], row["record_id"], row["payload"])
        return None

    def _insert_records(self, db: sqlite3.Connection, rows: Sequence[Mapping[str, Any]]) -> None:
        """:meth:`_insert_record` for many rows in one statement (the same rule for repeats)."""
        inserted = db.executemany(INSERT_RECORD, [codec.row_values(row) for row in rows]).rowcount
        if inserted < len(rows):  # some were recorded before: they must be identical
            for row in rows:
                self._check_repeat(db, row["kind"], row["record_id"], row["payload"])

    def _claims(self, db: sqlite3.Connection, claims: Sequence[RouteClaim], now_utc: datetime, now_s: str,
                lease: str, repeat_interval: timedelta, force: bool) -> list[ClaimResult]:
        """One claim after the other: the ``BEGIN IMMEDIATE`` transaction already excludes every other writer."""
        return [self._claim(db, c, now_utc, now_s, lease, repeat_interval, force) for c in claims]

    def _claim(self, db: sqlite3.Connection, claim: RouteClaim, now_utc: datetime, now_s: str, lease: str,
               repeat_interval: timedelta, force: bool) -> ClaimResult:
        """``now_s`` and ``lease`` are the store clock's time and the lease's end on it."""
        key = (claim.occurrence, claim.route_key, claim.connector)
        row = db.execute(
            "SELECT state, lease_until, delivered_at FROM notification_log"
            " WHERE occurrence = ? AND route_key = ? AND connector = ?",
            key,
        ).fetchone()
        result = codec.decide(row, now_utc, now_s, repeat_interval, force)
        if row is None:
            db.execute(codec.CLAIM_INSERT, (*key, claim.delivery_key, now_s, lease))
        elif result == "settle":
            db.execute(codec.CLAIM_SETTLE, (now_s, lease, *key))
        elif result == "send":
            db.execute(codec.CLAIM_RESEND, (claim.delivery_key, now_s, lease, *key))
        return result

    def explain_history(self, **filters: Any) -> list[str]:
        """SQLite's ``EXPLAIN QUERY PLAN`` for a history query (benchmarks, diagnostics)."""
        filters.setdefault("limit", 100)
        for name in queries.HISTORY_FILTERS:
            filters.setdefault(name, None)
        sql, args = queries.history_sql(**filters)
        with self._read() as db:
            return [str(row[3]) for row in db.execute("EXPLAIN QUERY PLAN " + sql, args)]
