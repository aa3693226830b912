"""The PostgreSQL dialect of :mod:`.schema`: the same tables, versions and rules.

Migrations run inside one transaction under an advisory lock, so replicas starting together apply
each version once. Timestamps stay fixed-width UTC text and payloads canonical JSON text, so records
and bundles are byte-identical to SQLite's.
"""

from __future__ import annotations

from typing import Any

from .codec import col
from .protocol import to_utc
from .schema import SCHEMA_VERSION, check_version

MIGRATION_LOCK = 0x6361767261  # "cavra": the advisory lock key migrations hold
MIGRATIONS: tuple[tuple[int, tuple[str, ...]], ...] = (
    (
        1,
        (
            """CREATE TABLE records (
                seq BIGSERIAL PRIMARY KEY,
                kind TEXT NOT NULL CHECK (kind IN ('plan', 'delivery', 'ack', 'escalation_plan')),
                id TEXT NOT NULL, schedule_id TEXT, provider TEXT, outcome TEXT, failure_class TEXT,
                occurrence TEXT, route_key TEXT, plan_id TEXT, recorded_at TEXT NOT NULL, payload TEXT NOT NULL,
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
                schedule_id TEXT NOT NULL, seq BIGINT NOT NULL REFERENCES records (seq),
                PRIMARY KEY (schedule_id, seq))""",
            "CREATE TABLE plan_heads (schedule_id TEXT PRIMARY KEY, plan_id TEXT NOT NULL, generated_at TEXT NOT NULL)",
            """CREATE TABLE notification_log (
                occurrence TEXT NOT NULL, route_key TEXT NOT NULL, connector TEXT NOT NULL,
                delivery_key TEXT NOT NULL,
                state TEXT NOT NULL CHECK (state IN ('sending', 'delivered', 'failed')),
                claims INTEGER NOT NULL, claimed_at TEXT NOT NULL, lease_until TEXT, delivered_at TEXT,
                outcome TEXT, completed_at TEXT,
                PRIMARY KEY (occurrence, route_key, connector))""",
            "CREATE INDEX idx_log_state ON notification_log (state)",
        ),
    ),
    (
        2,
        (
            "ALTER TABLE records ADD COLUMN connector TEXT",
            "UPDATE records SET connector = payload::jsonb ->> 'connector' WHERE kind = 'delivery'",
            "CREATE INDEX idx_records_connector ON records (connector, recorded_at)",
        ),
    ),
    (
        3,
        (
            """CREATE TABLE record_counts (
                kind TEXT NOT NULL, outcome TEXT NOT NULL, failure_class TEXT NOT NULL, n BIGINT NOT NULL,
                PRIMARY KEY (kind, outcome, failure_class))""",
            "INSERT INTO record_counts (kind, outcome, failure_class, n) SELECT kind, COALESCE(outcome, ''),"
            " COALESCE(failure_class, ''), COUNT(*) FROM records GROUP BY 1, 2, 3",
            """CREATE FUNCTION cavra_count_record() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                INSERT INTO record_counts (kind, outcome, failure_class, n)
                VALUES (NEW.kind, COALESCE(NEW.outcome, ''), COALESCE(NEW.failure_class, ''), 1)
                ON CONFLICT (kind, outcome, failure_class) DO UPDATE SET n = record_counts.n + 1;
                RETURN NULL;
            END $$""",
            "CREATE TRIGGER records_counted AFTER INSERT ON records FOR EACH ROW EXECUTE FUNCTION cavra_count_record()",
        ),
    ),
    (
        4,
        (  # a fifth record kind: escalation deliveries (a CHECK is widened by dropping and re-adding it)
            "ALTER TABLE records DROP CONSTRAINT records_kind_check",
            "ALTER TABLE records ADD CONSTRAINT records_kind_check"
            " CHECK (kind IN ('plan', 'delivery', 'ack', 'escalation_plan', 'escalation'))",
        ),
    ),
    (
        5,
        (  # each route's latest successful delivery per occurrence, for escalation and the dashboard
            """CREATE TABLE route_deliveries (
                schedule_id TEXT NOT NULL, occurrence TEXT NOT NULL, route_key TEXT NOT NULL,
                delivered_at TEXT NOT NULL, PRIMARY KEY (schedule_id, occurrence, route_key))""",
            "INSERT INTO route_deliveries (schedule_id, occurrence, route_key, delivered_at)"
            " SELECT schedule_id, occurrence, route_key, MAX(recorded_at) FROM records WHERE kind = 'delivery'"
            " AND outcome IN ('delivered', 'accepted') AND schedule_id IS NOT NULL AND occurrence IS NOT NULL"
            " AND route_key IS NOT NULL GROUP BY 1, 2, 3",
            """CREATE FUNCTION cavra_route_delivered() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                INSERT INTO route_deliveries (schedule_id, occurrence, route_key, delivered_at)
                VALUES (NEW.schedule_id, NEW.occurrence, NEW.route_key, NEW.recorded_at)
                ON CONFLICT (schedule_id, occurrence, route_key)
                DO UPDATE SET delivered_at = GREATEST(route_deliveries.delivered_at, excluded.delivered_at);
                RETURN NULL;
            END $$""",
            "CREATE TRIGGER records_route_delivered AFTER INSERT ON records FOR EACH ROW WHEN (NEW.kind = 'delivery'"
            " AND NEW.outcome IN ('delivered', 'accepted') AND NEW.schedule_id IS NOT NULL"
            " AND NEW.occurrence IS NOT NULL AND NEW.route_key IS NOT NULL) EXECUTE FUNCTION cavra_route_delivered()",
        ),
    ),
    (
        6,
        (  # retry plans, approvals, executions, recovery playbooks and closures (docs/retries.md)
            "ALTER TABLE records DROP CONSTRAINT records_kind_check",
            "ALTER TABLE records ADD CONSTRAINT records_kind_check CHECK (kind IN ('plan', 'delivery', 'ack',"
            " 'escalation_plan', 'escalation', 'retry_plan', 'retry_approval', 'retry_execution',"
            " 'recovery_playbook', 'recovery_closure'))",
            "CREATE TABLE approval_uses (approval_id TEXT PRIMARY KEY, worker_run_id TEXT NOT NULL,"
            " used_at TEXT NOT NULL)",
        ),
    ),
)
assert MIGRATIONS[-1][0] == SCHEMA_VERSION, "both dialects have the same versions"

CLOCK_SQL = "SELECT clock_timestamp()"


def current_version(cur: Any) -> int:
    cur.execute("SELECT to_regclass('schema_version') IS NOT NULL, to_regclass('records') IS NOT NULL")
    has_versions, has_records = cur.fetchone()
    if not has_versions:
        return -1 if has_records else 0
    cur.execute("SELECT COALESCE(MAX(version), 0) FROM schema_version")
    return int(cur.fetchone()[0])


def migrate(cur: Any, label: str) -> list[int]:
    """Bring the database to :data:`SCHEMA_VERSION` (inside a transaction); the versions applied."""
    from ..errors import StoreError

    cur.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
    current = current_version(cur)
    if current < 0:
        raise StoreError(f"{label} has a 'records' table but is not a cavra-notify evidence store")
    check_version(current, label)
    if current == 0:
        cur.execute("CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)")
    applied = []
    for version, statements in MIGRATIONS:
        if version <= current:
            continue
        for statement in statements:
            cur.execute(statement)
        cur.execute(CLOCK_SQL)
        cur.execute("INSERT INTO schema_version (version, applied_at) VALUES (%s, %s)",
                    (version, col(to_utc(cur.fetchone()[0]))))
        applied.append(version)
    return applied
