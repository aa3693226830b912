"""The evidence store's schema as numbered migrations, applied in order inside one transaction.

A store records the versions applied in ``schema_version``; a store newer than this code is refused.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime

from ..errors import StoreError
from .codec import col

_RECORDS_V1 = """CREATE TABLE records (
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
                UNIQUE (kind, id))"""
_INDEXES_V1 = (
    "CREATE INDEX idx_records_recorded ON records (recorded_at)",
    "CREATE INDEX idx_records_schedule ON records (schedule_id, recorded_at)",
    "CREATE INDEX idx_records_provider ON records (provider, recorded_at)",
    "CREATE INDEX idx_records_kind ON records (kind, recorded_at)",
    "CREATE INDEX idx_records_outcome ON records (outcome, recorded_at)",
    "CREATE INDEX idx_records_counts ON records (kind, outcome, failure_class)",
    "CREATE INDEX idx_records_route ON records (schedule_id, occurrence, kind, outcome, route_key, recorded_at)",
)
_CONNECTOR_INDEX = "CREATE INDEX idx_records_connector ON records (connector, recorded_at)"
_COUNT_TRIGGER = """CREATE TRIGGER records_counted AFTER INSERT ON records BEGIN
                INSERT INTO record_counts (kind, outcome, failure_class, n)
                VALUES (NEW.kind, COALESCE(NEW.outcome, ''), COALESCE(NEW.failure_class, ''), 1)
                ON CONFLICT (kind, outcome, failure_class) DO UPDATE SET n = n + 1;
            END"""
_ROUTE_TRIGGER = """CREATE TRIGGER records_route_delivered AFTER INSERT ON records
            WHEN NEW.kind = 'delivery' AND NEW.outcome IN ('delivered', 'accepted') AND NEW.schedule_id IS NOT NULL
                AND NEW.occurrence IS NOT NULL AND NEW.route_key IS NOT NULL
            BEGIN
                INSERT INTO route_deliveries (schedule_id, occurrence, route_key, delivered_at)
                VALUES (NEW.schedule_id, NEW.occurrence, NEW.route_key, NEW.recorded_at)
                ON CONFLICT (schedule_id, occurrence, route_key)
                DO UPDATE SET delivered_at = MAX(delivered_at, excluded.delivered_at);
            END"""
_RETRY_KINDS = "'retry_plan', 'retry_approval', 'retry_execution', 'recovery_playbook', 'recovery_closure'"
_COLUMNS = ("seq, kind, id, schedule_id, provider, outcome, failure_class, occurrence, route_key, plan_id,"
            " recorded_at, payload, connector")

MIGRATIONS: tuple[tuple[int, tuple[str, ...]], ...] = (
    (
        1,
        (
            _RECORDS_V1,
            *_INDEXES_V1,
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
            _CONNECTOR_INDEX,
        ),
    ),
    (
        3,
        (  # the dashboard's counts, maintained on insert so that reading them does not grow with the store
            """CREATE TABLE record_counts (
                kind TEXT NOT NULL,
                outcome TEXT NOT NULL,
                failure_class TEXT NOT NULL,
                n INTEGER NOT NULL,
                PRIMARY KEY (kind, outcome, failure_class))""",
            "INSERT INTO record_counts (kind, outcome, failure_class, n) SELECT kind, COALESCE(outcome, ''),"
            " COALESCE(failure_class, ''), COUNT(*) FROM records GROUP BY 1, 2, 3",
            _COUNT_TRIGGER,
        ),
    ),
    (
        4,  # a fifth record kind: escalation deliveries. SQLite cannot widen a CHECK in place, so the
        (   # table is rebuilt (record_schedules is parked meanwhile: it references records)
            _RECORDS_V1.replace("CREATE TABLE records", "CREATE TABLE records_v4").replace(
                "'escalation_plan')", "'escalation_plan', 'escalation')").replace(
                "payload TEXT NOT NULL,", "payload TEXT NOT NULL,\n                connector TEXT,"),
            f"INSERT INTO records_v4 ({_COLUMNS}) SELECT {_COLUMNS} FROM records",
            "CREATE TABLE record_schedules_v4 AS SELECT schedule_id, seq FROM record_schedules",
            "DELETE FROM record_schedules",
            "DROP TABLE records",
            "ALTER TABLE records_v4 RENAME TO records",
            "INSERT INTO record_schedules (schedule_id, seq) SELECT schedule_id, seq FROM record_schedules_v4",
            "DROP TABLE record_schedules_v4",
            *_INDEXES_V1,
            _CONNECTOR_INDEX,
            _COUNT_TRIGGER,  # dropped with the old table; the copied rows were counted already
        ),
    ),
    (
        5,
        (  # each route's latest successful delivery per occurrence, for escalation and the dashboard
            """CREATE TABLE route_deliveries (
                schedule_id TEXT NOT NULL,
                occurrence TEXT NOT NULL,
                route_key TEXT NOT NULL,
                delivered_at TEXT NOT NULL,
                PRIMARY KEY (schedule_id, occurrence, route_key))""",
            "INSERT INTO route_deliveries (schedule_id, occurrence, route_key, delivered_at)"
            " SELECT schedule_id, occurrence, route_key, MAX(recorded_at) FROM records WHERE kind = 'delivery'"
            " AND outcome IN ('delivered', 'accepted') AND schedule_id IS NOT NULL AND occurrence IS NOT NULL"
            " AND route_key IS NOT NULL GROUP BY 1, 2, 3",
            _ROUTE_TRIGGER,
        ),
    ),
    (
        6,  # retry plans, approvals, executions, recovery playbooks and closures (docs/retries.md): the
        (   # records table is rebuilt with the wider kind check, as in version 4; its triggers go with it
            _RECORDS_V1.replace("CREATE TABLE records", "CREATE TABLE records_v6").replace(
                "'escalation_plan')", "'escalation_plan', 'escalation', " + _RETRY_KINDS + ")").replace(
                "payload TEXT NOT NULL,", "payload TEXT NOT NULL,\n                connector TEXT,"),
            f"INSERT INTO records_v6 ({_COLUMNS}) SELECT {_COLUMNS} FROM records",
            "CREATE TABLE record_schedules_v6 AS SELECT schedule_id, seq FROM record_schedules",
            "DELETE FROM record_schedules",
            "DROP TABLE records",
            "ALTER TABLE records_v6 RENAME TO records",
            "INSERT INTO record_schedules (schedule_id, seq) SELECT schedule_id, seq FROM record_schedules_v6",
            "DROP TABLE record_schedules_v6",
            *_INDEXES_V1,
            _CONNECTOR_INDEX,
            _COUNT_TRIGGER,  # dropped with the old table; the copied rows were counted already
            _ROUTE_TRIGGER,  # likewise: route_deliveries already holds the copied rows' deliveries
            # an approval is used once: the worker claims it here before it sends anything
            """CREATE TABLE approval_uses (
                approval_id TEXT PRIMARY KEY,
                worker_run_id TEXT NOT NULL,
                used_at TEXT NOT NULL)""",
        ),
    ),
)
SCHEMA_VERSION = MIGRATIONS[-1][0]


def migrate(db: sqlite3.Connection, label: str) -> None:
    """Bring the store at ``label`` to :data:`SCHEMA_VERSION` (call inside a write transaction)."""
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if "schema_version" not in tables:
        if any(not t.startswith("sqlite_") for t in tables):
            raise StoreError(f"{label} is an SQLite database but not a cavra-notify evidence store")
        db.execute("CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)")
        current = 0
    else:
        current = db.execute("SELECT COALESCE(MAX(version), 0) FROM schema_version").fetchone()[0]
    check_version(current, label)
    for version, statements in MIGRATIONS:
        if version <= current:
            continue
        for statement in statements:
            db.execute(statement)
        db.execute("INSERT INTO schema_version (version, applied_at) VALUES (?, ?)",
                   (version, col(datetime.now(UTC))))


def check_version(current: int, label: str) -> None:
    if current > SCHEMA_VERSION:
        raise StoreError(
            f"evidence store {label} has schema version {current}, newer than this "
            f"cavra-notify supports ({SCHEMA_VERSION}); upgrade cavra-notify"
        )
