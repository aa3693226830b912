"""The evidence store's schema as numbered migrations, applied in order inside one transaction.

A store records the versions applied in ``schema_version``; a store newer than this code is refused.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime

from ..errors import StoreError
from .codec import col

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
    (
        3,
        (  # retry plans, approvals, executions, recovery playbooks and closures (docs/retries.md): the
            # records table is rebuilt with the wider kind check (SQLite cannot alter a CHECK), children first
            """CREATE TABLE records_v3 (
                seq INTEGER PRIMARY KEY AUTOINCREMENT,
                kind TEXT NOT NULL CHECK (kind IN ('plan', 'delivery', 'ack', 'escalation_plan', 'retry_plan',
                    'retry_approval', 'retry_execution', 'recovery_playbook', 'recovery_closure')),
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
                connector TEXT,
                UNIQUE (kind, id))""",
            "INSERT INTO records_v3 (seq, kind, id, schedule_id, provider, outcome, failure_class, occurrence,"
            " route_key, plan_id, recorded_at, payload, connector) SELECT seq, kind, id, schedule_id, provider,"
            " outcome, failure_class, occurrence, route_key, plan_id, recorded_at, payload, connector FROM records",
            """CREATE TABLE record_schedules_v3 (
                schedule_id TEXT NOT NULL,
                seq INTEGER NOT NULL REFERENCES records_v3 (seq),
                PRIMARY KEY (schedule_id, seq)) WITHOUT ROWID""",
            "INSERT INTO record_schedules_v3 (schedule_id, seq) SELECT schedule_id, seq FROM record_schedules",
            "DROP TABLE record_schedules",
            "DROP TABLE records",
            "ALTER TABLE records_v3 RENAME TO records",
            "ALTER TABLE record_schedules_v3 RENAME TO record_schedules",
            "CREATE INDEX idx_records_recorded ON records (recorded_at)",
            "CREATE INDEX idx_records_schedule ON records (schedule_id, recorded_at)",
            "CREATE INDEX idx_records_provider ON records (provider, recorded_at)",
            "CREATE INDEX idx_records_kind ON records (kind, recorded_at)",
            "CREATE INDEX idx_records_outcome ON records (outcome, recorded_at)",
            "CREATE INDEX idx_records_counts ON records (kind, outcome, failure_class)",
            "CREATE INDEX idx_records_route"
            " ON records (schedule_id, occurrence, kind, outcome, route_key, recorded_at)",
            "CREATE INDEX idx_records_connector ON records (connector, recorded_at)",
            # an approval is used once: the worker claims it here before it sends anything
            """CREATE TABLE IF NOT EXISTS approval_uses (
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
