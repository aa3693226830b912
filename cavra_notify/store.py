"""The evidence store: plans, delivery evidence, the notification log, acknowledgements and
escalation plans, all already redacted by the caller.

:class:`EvidenceStore` is the interface every backend implements; :class:`SQLiteStore` is the
embedded default (one file, WAL). :func:`open_store` picks the backend from a path or URL.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sqlite3
import threading
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal, NamedTuple, Protocol, runtime_checkable

from .errors import InputError, StoreError

DEFAULT_DB_ENV = "CAVRA_EVIDENCE_DB"
BUNDLE_SCHEMA = "cavra.go-backend-pilot.rollback-drill-evidence-bundle.v1"
GENESIS_HASH = "0" * 64
KINDS = ("plan", "delivery", "ack", "escalation_plan")
SUCCESS_OUTCOMES = ("delivered", "accepted")
BUSY_TIMEOUT_MS = 15_000

ClaimResult = Literal["send", "settle", "in_flight", "already_delivered"]
Timestamp = datetime | str


class RouteClaim(NamedTuple):
    """One route's key in the notification log, and the delivery key it would be sent with."""

    occurrence: str
    route_key: str
    connector: str
    delivery_key: str


# --- time and JSON helpers -------------------------------------------------------------------


def to_utc(value: Timestamp, what: str = "timestamp") -> datetime:
    """An aware datetime in UTC from a datetime or an ISO 8601 string with an offset."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            raise InputError(f"{what} is not an ISO 8601 timestamp") from None
    if value.tzinfo is None or value.utcoffset() is None:
        raise InputError(f"{what} has no UTC offset; add Z or +HH:MM")
    return value.astimezone(UTC)


def iso_z(value: Timestamp) -> str:
    """Human-facing ISO 8601 in UTC with a Z suffix (microseconds only when present)."""
    dt = to_utc(value)
    spec = "microseconds" if dt.microsecond else "seconds"
    return dt.isoformat(timespec=spec).replace("+00:00", "Z")


def _col(value: Timestamp, what: str = "timestamp") -> str:
    """Fixed-width UTC form used in columns, so text order is time order."""
    return to_utc(value, what).isoformat(timespec="microseconds")[:-6] + "Z"


def canonical_json(obj: Any) -> str:
    try:
        return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InputError(f"record is not JSON-serialisable: {exc}") from None


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


_INSERT_FIELDS = ("kind", "record_id", "schedule_id", "provider", "connector", "outcome", "failure_class",
                   "occurrence", "route_key", "plan_id", "recorded_at", "payload")
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


def _settlement(key: tuple[str, str, str], outcome: str, completed_at: Timestamp) -> tuple[Any, ...]:
    done = _col(completed_at, "completed_at")
    success = outcome in SUCCESS_OUTCOMES
    return (*key, "delivered" if success else "failed", done, done if success else None, outcome, done)


def _check_repeat(db: sqlite3.Connection, kind: str, record_id: str, payload: str) -> None:
    existing = db.execute("SELECT payload FROM records WHERE kind = ? AND id = ?", (kind, record_id)).fetchone()
    if existing[0] != payload and kind != "plan":
        raise StoreError(f"{kind} {record_id} is already recorded with different content")


def _required(record: Mapping[str, Any], kind: str, *keys: str) -> None:
    for key in keys:
        value = record.get(key)
        if not isinstance(value, str) or not value:
            raise InputError(f"{kind} record lacks a non-empty string '{key}'")


# --- the interface --------------------------------------------------------------------------


@runtime_checkable
class EvidenceStore(Protocol):
    """What callers may rely on, whatever the backend."""

    def save_plan(self, plan: dict[str, Any]) -> None: ...
    def get_plan(self, plan_id: str) -> dict[str, Any] | None: ...
    def get_record(self, record_id: str) -> dict[str, Any] | None: ...
    def latest_plan(self, schedule_id: str) -> dict[str, Any] | None: ...
    def latest_plans(self) -> list[dict[str, Any]]: ...
    def claim(
        self,
        *,
        occurrence: str,
        route_key: str,
        connector: str,
        delivery_key: str,
        now: datetime,
        repeat_interval: timedelta,
        force: bool,
        lease_seconds: float,
    ) -> ClaimResult: ...
    def claim_many(
        self,
        claims: Sequence[RouteClaim],
        *,
        now: datetime,
        repeat_interval: timedelta,
        force: bool,
        lease_seconds: float,
    ) -> list[ClaimResult]: ...
    def complete(
        self, *, occurrence: str, route_key: str, connector: str, outcome: str, completed_at: datetime
    ) -> None: ...
    def record_deliveries(self, evidences: Sequence[dict[str, Any]]) -> None: ...
    def notified_routes(self, occurrence: str) -> dict[str, datetime]: ...
    def pending_intents(self) -> list[dict[str, Any]]: ...
    def save_evidence(self, evidence: dict[str, Any]) -> str: ...
    def last_deliveries(self, schedule_id: str, occurrence: str) -> dict[str, datetime]: ...
    def save_ack(self, ack: dict[str, Any]) -> str: ...
    def acks(self, schedule_id: str | None = None) -> list[dict[str, Any]]: ...
    def save_escalation_plan(self, plan: dict[str, Any]) -> None: ...
    def history(
        self,
        *,
        schedule_id: str | None = None,
        provider: str | None = None,
        kind: str | None = None,
        outcome: str | None = None,
        since: Timestamp | None = None,
        until: Timestamp | None = None,
        limit: int = 100,
    ) -> list[dict[str, Any]]: ...
    def dashboard(self, now: datetime) -> dict[str, Any]: ...
    def export(self, schedule_id: str) -> dict[str, Any]: ...
    def close(self) -> None: ...


# --- schema ---------------------------------------------------------------------------------

MIGRATIONS: tuple[tuple[int, tuple[str, ...]], ...] = (
    (
        1,
        (
            """CREATE TABLE records (
                seq INTEGER PRIMARY KEY AUTOINCREMENT,
                kind TEXT NOT NULL CHECK (kind IN ('plan', 'delivery', 'ack', 'escalation_plan')),
                id TEXT NOT NULL,
                schedule_id TEXT,
                provider TEXT,
                outcome TEXT,
                failure_class TEXT,
                occurrence TEXT,
                route_key TEXT,
                plan_id TEXT,
                recorded_at TEXT NOT NULL,
                payload TEXT NOT NULL,
                UNIQUE (kind, id))""",
            "CREATE INDEX idx_records_recorded ON records (recorded_at)",
            "CREATE INDEX idx_records_schedule ON records (schedule_id, recorded_at)",
            "CREATE INDEX idx_records_provider ON records (provider, recorded_at)",
            "CREATE INDEX idx_records_kind ON records (kind, recorded_at)",
            "CREATE INDEX idx_records_outcome ON records (outcome, recorded_at)",
            "CREATE INDEX idx_records_counts ON records (kind, outcome, failure_class)",
            "CREATE INDEX idx_records_route"
            " ON records (schedule_id, occurrence, kind, outcome, route_key, recorded_at)",
            """CREATE TABLE record_schedules (
                schedule_id TEXT NOT NULL,
                seq INTEGER NOT NULL REFERENCES records (seq),
                PRIMARY KEY (schedule_id, seq)) WITHOUT ROWID""",
            """CREATE TABLE plan_heads (
                schedule_id TEXT PRIMARY KEY,
                plan_id TEXT NOT NULL,
                generated_at TEXT NOT NULL)""",
            """CREATE TABLE notification_log (
                occurrence TEXT NOT NULL,
                route_key TEXT NOT NULL,
                connector TEXT NOT NULL,
                delivery_key TEXT NOT NULL,
                state TEXT NOT NULL CHECK (state IN ('sending', 'delivered', 'failed')),
                claims INTEGER NOT NULL,
                claimed_at TEXT NOT NULL,
                lease_until TEXT,
                delivered_at TEXT,
                outcome TEXT,
                completed_at TEXT,
                PRIMARY KEY (occurrence, route_key, connector))""",
            "CREATE INDEX idx_log_state ON notification_log (state)",
        ),
    ),
    (
        2,
        (  # deliveries are filtered by connector name as well as by provider plugin
            "ALTER TABLE records ADD COLUMN connector TEXT",
            "UPDATE records SET connector = json_extract(payload, '$.connector') WHERE kind = 'delivery'",
            "CREATE INDEX idx_records_connector ON records (connector, recorded_at)",
        ),
    ),
)
SCHEMA_VERSION = MIGRATIONS[-1][0]

_RECORD_COLUMNS = "seq, kind, id, schedule_id, provider, outcome, recorded_at, payload"


# --- opening --------------------------------------------------------------------------------


def default_db_path() -> Path:
    configured = os.environ.get(DEFAULT_DB_ENV, "").strip()
    if configured:
        return Path(configured).expanduser()
    base = os.environ.get("XDG_DATA_HOME", "").strip() or str(Path.home() / ".local" / "share")
    return Path(base) / "cavra-notify" / "evidence.db"


def open_store(path: str | Path | None = None) -> EvidenceStore:
    """Open (creating if needed) the evidence store at ``path``, ``$CAVRA_EVIDENCE_DB`` or the default."""
    target: str | Path = path if path is not None else os.environ.get(DEFAULT_DB_ENV, "").strip()
    if not target:
        target = default_db_path()
    if isinstance(target, str):
        scheme = target.split("://", 1)[0].lower() if "://" in target else ""
        if scheme in ("postgresql", "postgres"):
            raise StoreError(
                "PostgreSQL backend not installed: this build of cavra-notify supports only the "
                "embedded SQLite store (use a file path)"
            )
        if scheme == "sqlite":
            target = target.split("://", 1)[1]
        elif scheme:
            raise StoreError(f"unsupported evidence store URL scheme '{scheme}'; use a file path")
    return SQLiteStore(Path(target).expanduser())


def _check_file(path: Path) -> None:
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


def _store_error(path: Path, exc: sqlite3.Error) -> StoreError:
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


# --- SQLite backend -------------------------------------------------------------------------


class SQLiteStore:
    """The embedded backend: one file, WAL, every write in a ``BEGIN IMMEDIATE`` transaction."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.RLock()
        _check_file(path)
        try:
            self._conn = sqlite3.connect(
                str(path), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False
            )
        except sqlite3.Error as exc:
            raise _store_error(path, exc) from None
        try:
            self._conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            self._conn.execute("PRAGMA journal_mode = WAL").fetchone()
            self._conn.execute("PRAGMA synchronous = FULL")
            self._conn.execute("PRAGMA foreign_keys = ON")
            self._migrate()
        except sqlite3.Error as exc:
            self._conn.close()
            raise _store_error(path, exc) from None
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

    def _migrate(self) -> None:
        with self._write() as db:
            tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if "schema_version" not in tables:
                if any(not t.startswith("sqlite_") for t in tables):
                    raise StoreError(
                        f"{self.path} is an SQLite database but not a cavra-notify evidence store"
                    )
                db.execute("CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)")
                current = 0
            else:
                current = db.execute("SELECT COALESCE(MAX(version), 0) FROM schema_version").fetchone()[0]
            if current > SCHEMA_VERSION:
                raise StoreError(
                    f"evidence store {self.path} has schema version {current}, newer than this "
                    f"cavra-notify supports ({SCHEMA_VERSION}); upgrade cavra-notify"
                )
            for version, statements in MIGRATIONS:
                if version <= current:
                    continue
                for statement in statements:
                    db.execute(statement)
                db.execute(
                    "INSERT INTO schema_version (version, applied_at) VALUES (?, ?)",
                    (version, _col(datetime.now(UTC))),
                )

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
                raise _store_error(self.path, exc) from None

    @contextlib.contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                yield self._conn
            except sqlite3.Error as exc:
                raise _store_error(self.path, exc) from None

    def _insert_record(
        self,
        db: sqlite3.Connection,
        *,
        kind: str,
        record_id: str,
        payload: str,
        recorded_at: str,
        schedule_id: str | None = None,
        provider: str | None = None,
        connector: str | None = None,
        outcome: str | None = None,
        failure_class: str | None = None,
        occurrence: str | None = None,
        route_key: str | None = None,
        plan_id: str | None = None,
    ) -> int | None:
        """Insert once; a repeat with identical content is a no-op, a conflicting one an error."""
        cur = db.execute(
            _INSERT_RECORD,
            (kind, record_id, schedule_id, provider, connector, outcome, failure_class, occurrence,
             route_key, plan_id, recorded_at, payload),
        )
        if cur.rowcount:
            return cur.lastrowid
        _check_repeat(db, kind, record_id, payload)
        return None

    def _insert_records(self, db: sqlite3.Connection, rows: Sequence[Mapping[str, Any]]) -> None:
        """:meth:`_insert_record` for many rows in one statement (the same rule for repeats)."""
        before = db.total_changes
        db.executemany(_INSERT_RECORD, [tuple(row.get(column) for column in _INSERT_FIELDS) for row in rows])
        if db.total_changes - before < len(rows):  # some were recorded before: they must be identical
            for row in rows:
                _check_repeat(db, row["kind"], row["record_id"], row["payload"])

    # plans

    def save_plan(self, plan: dict[str, Any]) -> None:
        _required(plan, "plan", "plan_id", "schedule_id", "generated_at")
        generated = _col(plan["generated_at"], "plan generated_at")
        payload = canonical_json(plan)
        with self._write() as db:
            row = db.execute(
                "SELECT schedule_id FROM records WHERE kind = 'plan' AND id = ?", (plan["plan_id"],)
            ).fetchone()
            if row is not None and row[0] != plan["schedule_id"]:
                raise StoreError(f"plan {plan['plan_id']} is already recorded for schedule {row[0]}")
            self._insert_record(
                db,
                kind="plan",
                record_id=plan["plan_id"],
                payload=payload,
                recorded_at=generated,
                schedule_id=plan["schedule_id"],
                outcome=plan.get("status"),
                occurrence=plan.get("occurrence"),
                plan_id=plan["plan_id"],
            )
            db.execute(
                "INSERT INTO plan_heads (schedule_id, plan_id, generated_at) VALUES (?, ?, ?)"
                " ON CONFLICT (schedule_id) DO UPDATE SET plan_id = excluded.plan_id,"
                " generated_at = excluded.generated_at WHERE excluded.generated_at >= plan_heads.generated_at",
                (plan["schedule_id"], plan["plan_id"], generated),
            )

    def get_plan(self, plan_id: str) -> dict[str, Any] | None:
        with self._read() as db:
            row = db.execute("SELECT payload FROM records WHERE kind = 'plan' AND id = ?", (plan_id,)).fetchone()
        return None if row is None else dict(json.loads(row[0]))

    def get_record(self, record_id: str) -> dict[str, Any] | None:
        """One record of any kind by its id (plan id, evidence id, ack id, escalation plan id)."""
        with self._read() as db:
            row = db.execute(
                "SELECT seq, kind, id, schedule_id, provider, outcome, recorded_at, payload FROM records "
                "WHERE kind IN ('plan', 'delivery', 'ack', 'escalation_plan') AND id = ? ORDER BY seq DESC LIMIT 1",
                (record_id,),
            ).fetchone()
        return None if row is None else _record(row)

    def latest_plan(self, schedule_id: str) -> dict[str, Any] | None:
        with self._read() as db:
            row = db.execute(
                "SELECT r.payload FROM plan_heads h JOIN records r ON r.kind = 'plan' AND r.id = h.plan_id"
                " WHERE h.schedule_id = ?",
                (schedule_id,),
            ).fetchone()
        return None if row is None else dict(json.loads(row[0]))

    def latest_plans(self) -> list[dict[str, Any]]:
        with self._read() as db:
            rows = db.execute(
                "SELECT r.payload FROM plan_heads h JOIN records r ON r.kind = 'plan' AND r.id = h.plan_id"
                " ORDER BY h.schedule_id"
            ).fetchall()
        return [dict(json.loads(r[0])) for r in rows]

    # notification log

    def claim(
        self,
        *,
        occurrence: str,
        route_key: str,
        connector: str,
        delivery_key: str,
        now: datetime,
        repeat_interval: timedelta,
        force: bool,
        lease_seconds: float,
    ) -> ClaimResult:
        claim = RouteClaim(occurrence, route_key, connector, delivery_key)
        return self.claim_many(
            [claim], now=now, repeat_interval=repeat_interval, force=force, lease_seconds=lease_seconds
        )[0]

    def claim_many(
        self,
        claims: Sequence[RouteClaim],
        *,
        now: datetime,
        repeat_interval: timedelta,
        force: bool,
        lease_seconds: float,
    ) -> list[ClaimResult]:
        """Record the intent to send each route before it is sent, all in one transaction.

        ``send``: first claim, or a new notification after the repeat interval (or ``force``);
        ``settle``: an earlier claim's lease expired without an outcome, send again with the same key;
        ``in_flight``: another run holds a live lease; ``already_delivered``: within the repeat interval.
        """
        now_utc = to_utc(now, "now")
        now_s = _col(now_utc)
        lease = _col(now_utc + timedelta(seconds=lease_seconds))
        with self._write() as db:
            return [self._claim(db, c, now_utc, now_s, lease, repeat_interval, force) for c in claims]

    def _claim(
        self,
        db: sqlite3.Connection,
        claim: RouteClaim,
        now_utc: datetime,
        now_s: str,
        lease: str,
        repeat_interval: timedelta,
        force: bool,
    ) -> ClaimResult:
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

    def complete(
        self, *, occurrence: str, route_key: str, connector: str, outcome: str, completed_at: datetime
    ) -> None:
        with self._write() as db:
            self._complete(db, (occurrence, route_key, connector), outcome, completed_at)

    def _complete(
        self, db: sqlite3.Connection, key: tuple[str, str, str], outcome: str, completed_at: Timestamp
    ) -> None:
        db.execute(_SETTLE, _settlement(key, outcome, completed_at))

    def record_deliveries(self, evidences: Sequence[dict[str, Any]]) -> None:
        """Each route's evidence and its outcome in the notification log, all in one transaction."""
        rows, settlements = [], []
        for evidence in evidences:
            rows.append(self._evidence_row(evidence)[1])
            key = (evidence["occurrence"], evidence["route_key"], evidence["connector"])
            settlements.append(_settlement(key, evidence["outcome"], evidence["completed_at"]))
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

    def _evidence_row(self, evidence: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        if "evidence_id" not in evidence:
            evidence = {**evidence, "evidence_id": f"ev-{uuid.uuid4().hex}"}
        _required(evidence, "delivery evidence", "evidence_id", "schedule_id", "route_key", "outcome")
        when = evidence.get("completed_at") or evidence.get("started_at") or datetime.now(UTC)
        fields = {
            "kind": "delivery",
            "record_id": evidence["evidence_id"],
            "payload": canonical_json(evidence),
            "recorded_at": _col(when, "evidence completed_at"),
            "schedule_id": evidence["schedule_id"],
            "provider": evidence.get("provider"),
            "connector": evidence.get("connector"),
            "outcome": evidence["outcome"],
            "failure_class": evidence.get("failure_class"),
            "occurrence": evidence.get("occurrence"),
            "route_key": evidence["route_key"],
            "plan_id": evidence.get("plan_id"),
        }
        return evidence["evidence_id"], fields

    def save_evidence(self, evidence: dict[str, Any]) -> str:
        evidence_id, fields = self._evidence_row(evidence)
        with self._write() as db:
            self._insert_record(db, **fields)
        return evidence_id

    def save_evidence_batch(self, evidences: Iterable[dict[str, Any]]) -> list[str]:
        """Many evidence records in one transaction (imports, benchmarks)."""
        prepared = [self._evidence_row(e) for e in evidences]
        with self._write() as db:
            self._insert_records(db, [fields for _, fields in prepared])
        return [evidence_id for evidence_id, _ in prepared]

    def last_deliveries(self, schedule_id: str, occurrence: str) -> dict[str, datetime]:
        """route_key -> time of its latest successful delivery evidence in that occurrence."""
        with self._read() as db:
            rows = db.execute(
                "SELECT route_key, MAX(recorded_at) FROM records WHERE schedule_id = ? AND occurrence = ?"
                " AND kind = 'delivery' AND outcome IN ('delivered', 'accepted') GROUP BY route_key",
                (schedule_id, occurrence),
            ).fetchall()
        return {route_key: to_utc(at) for route_key, at in rows}

    # acknowledgements

    def save_ack(self, ack: dict[str, Any]) -> str:
        _required(ack, "acknowledgement", "schedule_id", "provider", "state", "acknowledged_at")
        payload = canonical_json(ack)
        ack_id = f"ack-{sha256_hex(payload)[:32]}"
        with self._write() as db:
            self._insert_record(
                db,
                kind="ack",
                record_id=ack_id,
                payload=payload,
                recorded_at=_col(ack["acknowledged_at"], "acknowledged_at"),
                schedule_id=ack["schedule_id"],
                provider=ack["provider"],
                outcome=ack["state"],
                plan_id=ack.get("plan_id"),
            )
        return ack_id

    def acks(self, schedule_id: str | None = None) -> list[dict[str, Any]]:
        sql = "SELECT payload FROM records WHERE kind = 'ack'"
        args: tuple[str, ...] = ()
        if schedule_id is not None:
            sql, args = sql + " AND schedule_id = ?", (schedule_id,)
        with self._read() as db:
            rows = db.execute(sql + " ORDER BY recorded_at, seq", args).fetchall()
        return [dict(json.loads(r[0])) for r in rows]

    # escalation plans

    def save_escalation_plan(self, plan: dict[str, Any]) -> None:
        _required(plan, "escalation plan", "generated_at")
        payload = canonical_json(plan)
        schedules = sorted(
            {s["schedule_id"] for s in plan.get("schedules", []) if isinstance(s, dict) and s.get("schedule_id")}
        )
        with self._write() as db:
            seq = self._insert_record(
                db,
                kind="escalation_plan",
                record_id=f"esc-{sha256_hex(payload)[:32]}",
                payload=payload,
                recorded_at=_col(plan["generated_at"], "escalation plan generated_at"),
                outcome=plan.get("alert_level"),
            )
            if seq is not None:
                db.executemany(
                    "INSERT INTO record_schedules (schedule_id, seq) VALUES (?, ?)",
                    [(sid, seq) for sid in schedules],
                )

    # history, dashboard, export

    def _history_sql(
        self,
        *,
        schedule_id: str | None,
        provider: str | None,
        kind: str | None,
        outcome: str | None,
        since: Timestamp | None,
        until: Timestamp | None,
        limit: int,
    ) -> tuple[str, list[Any]]:
        if kind is not None and kind not in KINDS:
            raise InputError(f"unknown evidence kind '{kind}'; expected one of: {', '.join(KINDS)}")
        if limit < 1:
            raise InputError("history limit must be at least 1")
        where: list[str] = []
        args: list[Any] = []
        indexed = schedule_id is not None
        if schedule_id is not None:
            where.append(
                "(schedule_id = ? OR seq IN (SELECT seq FROM record_schedules WHERE schedule_id = ?))"
            )
            args += [schedule_id, schedule_id]
        # Only the most selective filter drives an index (schedule, provider, outcome, kind); the
        # unary + keeps SQLite from switching to a broad index such as kind when it has no statistics.
        if provider is not None:  # a provider plugin's name, or a connector's (deliveries only)
            plus = "+" if indexed else ""
            where.append(f"({plus}provider = ? OR {plus}connector = ?)")
            args += [provider, provider]
            indexed = True
        for column, value in (("outcome", outcome), ("kind", kind)):
            if value is not None:
                where.append(f"{'+' if indexed else ''}{column} = ?")
                args.append(value)
                indexed = True
        if since is not None:
            where.append("recorded_at >= ?")
            args.append(_col(since, "since"))
        if until is not None:
            where.append("recorded_at < ?")
            args.append(_col(until, "until"))
        sql = f"SELECT {_RECORD_COLUMNS} FROM records"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY recorded_at DESC, seq DESC LIMIT ?"
        args.append(limit)
        return sql, args

    def history(
        self,
        *,
        schedule_id: str | None = None,
        provider: str | None = None,
        kind: str | None = None,
        outcome: str | None = None,
        since: Timestamp | None = None,
        until: Timestamp | None = None,
        limit: int = 100,
    ) -> list[dict[str, Any]]:
        """Records newest first; ``outcome`` is the delivery outcome, ack state, plan status or
        escalation alert level; ``until`` is exclusive."""
        sql, args = self._history_sql(
            schedule_id=schedule_id, provider=provider, kind=kind, outcome=outcome,
            since=since, until=until, limit=limit,
        )
        with self._read() as db:
            rows = db.execute(sql, args).fetchall()
        return [_record(row) for row in rows]

    def explain_history(self, **filters: Any) -> list[str]:
        """SQLite's ``EXPLAIN QUERY PLAN`` for a history query (benchmarks, diagnostics)."""
        filters.setdefault("limit", 100)
        for name in ("schedule_id", "provider", "kind", "outcome", "since", "until"):
            filters.setdefault(name, None)
        sql, args = self._history_sql(**filters)
        with self._read() as db:
            return [str(row[3]) for row in db.execute("EXPLAIN QUERY PLAN " + sql, args)]

    def dashboard(self, now: datetime) -> dict[str, Any]:
        from .escalation import compute_escalation

        with self._read() as db:
            counts = db.execute(
                "SELECT kind, outcome, failure_class, COUNT(*) FROM records GROUP BY kind, outcome, failure_class"
            ).fetchall()
            schedules = db.execute("SELECT COUNT(*) FROM plan_heads").fetchone()[0]
            pending = db.execute("SELECT COUNT(*) FROM notification_log WHERE state = 'sending'").fetchone()[0]
        by_outcome: dict[str, int] = {}
        by_class: dict[str, int] = {}
        by_state: dict[str, int] = {}
        plans = 0
        for kind, outcome, failure_class, n in counts:
            if kind == "plan":
                plans += n
            elif kind == "delivery":
                by_outcome[outcome] = by_outcome.get(outcome, 0) + n
                if outcome == "failed":
                    cls = failure_class or "unknown"
                    by_class[cls] = by_class.get(cls, 0) + n
            elif kind == "ack":
                by_state[outcome] = by_state.get(outcome, 0) + n
        escalation = compute_escalation(self, now=now).to_json()
        return {
            "generated_at": iso_z(now),
            "schedules": schedules,
            "plans": plans,
            "deliveries": {"total": sum(by_outcome.values()), "by_outcome": dict(sorted(by_outcome.items()))},
            "failures": {"total": sum(by_class.values()), "by_class": dict(sorted(by_class.items()))},
            "acknowledgements": {"total": sum(by_state.values()), "by_state": dict(sorted(by_state.items()))},
            "pending_intents": pending,
            "alert_level": escalation["alert_level"],
            "outstanding_route_count": escalation["outstanding_route_count"],
            "breached_route_count": escalation["breached_route_count"],
        }

    def export(self, schedule_id: str) -> dict[str, Any]:
        with self._read() as db:
            rows = db.execute(
                f"SELECT {_RECORD_COLUMNS} FROM records WHERE schedule_id = ?"
                " OR seq IN (SELECT seq FROM record_schedules WHERE schedule_id = ?) ORDER BY seq",
                (schedule_id, schedule_id),
            ).fetchall()
        return build_bundle(schedule_id, [_record(row) for row in rows])


def _record(row: tuple[Any, ...]) -> dict[str, Any]:
    _seq, kind, record_id, schedule_id, provider, outcome, recorded_at, payload = row
    return {
        "kind": kind,
        "id": record_id,
        "schedule_id": schedule_id,
        "provider": provider,
        "outcome": outcome,
        "recorded_at": iso_z(recorded_at),
        "payload": json.loads(payload),
    }


# --- bundles --------------------------------------------------------------------------------

_HASHED_FIELDS = ("kind", "id", "schedule_id", "provider", "outcome", "recorded_at", "payload")


def content_hash(record: Mapping[str, Any]) -> str:
    return sha256_hex(canonical_json({name: record.get(name) for name in _HASHED_FIELDS}))


def chain_step(previous: str, content: str) -> str:
    return sha256_hex(previous + content)


def build_bundle(schedule_id: str, records: list[dict[str, Any]]) -> dict[str, Any]:
    chain = GENESIS_HASH
    out: list[dict[str, Any]] = []
    for index, record in enumerate(records):
        digest = content_hash(record)
        chain = chain_step(chain, digest)
        out.append({"index": index, **record, "content_hash": digest, "chain_hash": chain})
    return {
        "schema_version": BUNDLE_SCHEMA,
        "schedule_id": schedule_id,
        "exported_at": iso_z(datetime.now(UTC)),
        "hash_algorithm": "sha256",
        "canonical_json": "UTF-8 JSON, keys sorted, separators ',' and ':', no NaN",
        "genesis_hash": GENESIS_HASH,
        "record_count": len(out),
        "records": out,
        "chain_hash": chain,
    }


def verify_bundle(bundle: Any) -> list[str]:
    """Problems found in an exported bundle, one line each; an empty list means intact."""
    if not isinstance(bundle, dict):
        return ["bundle is not a JSON object"]
    problems: list[str] = []
    if bundle.get("schema_version") != BUNDLE_SCHEMA:
        problems.append(f"schema_version is not {BUNDLE_SCHEMA}")
    records = bundle.get("records")
    if not isinstance(records, list):
        return [*problems, "bundle has no 'records' list"]
    if bundle.get("record_count") != len(records):
        problems.append(
            f"record_count says {bundle.get('record_count')} but the bundle holds {len(records)} records"
        )
    previous = str(bundle.get("genesis_hash", GENESIS_HASH))
    for position, record in enumerate(records):
        if not isinstance(record, dict):
            problems.append(f"record {position}: not a JSON object")
            continue
        label = f"record {position} ({record.get('kind')} {record.get('id')})"
        if record.get("index") != position:
            problems.append(
                f"{label}: index is {record.get('index')}, expected {position} "
                "(a record was removed, inserted or reordered)"
            )
        try:
            digest = content_hash(record)
        except InputError:
            problems.append(f"{label}: content is not canonical JSON")
            continue
        if record.get("content_hash") != digest:
            problems.append(f"{label}: content hash mismatch (the record was altered)")
        stated = str(record.get("content_hash"))
        if record.get("chain_hash") != chain_step(previous, stated):
            problems.append(f"{label}: chain hash mismatch (a record before it was removed, inserted or changed)")
        previous = str(record.get("chain_hash"))
    if bundle.get("chain_hash") != previous:
        problems.append("bundle chain_hash does not match the last record (records removed or appended)")
    return problems
