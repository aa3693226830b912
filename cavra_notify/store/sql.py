"""What the SQL backends share: every :class:`~.protocol.EvidenceStore` method, written once.

A backend supplies a transaction (``_write``/``_read`` yielding something with ``execute`` and
``executemany``), its placeholder style (``_sql``), how it inserts records, how it claims routes, and
its clock. Statements here use ``?`` placeholders; ``_sql`` turns them into the backend's.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from ..errors import StoreError
from . import codec, queries
from .bundle import build_bundle
from .codec import RECORD_COLUMNS, col
from .protocol import ClaimResult, DeliveredRoute, Filed, RouteClaim, Timestamp, to_utc

INSERT_RECORD = (
    "INSERT INTO records (kind, id, schedule_id, provider, connector, outcome, failure_class,"
    " occurrence, route_key, plan_id, recorded_at, payload) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (kind, id) DO NOTHING"
)
# A route's outcome: settles its claim (or records it when it was never claimed). The last success is kept.
SETTLE = (
    "INSERT INTO notification_log (occurrence, route_key, connector, delivery_key, state, claims, claimed_at,"
    " delivered_at, outcome, completed_at) VALUES (?, ?, ?, '', ?, 0, ?, ?, ?, ?)"
    " ON CONFLICT (occurrence, route_key, connector) DO UPDATE SET state = excluded.state,"
    " outcome = excluded.outcome, completed_at = excluded.completed_at, lease_until = NULL,"
    " delivered_at = COALESCE(excluded.delivered_at, notification_log.delivered_at)"
)
_PLAN_HEAD = ("INSERT INTO plan_heads (schedule_id, plan_id, generated_at) VALUES (?, ?, ?)"
              " ON CONFLICT (schedule_id) DO UPDATE SET plan_id = excluded.plan_id,"
              " generated_at = excluded.generated_at WHERE excluded.generated_at >= plan_heads.generated_at")
_LATEST_PLANS = "SELECT r.payload FROM plan_heads h JOIN records r ON r.kind = 'plan' AND r.id = h.plan_id"
SUCCESSFUL_DELIVERIES = (" FROM records WHERE schedule_id = ? AND occurrence = ? AND kind = 'delivery'"
              " AND outcome IN ('delivered', 'accepted')")


class SQLStore:
    """The shared implementation; see :class:`~.sqlite.SQLiteStore` and :class:`~.postgres.PostgresStore`."""

    label: str
    plus = True  # SQLite's unary-plus index hints in history queries
    # each route's latest success: SQLite returns the bare plan_id of the row holding MAX(recorded_at),
    # read along the route index (PostgreSQL has no bare columns: it uses DISTINCT ON)
    delivered_routes_sql = ("SELECT route_key, plan_id, MAX(recorded_at)" + SUCCESSFUL_DELIVERIES
                            + " GROUP BY route_key ORDER BY route_key")

    # --- what a backend supplies ----------------------------------------------------------------

    def _write(self) -> contextlib.AbstractContextManager[Any]:
        raise NotImplementedError

    def _read(self) -> contextlib.AbstractContextManager[Any]:
        raise NotImplementedError

    def _sql(self, text: str) -> str:
        return text

    def _insert_record(self, db: Any, row: Mapping[str, Any]) -> int | None:
        """Insert once and return the new ``seq``; a repeat with identical content is a no-op (None)."""
        raise NotImplementedError

    def _insert_records(self, db: Any, rows: Sequence[Mapping[str, Any]]) -> None:
        raise NotImplementedError

    def _claims(self, db: Any, claims: Sequence[RouteClaim], now_utc: datetime, now_s: str, lease: str,
                repeat_interval: timedelta, force: bool) -> list[ClaimResult]:
        raise NotImplementedError

    def _clock(self, db: Any) -> datetime:
        """The store's clock, that leases run on."""
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    # --- shared ---------------------------------------------------------------------------------

    def __enter__(self) -> Any:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _one(self, db: Any, sql: str, args: Sequence[Any] = ()) -> Any:
        return db.execute(self._sql(sql), tuple(args)).fetchone()

    def _all(self, db: Any, sql: str, args: Sequence[Any] = ()) -> list[Any]:
        return list(db.execute(self._sql(sql), tuple(args)).fetchall())

    def _check_repeat(self, db: Any, kind: str, record_id: str, payload: str) -> None:
        existing = self._one(db, "SELECT payload FROM records WHERE kind = ? AND id = ?", (kind, record_id))
        if existing[0] != payload and kind != "plan":
            raise StoreError(f"{kind} {record_id} is already recorded with different content")

    def _save_plan(self, db: Any, plan: dict[str, Any], row: Mapping[str, Any]) -> None:
        found = self._one(db, "SELECT schedule_id FROM records WHERE kind = 'plan' AND id = ?", (plan["plan_id"],))
        if found is not None and found[0] != plan["schedule_id"]:
            raise StoreError(f"plan {plan['plan_id']} is already recorded for schedule {found[0]}")
        self._insert_record(db, row)
        db.execute(self._sql(_PLAN_HEAD), (plan["schedule_id"], plan["plan_id"], row["recorded_at"]))

    def _save_plans(self, db: Any, plans: Sequence[dict[str, Any]], rows: Sequence[Mapping[str, Any]]) -> None:
        """:meth:`_save_plan` for many plans in three statements (a sweep's batch)."""
        if not plans:
            return
        ids = [plan["plan_id"] for plan in plans]
        found = dict(self._all(db, "SELECT id, schedule_id FROM records WHERE kind = 'plan' AND id IN"
                               f" ({', '.join('?' * len(ids))})", ids))
        for plan in plans:
            if plan["plan_id"] in found and found[plan["plan_id"]] != plan["schedule_id"]:
                raise StoreError(f"plan {plan['plan_id']} is already recorded for schedule {found[plan['plan_id']]}")
        self._insert_records(db, rows)
        db.executemany(self._sql(_PLAN_HEAD), [(p["schedule_id"], p["plan_id"], r["recorded_at"])
                                               for p, r in sorted(zip(plans, rows, strict=True),
                                                                  key=lambda pr: str(pr[0]["schedule_id"]))])

    def save_plan(self, plan: dict[str, Any]) -> None:
        row = codec.plan_row(plan)
        with self._write() as db:
            self._save_plan(db, plan, row)

    def get_plan(self, plan_id: str) -> dict[str, Any] | None:
        with self._read() as db:
            row = self._one(db, "SELECT payload FROM records WHERE kind = 'plan' AND id = ?", (plan_id,))
        return None if row is None else dict(json.loads(row[0]))

    def get_record(self, record_id: str) -> dict[str, Any] | None:
        """One record of any kind by its id (plan, evidence, ack, escalation plan, retry and recovery records)."""
        with self._read() as db:
            row = self._one(db, f"SELECT {RECORD_COLUMNS} FROM records WHERE kind IN ({queries.KIND_LIST})"
                            " AND id = ? ORDER BY seq DESC LIMIT 1", (record_id,))
        return None if row is None else codec.record(row)

    def latest_plan(self, schedule_id: str) -> dict[str, Any] | None:
        with self._read() as db:
            row = self._one(db, _LATEST_PLANS + " WHERE h.schedule_id = ?", (schedule_id,))
        return None if row is None else dict(json.loads(row[0]))

    def latest_plans(self) -> list[dict[str, Any]]:
        with self._read() as db:
            rows = self._all(db, _LATEST_PLANS + " ORDER BY h.schedule_id")
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
        """Record the intent to send each route before it is sent, all in one transaction (see the protocol).

        ``now`` (the evaluation time) decides the repeat interval only; leases run on the store's clock."""
        return self.claim_plans([], claims, now=now, repeat_interval=repeat_interval, force=force,
                                lease_seconds=lease_seconds)

    def claim_plans(self, plans: Sequence[dict[str, Any]], claims: Sequence[RouteClaim], *, now: datetime,
                    repeat_interval: timedelta, force: bool, lease_seconds: float) -> list[ClaimResult]:
        """Save ``plans`` and claim ``claims`` in one transaction (a sweep's batch across schedules)."""
        now_utc = to_utc(now, "now")
        rows = [codec.plan_row(plan) for plan in plans]
        with self._write() as db:
            self._save_plans(db, plans, rows)
            if not claims:
                return []
            clock = to_utc(self._clock(db), "store clock")
            now_s, lease = col(clock), col(clock + timedelta(seconds=lease_seconds))
            return self._claims(db, claims, now_utc, now_s, lease, repeat_interval, force)

    def lock_schedules(self, schedule_ids: Sequence[str]) -> list[str]:
        """Every one: a single writer at a time already (a server backend splits them between workers)."""
        return list(schedule_ids)

    def unlock_schedules(self, schedule_ids: Sequence[str]) -> None:
        return None

    def complete(self, *, occurrence: str, route_key: str, connector: str, outcome: str,
                 completed_at: datetime) -> None:
        """Settle one claim with its outcome, without evidence."""
        with self._write() as db:
            db.execute(self._sql(SETTLE), codec.settlement((occurrence, route_key, connector), outcome, completed_at))

    def record_deliveries(self, evidences: Sequence[dict[str, Any]]) -> None:
        """Each route's evidence and its outcome in the notification log, all in one transaction."""
        rows, settlements = [], []
        for evidence in evidences:
            rows.append(codec.evidence_row(evidence))
            key = (evidence["occurrence"], evidence["route_key"], evidence["connector"])
            settlements.append(codec.settlement(key, evidence["outcome"], evidence["completed_at"]))
        settlements.sort(key=lambda s: s[:3])  # one lock order for every process
        with self._write() as db:
            self._insert_records(db, rows)
            if settlements:
                db.executemany(self._sql(SETTLE), settlements)

    def notified_routes(self, occurrence: str) -> dict[str, datetime]:
        """route_key -> its latest successful notification in ``occurrence`` (over all connectors)."""
        with self._read() as db:
            rows = self._all(db, "SELECT route_key, MAX(delivered_at) FROM notification_log"
                             " WHERE occurrence = ? AND delivered_at IS NOT NULL GROUP BY route_key", (occurrence,))
        return {route_key: to_utc(at) for route_key, at in rows}

    def pending_intents(self) -> list[dict[str, Any]]:
        with self._read() as db:
            rows = self._all(db, "SELECT occurrence, route_key, connector, delivery_key, claims, claimed_at,"
                             " lease_until FROM notification_log WHERE state = 'sending' ORDER BY claimed_at")
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
            rows = self._all(db, "SELECT route_key, delivered_at FROM route_deliveries WHERE schedule_id = ?"
                             " AND occurrence = ?", (schedule_id, occurrence))  # maintained on insert (v5)
        return {route_key: to_utc(at) for route_key, at in rows}

    def delivered_routes(self, schedule_id: str, occurrence: str) -> list[DeliveredRoute]:
        """Each route's latest successful delivery evidence in that occurrence (whatever plan sent it)."""
        with self._read() as db:
            rows = self._all(db, self.delivered_routes_sql, (schedule_id, occurrence))
        return [DeliveredRoute(key, plan_id, to_utc(at)) for key, plan_id, at in rows]

    # acknowledgements and escalation plans

    def save_ack(self, ack: dict[str, Any]) -> str:
        return self.save_acks([ack])[0]

    def save_acks(self, acks: Sequence[dict[str, Any]]) -> list[str]:
        """Acknowledgements in one transaction: all are recorded or none."""
        rows = [codec.ack_row(ack) for ack in acks]
        with self._write() as db:
            for row in rows:
                self._insert_record(db, row)
        return [str(row["record_id"]) for row in rows]

    def record_escalations(self, evidences: Sequence[dict[str, Any]]) -> None:
        """Escalation deliveries (their own record kind) and their outcome in the notification log."""
        rows = [codec.escalation_evidence_row(e) for e in evidences]
        settlements = sorted(codec.settlement((e["occurrence"], e["route_key"], e["connector"]), e["outcome"],
                                              e["completed_at"]) for e in evidences)  # one lock order
        with self._write() as db:
            self._insert_records(db, rows)
            if settlements:
                db.executemany(self._sql(SETTLE), settlements)

    def escalations(self, schedule_id: str, occurrence: str) -> list[dict[str, Any]]:
        """The escalation deliveries of one occurrence, oldest first."""
        with self._read() as db:
            rows = self._all(db, "SELECT payload FROM records WHERE schedule_id = ? AND occurrence = ?"
                             " AND kind = 'escalation' ORDER BY recorded_at, seq", (schedule_id, occurrence))
        return [dict(json.loads(r[0])) for r in rows]

    def acks(self, schedule_id: str | None = None) -> list[dict[str, Any]]:
        sql = "SELECT payload FROM records WHERE kind = 'ack'"
        args: tuple[str, ...] = ()
        if schedule_id is not None:
            sql, args = sql + " AND schedule_id = ?", (schedule_id,)
        with self._read() as db:
            rows = self._all(db, sql + " ORDER BY recorded_at, seq", args)
        return [dict(json.loads(r[0])) for r in rows]

    def save_escalation_plan(self, plan: dict[str, Any]) -> None:
        row, schedules = codec.escalation_row(plan)
        with self._write() as db:
            seq = self._insert_record(db, row)
            if seq is not None and schedules:
                db.executemany(self._sql("INSERT INTO record_schedules (schedule_id, seq) VALUES (?, ?)"),
                               [(sid, seq) for sid in schedules])

    # retry plans, approvals, executions, recovery playbooks and closures (docs/retries.md)

    def save_records(self, records: Sequence[Filed]) -> None:
        """Store each record once (a repeat must be identical), filed under its other schedules too."""
        with self._write() as db:
            for filed in records:
                seq = self._insert_record(db, codec.filed_row(filed))
                others = sorted(set(filed.schedules) - {filed.schedule_id})
                if seq is not None and others:
                    db.executemany(self._sql("INSERT INTO record_schedules (schedule_id, seq) VALUES (?, ?)"
                                             " ON CONFLICT DO NOTHING"), [(sid, seq) for sid in others])

    def use_approval(self, approval_id: str, worker_run_id: str, now: datetime) -> bool:
        """Claim an approval for one live retry; ``False`` when it was claimed before (usable once)."""
        with self._write() as db:
            found = self._one(db, "INSERT INTO approval_uses (approval_id, worker_run_id, used_at) VALUES (?, ?, ?)"
                              " ON CONFLICT (approval_id) DO NOTHING RETURNING approval_id",
                              (approval_id, worker_run_id, col(now)))
        return found is not None

    # read models

    def history(self, *, schedule_id: str | None = None, provider: str | None = None, kind: str | None = None,
                outcome: str | None = None, since: Timestamp | None = None, until: Timestamp | None = None,
                limit: int = 100, connector: str | None = None, offset: int = 0) -> list[dict[str, Any]]:
        """Records newest first (see :func:`cavra_notify.store.queries.history_sql`)."""
        sql, args = queries.history_sql(schedule_id=schedule_id, provider=provider, kind=kind, outcome=outcome,
                                         since=since, until=until, limit=limit, connector=connector, offset=offset,
                                         plus=self.plus)
        with self._read() as db:
            rows = self._all(db, sql, args)
        return [codec.record(row) for row in rows]

    def count_history(self, *, schedule_id: str | None = None, provider: str | None = None,
                      kind: str | None = None, outcome: str | None = None, since: Timestamp | None = None,
                      until: Timestamp | None = None, connector: str | None = None) -> int:
        """How many records :meth:`history` pages through with these filters."""
        sql, args = queries.count_history_sql(schedule_id=schedule_id, provider=provider, kind=kind,
                                              outcome=outcome, since=since, until=until, connector=connector,
                                              plus=self.plus)
        with self._read() as db:
            return int(self._one(db, sql, args)[0])

    def counts(self) -> dict[str, Any]:
        """Totals for the dashboard: schedules, plans, deliveries, failures, acks, claims in flight."""
        with self._read() as db:
            rows = self._all(db, queries.COUNTS_SQL)
            schedules = self._one(db, "SELECT COUNT(*) FROM plan_heads")[0]
            pending = self._one(db, "SELECT COUNT(*) FROM notification_log WHERE state = 'sending'")[0]
        return queries.counts(rows, int(schedules), int(pending))

    def export(self, schedule_id: str, *, from_seq: int | None = None, to_seq: int | None = None) -> dict[str, Any]:
        with self._read() as db:
            low, high = queries.export_range(from_seq, to_seq, int(self._one(db, queries.LAST_SEQ_SQL)[0]))
            rows = self._all(db, queries.EXPORT_SQL, (schedule_id, schedule_id, low, high))
        return build_bundle(schedule_id, queries.bundle_records(rows), from_seq=from_seq, to_seq=high)

    def after_copy(self) -> None:
        """Called once ``cavra store copy`` has written every table (a backend resets its counters)."""
