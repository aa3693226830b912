"""The embedded backend: one SQLite file, WAL, every write in a ``BEGIN IMMEDIATE`` transaction."""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from ..errors import StoreError
from . import codec, queries
from .bundle import build_bundle
from .codec import RECORD_COLUMNS, col
from .files import BUSY_TIMEOUT_MS, check_file, store_error
from .protocol import KINDS, ClaimResult, Filed, RouteClaim, Timestamp, to_utc
from .schema import migrate

_INSERT_RECORD = (
    "INSERT INTO records (kind, id, schedule_id, provider, connector, outcome, failure_class,"
    " occurrence, route_key, plan_id, recorded_at, payload) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (kind, id) DO NOTHING"
)
# A route's outcome: settles its claim (or records it when it was never claimed). The last success is kept.
_SETTLE = (
    "INSERT INTO notification_log (occurrence, route_key, connector, delivery_key, state, claims, claimed_at,"
    " delivered_at, outcome, completed_at) VALUES (?, ?, ?, '', ?, 0, ?, ?, ?, ?)"
    " ON CONFLICT (occurrence, route_key, connector) DO UPDATE SET state = excluded.state,"
    " outcome = excluded.outcome, completed_at = excluded.completed_at, lease_until = NULL,"
    " delivered_at = COALESCE(excluded.delivered_at, delivered_at)"
)
_LATEST_PLANS = "SELECT r.payload FROM plan_heads h JOIN records r ON r.kind = 'plan' AND r.id = h.plan_id"


def _check_repeat(db: sqlite3.Connection, kind: str, record_id: str, payload: str) -> None:
    existing = db.execute("SELECT payload FROM records WHERE kind = ? AND id = ?", (kind, record_id)).fetchone()
    if existing[0] != payload and kind != "plan":
        raise StoreError(f"{kind} {record_id} is already recorded with different content")


class SQLiteStore:
    """An :class:`~cavra_notify.store.protocol.EvidenceStore` in one SQLite file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.RLock()
        check_file(path)
        try:
            self._conn = sqlite3.connect(
                str(path), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False
            )
        except sqlite3.Error as exc:
            raise store_error(path, exc) from None
        try:
            self._conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            self._conn.execute("PRAGMA journal_mode = WAL").fetchone()
            self._conn.execute("PRAGMA synchronous = FULL")
            self._conn.execute("PRAGMA foreign_keys = ON")
            with self._write() as db:
                migrate(db, str(path))
        except sqlite3.Error as exc:
            self._conn.close()
            raise store_error(path, exc) from None
        except StoreError:
            self._conn.close()
            raise

    def __enter__(self) -> SQLiteStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        with self._lock, contextlib.suppress(sqlite3.Error):
            self._conn.close()

    # plumbing

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

    def _insert_record(self, db: sqlite3.Connection, row: Mapping[str, Any]) -> int | None:
        """Insert once; a repeat with identical content is a no-op, a conflicting one an error."""
        cur = db.execute(_INSERT_RECORD, codec.row_values(row))
        if cur.rowcount:
            return cur.lastrowid
        _check_repeat(db, row["kind"], row["record_id"], row["payload"])
        return None

    def _insert_records(self, db: sqlite3.Connection, rows: Sequence[Mapping[str, Any]]) -> None:
        """:meth:`_insert_record` for many rows in one statement (the same rule for repeats)."""
        before = db.total_changes
        db.executemany(_INSERT_RECORD, [codec.row_values(row) for row in rows])
        if db.total_changes - before < len(rows):  # some were recorded before: they must be identical
            for row in rows:
                _check_repeat(db, row["kind"], row["record_id"], row["payload"])

    # plans

    def save_plan(self, plan: dict[str, Any]) -> None:
        row = codec.plan_row(plan)
        with self._write() as db:
            found = db.execute(
                "SELECT schedule_id FROM records WHERE kind = 'plan' AND id = ?", (plan["plan_id"],)
            ).fetchone()
            if found is not None and found[0] != plan["schedule_id"]:
                raise StoreError(f"plan {plan['plan_id']} is already recorded for schedule {found[0]}")
            self._insert_record(db, row)
            db.execute(
                "INSERT INTO plan_heads (schedule_id, plan_id, generated_at) VALUES (?, ?, ?)"
                " ON CONFLICT (schedule_id) DO UPDATE SET plan_id = excluded.plan_id,"
                " generated_at = excluded.generated_at WHERE excluded.generated_at >= plan_heads.generated_at",
                (plan["schedule_id"], plan["plan_id"], row["recorded_at"]),
            )

    def get_plan(self, plan_id: str) -> dict[str, Any] | None:
        with self._read() as db:
            row = db.execute("SELECT payload FROM records WHERE kind = 'plan' AND id = ?", (plan_id,)).fetchone()
        return None if row is None else dict(json.loads(row[0]))

    def get_record(self, record_id: str) -> dict[str, Any] | None:
        """One record of any kind by its id (plan id, evidence id, ack id, escalation plan id)."""
        with self._read() as db:
            row = db.execute(
                f"SELECT {RECORD_COLUMNS} FROM records WHERE kind IN ({', '.join('?' * len(KINDS))})"
                " AND id = ? ORDER BY seq DESC LIMIT 1",
                (*KINDS, record_id),
            ).fetchone()
        return None if row is None else codec.record(row)

    def latest_plan(self, schedule_id: str) -> dict[str, Any] | None:
        with self._read() as db:
            row = db.execute(_LATEST_PLANS + " WHERE h.schedule_id = ?", (schedule_id,)).fetchone()
        return None if row is None else dict(json.loads(row[0]))

    def latest_plans(self) -> list[dict[str, Any]]:
        with self._read() as db:
            rows = db.execute(_LATEST_PLANS + " ORDER BY h.schedule_id").fetchall()
        return [dict(json.loads(r[0])) for r in rows]

    # notification log

    def claim(self, *, occurrence: str, route_key: str, connector: str, delivery_key: str, now: datetime,
              repeat_interval: timedelta, force: bool, lease_seconds: float) -> ClaimResult:
        """:meth:`claim_many` for one route."""
        claim = RouteClaim(occurrence, route_key, connector, delivery_key)
        return self.claim_many(
            [claim], now=now, repeat_interval=repeat_interval, force=force, lease_seconds=lease_seconds
        )[0]

    def claim_many(self, claims: Sequence[RouteClaim], *, now: datetime, repeat_interval: timedelta,
                   force: bool, lease_seconds: float) -> list[ClaimResult]:
        """Record the intent to send each route before it is sent, all in one transaction (see the protocol)."""
        now_utc = to_utc(now, "now")
        now_s = col(now_utc)
        lease = col(now_utc + timedelta(seconds=lease_seconds))
        with self._write() as db:
            return [self._claim(db, c, now_utc, now_s, lease, repeat_interval, force) for c in claims]

    def _claim(self, db: sqlite3.Connection, claim: RouteClaim, now_utc: datetime, now_s: str, lease: str,
               repeat_interval: timedelta, force: bool) -> ClaimResult:
        key = (claim.occurrence, claim.route_key, claim.connector)
        row = db.execute(
            "SELECT state, lease_until, delivered_at FROM notification_log"
            " WHERE occurrence = ? AND route_key = ? AND connector = ?",
            key,
        ).fetchone()
        if row is None:
            db.execute(
                "INSERT INTO notification_log (occurrence, route_key, connector, delivery_key, state,"
                " claims, claimed_at, lease_until) VALUES (?, ?, ?, ?, 'sending', 1, ?, ?)",
                (*key, claim.delivery_key, now_s, lease),
            )
            return "send"
        state, lease_until, delivered_at = row
        if state == "sending":
            if lease_until is not None and lease_until > now_s:
                return "in_flight"
            db.execute(
                "UPDATE notification_log SET claims = claims + 1, claimed_at = ?, lease_until = ?"
                " WHERE occurrence = ? AND route_key = ? AND connector = ?",
                (now_s, lease, *key),
            )
            return "settle"
        if (
            state == "delivered"
            and not force
            and delivered_at is not None
            and now_utc < to_utc(delivered_at) + repeat_interval
        ):
            return "already_delivered"
        db.execute(
            "UPDATE notification_log SET state = 'sending', delivery_key = ?, claims = claims + 1,"
            " claimed_at = ?, lease_until = ? WHERE occurrence = ? AND route_key = ? AND connector = ?",
            (claim.delivery_key, now_s, lease, *key),
        )
        return "send"

    def complete(self, *, occurrence: str, route_key: str, connector: str, outcome: str,
                 completed_at: datetime) -> None:
        """Settle one claim with its outcome, without evidence."""
        with self._write() as db:
            db.execute(_SETTLE, codec.settlement((occurrence, route_key, connector), outcome, completed_at))

    def record_deliveries(self, evidences: Sequence[dict[str, Any]]) -> None:
        """Each route's evidence and its outcome in the notification log, all in one transaction."""
        rows, settlements = [], []
        for evidence in evidences:
            rows.append(codec.evidence_row(evidence))
            key = (evidence["occurrence"], evidence["route_key"], evidence["connector"])
            settlements.append(codec.settlement(key, evidence["outcome"], evidence["completed_at"]))
        with self._write() as db:
            self._insert_records(db, rows)
            db.executemany(_SETTLE, settlements)

    def notified_routes(self, occurrence: str) -> dict[str, datetime]:
        """route_key -> its latest successful notification in ``occurrence`` (over all connectors)."""
        with self._read() as db:
            rows = db.execute(
                "SELECT route_key, MAX(delivered_at) FROM notification_log"
                " WHERE occurrence = ? AND delivered_at IS NOT NULL GROUP BY route_key",
                (occurrence,),
            ).fetchall()
        return {route_key: to_utc(at) for route_key, at in rows}

    def pending_intents(self) -> list[dict[str, Any]]:
        with self._read() as db:
            rows = db.execute(
                "SELECT occurrence, route_key, connector, delivery_key, claims, claimed_at, lease_until"
                " FROM notification_log WHERE state = 'sending' ORDER BY claimed_at"
            ).fetchall()
        names = ("occurrence", "route_key", "connector", "delivery_key", "claims", "claimed_at", "lease_until")
        return [dict(zip(names, row, strict=True)) for row in rows]

    # delivery evidence

    def save_evidence(self, evidence: dict[str, Any]) -> str:
        """One delivery evidence, without touching the notification log; its id is returned."""
        row = codec.evidence_row(evidence)
        with self._write() as db:
            self._insert_record(db, row)
        return str(row["record_id"])

    def save_evidence_batch(self, evidences: Iterable[dict[str, Any]]) -> list[str]:
        """Many evidence records in one transaction (imports, benchmarks)."""
        rows = [codec.evidence_row(e) for e in evidences]
        with self._write() as db:
            self._insert_records(db, rows)
        return [str(row["record_id"]) for row in rows]

    def last_deliveries(self, schedule_id: str, occurrence: str) -> dict[str, datetime]:
        """route_key -> time of its latest successful delivery evidence in that occurrence."""
        with self._read() as db:
            rows = db.execute(
                "SELECT route_key, MAX(recorded_at) FROM records WHERE schedule_id = ? AND occurrence = ?"
                " AND kind = 'delivery' AND outcome IN ('delivered', 'accepted') GROUP BY route_key",
                (schedule_id, occurrence),
            ).fetchall()
        return {route_key: to_utc(at) for route_key, at in rows}

    # acknowledgements and escalation plans

    def save_ack(self, ack: dict[str, Any]) -> str:
        row = codec.ack_row(ack)
        with self._write() as db:
            self._insert_record(db, row)
        return str(row["record_id"])

    def acks(self, schedule_id: str | None = None) -> list[dict[str, Any]]:
        sql = "SELECT payload FROM records WHERE kind = 'ack'"
        args: tuple[str, ...] = ()
        if schedule_id is not None:
            sql, args = sql + " AND schedule_id = ?", (schedule_id,)
        with self._read() as db:
            rows = db.execute(sql + " ORDER BY recorded_at, seq", args).fetchall()
        return [dict(json.loads(r[0])) for r in rows]

    def save_escalation_plan(self, plan: dict[str, Any]) -> None:
        row, schedules = codec.escalation_row(plan)
        with self._write() as db:
            seq = self._insert_record(db, row)
            if seq is not None:
                db.executemany(
                    "INSERT INTO record_schedules (schedule_id, seq) VALUES (?, ?)",
                    [(sid, seq) for sid in schedules],
                )

    # retry plans, approvals, executions, recovery playbooks and closures (docs/retries.md)

    def save_records(self, records: Sequence[Filed]) -> None:
        """Store each record once (a repeat must be identical), filed under its other schedules too."""
        with self._write() as db:
            for filed in records:
                seq = self._insert_record(db, codec.filed_row(filed))
                if seq is not None:
                    db.executemany("INSERT OR IGNORE INTO record_schedules (schedule_id, seq) VALUES (?, ?)",
                                   [(sid, seq) for sid in sorted(set(filed.schedules) - {filed.schedule_id})])

    def use_approval(self, approval_id: str, worker_run_id: str, now: datetime) -> bool:
        """Claim an approval for one live retry; ``False`` when it was claimed before (usable once)."""
        with self._write() as db:
            cur = db.execute("INSERT INTO approval_uses (approval_id, worker_run_id, used_at) VALUES (?, ?, ?)"
                             " ON CONFLICT (approval_id) DO NOTHING", (approval_id, worker_run_id, col(now)))
            return bool(cur.rowcount)

    # read models

    def history(self, *, schedule_id: str | None = None, provider: str | None = None, kind: str | None = None,
                outcome: str | None = None, since: Timestamp | None = None, until: Timestamp | None = None,
                limit: int = 100) -> list[dict[str, Any]]:
        """Records newest first (see :func:`cavra_notify.store.queries.history_sql`)."""
        sql, args = queries.history_sql(schedule_id=schedule_id, provider=provider, kind=kind, outcome=outcome,
                                         since=since, until=until, limit=limit)
        with self._read() as db:
            rows = db.execute(sql, args).fetchall()
        return [codec.record(row) for row in rows]

    def explain_history(self, **filters: Any) -> list[str]:
        """SQLite's ``EXPLAIN QUERY PLAN`` for a history query (benchmarks, diagnostics)."""
        filters.setdefault("limit", 100)
        for name in queries.HISTORY_FILTERS:
            filters.setdefault(name, None)
        sql, args = queries.history_sql(**filters)
        with self._read() as db:
            return [str(row[3]) for row in db.execute("EXPLAIN QUERY PLAN " + sql, args)]

    def counts(self) -> dict[str, Any]:
        """Totals for the dashboard: schedules, plans, deliveries, failures, acks, claims in flight."""
        with self._read() as db:
            rows = db.execute(queries.COUNTS_SQL).fetchall()
            schedules = db.execute("SELECT COUNT(*) FROM plan_heads").fetchone()[0]
            pending = db.execute("SELECT COUNT(*) FROM notification_log WHERE state = 'sending'").fetchone()[0]
        return queries.counts(rows, schedules, pending)

    def export(self, schedule_id: str) -> dict[str, Any]:
        with self._read() as db:
            rows = db.execute(queries.EXPORT_SQL, (schedule_id, schedule_id)).fetchall()
        return build_bundle(schedule_id, [codec.record(row) for row in rows])
