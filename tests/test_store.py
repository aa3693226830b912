"""Evidence store: notification-log claims, crash settlement, cross-process atomicity, open errors,
history filters, export bundles and their verification."""

from __future__ import annotations

import copy
import json
import multiprocessing
import os
import re
import signal
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from cavra_notify.dashboard import build_dashboard
from cavra_notify.errors import InputError, StoreError
from cavra_notify.store import (
    DEFAULT_DB_ENV,
    SCHEMA_VERSION,
    EvidenceStore,
    Filed,
    RouteClaim,
    SQLiteStore,
    default_db_path,
    open_store,
    verify_bundle,
)

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
DAY = timedelta(hours=24)


@pytest.fixture
def store(evidence_db: str) -> Any:
    """An empty store on each backend (SQLite, PostgreSQL)."""
    s = open_store(evidence_db)
    yield s
    s.close()


def claim(store: SQLiteStore, now: datetime, *, key: str = "r1", connector: str = "slack-main",
          delivery_key: str = "dk-1", force: bool = False, lease: float = 60) -> str:
    """A claim at ``now``, with the store's own clock (that leases run on) set to the same time."""
    store.clock = lambda: now
    return store.claim(occurrence="sched-a@2025-03-10", route_key=key, connector=connector,
                       delivery_key=delivery_key, now=now, repeat_interval=DAY, force=force,
                       lease_seconds=lease)


def complete(store: SQLiteStore, at: datetime, outcome: str = "delivered", *, key: str = "r1",
             connector: str = "slack-main") -> None:
    store.complete(occurrence="sched-a@2025-03-10", route_key=key, connector=connector, outcome=outcome,
                   completed_at=at)


def plan(schedule_id: str, generated_at: datetime, *, plan_id: str | None = None,
         occurrence: str = "occ-1") -> dict[str, Any]:
    return {
        "schema_version": "cavra.go-backend-pilot.rollback-drill-notification-plan.v1",
        "plan_id": plan_id or f"plan-{schedule_id}-{generated_at:%H%M%S}",
        "schedule_id": schedule_id,
        "occurrence": occurrence,
        "generated_at": generated_at.isoformat().replace("+00:00", "Z"),
        "status": "due_soon",
        "alert_level": "warning",
        "next_due_at": "2025-03-10T00:00:00Z",
        "route_decisions": [
            {"route": {"route_key": f"{schedule_id}:ops:slack", "owner": "ops", "provider": "slack",
                       "acknowledgement_minutes": 30, "escalation_owner": "ops-lead"},
             "action": "deliver", "category": None, "reason": "due"},
        ],
    }


def evidence(schedule_id: str, n: int, at: datetime, *, provider: str = "slack", outcome: str = "delivered",
             failure_class: str | None = None, occurrence: str = "occ-1") -> dict[str, Any]:
    return {
        "metadata_kind": "release-connector-delivery",
        "connector_delivery_source": "go_backend_rollback_drill_notification",
        "evidence_id": f"ev-{schedule_id}-{provider}-{n}",
        "event_id": f"evt-{n}",
        "plan_id": f"plan-{schedule_id}",
        "schedule_id": schedule_id,
        "occurrence": occurrence,
        "route_key": f"{schedule_id}:ops:{provider}",
        "provider": provider,
        "connector": f"{provider}-main",
        "outcome": outcome,
        "status_code": 200 if outcome != "failed" else 503,
        "attempts": [{"at": at.isoformat(), "class": failure_class, "status": 200}],
        "started_at": at.isoformat(),
        "completed_at": at.isoformat(),
        "receipt": {"channel": "C123", "ts": "1700000000.000100"},
        "target": "https://127.0.0.1",
        "failure_class": failure_class,
        "error": None,
    }


# --- claim state machine -----------------------------------------------------------------------


def test_first_claim_sends_and_records_intent(store: SQLiteStore) -> None:
    assert claim(store, T0) == "send"
    [intent] = store.pending_intents()
    assert intent["route_key"] == "r1" and intent["delivery_key"] == "dk-1" and intent["claims"] == 1
    assert intent["lease_until"] == "2025-03-01T09:01:00.000000Z"


def test_claim_while_lease_held_is_in_flight(store: SQLiteStore) -> None:
    assert claim(store, T0) == "send"
    assert claim(store, T0 + timedelta(seconds=59), delivery_key="dk-other") == "in_flight"
    assert store.pending_intents()[0]["delivery_key"] == "dk-1"


def test_expired_lease_settles_once_with_original_delivery_key(store: SQLiteStore) -> None:
    assert claim(store, T0) == "send"
    assert claim(store, T0 + timedelta(seconds=60), delivery_key="dk-new") == "settle"
    [intent] = store.pending_intents()
    assert intent["delivery_key"] == "dk-1" and intent["claims"] == 2
    assert claim(store, T0 + timedelta(seconds=61)) == "in_flight", "the settling run owns a fresh lease"
    complete(store, T0 + timedelta(seconds=62))
    assert store.pending_intents() == []
    assert claim(store, T0 + timedelta(seconds=63)) == "already_delivered"


def test_repeat_interval_and_force(store: SQLiteStore) -> None:
    claim(store, T0)
    complete(store, T0 + timedelta(seconds=5))
    delivered_at = T0 + timedelta(seconds=5)
    assert claim(store, delivered_at + DAY - timedelta(seconds=1)) == "already_delivered"
    assert claim(store, delivered_at, force=True) == "send"
    complete(store, delivered_at + timedelta(seconds=1))
    assert claim(store, delivered_at + timedelta(seconds=1) + DAY) == "send"


def test_failed_outcome_is_sent_again_but_keeps_last_success(store: SQLiteStore) -> None:
    claim(store, T0)
    complete(store, T0, "accepted")
    claim(store, T0, force=True)
    complete(store, T0 + timedelta(minutes=1), "failed")
    assert store.notified_routes("sched-a@2025-03-10").get("r1") == T0
    assert claim(store, T0 + timedelta(minutes=2)) == "send"


def test_last_notified_is_latest_success_across_connectors(store: SQLiteStore) -> None:
    assert store.notified_routes("sched-a@2025-03-10").get("r1") is None
    claim(store, T0, connector="slack-a")
    claim(store, T0, connector="slack-b")
    complete(store, T0 + timedelta(seconds=3), connector="slack-a")
    complete(store, T0 + timedelta(seconds=9), connector="slack-b")
    assert store.notified_routes("sched-a@2025-03-10").get("r1") == T0 + timedelta(seconds=9)
    assert store.notified_routes("other-occurrence").get("r1") is None


def test_claim_rejects_naive_now(store: SQLiteStore) -> None:
    with pytest.raises(InputError, match="no UTC offset"):
        claim(store, datetime(2025, 3, 1, 9, 0))


def test_claim_many_decides_each_route_in_one_transaction(store: SQLiteStore) -> None:
    claim(store, T0, key="held")
    claim(store, T0, key="done")
    complete(store, T0, key="done")
    routes = [RouteClaim("sched-a@2025-03-10", key, "slack-main", f"dk-{key}") for key in ("new", "held", "done")]
    changes = store._conn.total_changes if isinstance(store, SQLiteStore) else 0
    results = store.claim_many(routes, now=T0 + timedelta(seconds=1), repeat_interval=DAY, force=False,
                               lease_seconds=60)
    assert results == ["send", "in_flight", "already_delivered"]
    if isinstance(store, SQLiteStore):
        assert store._conn.total_changes - changes == 1, "only the new route was written"
    assert {i["route_key"] for i in store.pending_intents()} == {"held", "new"}


def test_claim_many_is_all_or_nothing(store: SQLiteStore) -> None:
    routes = [RouteClaim("sched-a@2025-03-10", "r1", "slack-main", "dk-1"),
              RouteClaim("sched-a@2025-03-10", "r2", "slack-main", None)]  # type: ignore[arg-type]
    with pytest.raises(StoreError):
        store.claim_many(routes, now=T0, repeat_interval=DAY, force=False, lease_seconds=60)
    assert store.pending_intents() == [], "the first claim was rolled back with the failed second"


def test_record_deliveries_stores_evidence_and_settles_the_log_together(store: SQLiteStore) -> None:
    for key in ("r1", "r2"):
        claim(store, T0, key=key)
    records = [{"evidence_id": f"ev-{key}", "schedule_id": "sched-a", "occurrence": "sched-a@2025-03-10",
                "route_key": key, "connector": "slack-main", "provider": "slack", "outcome": outcome,
                "completed_at": "2025-03-01T09:00:05Z"} for key, outcome in (("r1", "delivered"), ("r2", "failed"))]
    store.record_deliveries(records)
    assert store.pending_intents() == []
    assert {r["id"]: r["outcome"] for r in store.history(kind="delivery")} == {"ev-r1": "delivered",
                                                                             "ev-r2": "failed"}
    assert store.notified_routes("sched-a@2025-03-10").get("r1") == T0 + timedelta(seconds=5)
    assert store.notified_routes("sched-a@2025-03-10").get("r2") is None
    assert claim(store, T0 + timedelta(seconds=6), key="r1") == "already_delivered"
    assert claim(store, T0 + timedelta(seconds=6), key="r2") == "send"


def _claim_worker(path: str, keys: list[str], barrier: Any, results: Any) -> None:
    s = open_store(path)
    barrier.wait()
    for key in keys:
        results.put((key, claim(s, T0, key=key, lease=300)))
    s.close()


def test_two_processes_claim_each_key_exactly_once(evidence_db: str) -> None:
    path = evidence_db
    open_store(path).close()
    ctx = multiprocessing.get_context("fork")
    barrier, results = ctx.Barrier(2), ctx.Queue()
    keys = [f"route-{i}" for i in range(60)]
    workers = [ctx.Process(target=_claim_worker, args=(path, order, barrier, results))
               for order in (keys, list(reversed(keys)))]
    for w in workers:
        w.start()
    outcomes = [results.get(timeout=60) for _ in range(2 * len(keys))]
    for w in workers:
        w.join(timeout=30)
        assert w.exitcode == 0
    for key in keys:
        mine = sorted(result for k, result in outcomes if k == key)
        assert mine == ["in_flight", "send"], key
    with open_store(path) as after:  # type: ignore[attr-defined]
        assert len(after.pending_intents()) == len(keys)


def _claim_and_die(path: str) -> None:
    s = open_store(path)
    assert claim(s, T0, lease=30) == "send"
    os.kill(os.getpid(), signal.SIGKILL)


def test_intent_survives_a_killed_process_and_is_settled(evidence_db: str) -> None:
    path = evidence_db
    proc = multiprocessing.get_context("fork").Process(target=_claim_and_die, args=(path,))
    proc.start()
    proc.join(timeout=30)
    assert proc.exitcode == -signal.SIGKILL
    s = open_store(path)
    assert [i["route_key"] for i in s.pending_intents()] == ["r1"]
    assert claim(s, T0 + timedelta(seconds=10)) == "in_flight"
    assert claim(s, T0 + timedelta(seconds=30)) == "settle"
    complete(s, T0 + timedelta(seconds=31))
    assert s.pending_intents() == [] and claim(s, T0 + timedelta(seconds=32)) == "already_delivered"


# --- opening -----------------------------------------------------------------------------------


def test_store_is_wal_and_versioned_and_reopens(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "dir" / "evidence.db"
    s = open_store(path)
    assert isinstance(s, EvidenceStore)
    s.save_plan(plan("sched-a", T0))
    s.close()
    raw = sqlite3.connect(path)
    assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert raw.execute("SELECT MAX(version) FROM schema_version").fetchone()[0] == SCHEMA_VERSION
    raw.close()
    with open_store(path) as again:  # type: ignore[attr-defined]
        assert again.latest_plan("sched-a")["plan_id"] == "plan-sched-a-090000"


def test_empty_file_becomes_a_store(tmp_path: Path) -> None:
    path = tmp_path / "empty.db"
    path.touch()
    open_store(path).close()
    assert path.stat().st_size > 0


def test_random_bytes_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "evidence.db"
    path.write_bytes(os.urandom(8192))
    with pytest.raises(StoreError, match=r"is not an SQLite database") as info:
        open_store(path)
    assert "\n" not in str(info.value) and str(path) in str(info.value)


def test_corrupt_pages_behind_a_valid_header_are_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "evidence.db"
    s = open_store(path)
    s.save_plan(plan("sched-a", T0))
    s.close()
    data = bytearray(path.read_bytes())
    data[100:] = os.urandom(len(data) - 100)
    path.write_bytes(bytes(data))
    with pytest.raises(StoreError, match=r"corrupt|not an SQLite database"):
        open_store(path)


def test_truncated_database_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "evidence.db"
    s = open_store(path)
    s.save_evidence_batch(evidence("sched-a", n, T0) for n in range(300))  # type: ignore[attr-defined]
    s.close()
    size = path.stat().st_size
    with path.open("r+b") as fh:
        fh.truncate(size // 2)
    with pytest.raises(StoreError, match=r"is truncated .* restore it from a backup"):
        open_store(path)


def test_tiny_truncated_header_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "evidence.db"
    path.write_bytes(b"SQLite format 3\x00" + b"\x10\x00")
    with pytest.raises(StoreError, match="truncated"):
        open_store(path)


def test_directory_as_path_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="is a directory, not a database file"):
        open_store(tmp_path)


def test_newer_schema_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "evidence.db"
    open_store(path).close()
    raw = sqlite3.connect(path)
    raw.execute("INSERT INTO schema_version VALUES (?, '2099-01-01T00:00:00Z')", (SCHEMA_VERSION + 6,))
    raw.commit()
    raw.close()
    with pytest.raises(StoreError, match=rf"schema version {SCHEMA_VERSION + 6}, newer .* upgrade cavra-notify"):
        open_store(path)


def test_foreign_sqlite_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    raw = sqlite3.connect(path)
    raw.execute("CREATE TABLE customers (name TEXT)")
    raw.commit()
    raw.close()
    with pytest.raises(StoreError, match="not a cavra-notify evidence store"):
        open_store(path)


@pytest.mark.skipif(os.geteuid() == 0, reason="root can read any file")
def test_unreadable_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "evidence.db"
    open_store(path).close()
    path.chmod(0)
    with pytest.raises(StoreError, match="cannot read evidence store"):
        open_store(path)


def test_postgresql_url_with_a_password_is_refused_without_echoing_it() -> None:
    pytest.importorskip("psycopg")
    password = "pw" + os.urandom(6).hex()
    with pytest.raises(StoreError, match="carries a password: put it in a passfile") as info:
        open_store(f"postgresql://cavra:{password}@127.0.0.1:5432/evidence")
    assert password not in str(info.value) and "postgresql://cavra:***@127.0.0.1:5432/evidence" in str(info.value)


def test_default_path_follows_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(DEFAULT_DB_ENV, raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert default_db_path() == tmp_path / "xdg" / "cavra-notify" / "evidence.db"
    monkeypatch.setenv(DEFAULT_DB_ENV, str(tmp_path / "explicit.db"))
    assert default_db_path() == tmp_path / "explicit.db"
    s = open_store()
    s.close()
    assert (tmp_path / "explicit.db").exists()


# --- plans and evidence --------------------------------------------------------------------------


def test_latest_plan_per_schedule_and_idempotent_save(store: SQLiteStore) -> None:
    store.save_plan(plan("sched-a", T0, plan_id="p1"))
    store.save_plan(plan("sched-a", T0 + timedelta(minutes=5), plan_id="p2"))
    store.save_plan(plan("sched-b", T0, plan_id="p3"))
    store.save_plan(plan("sched-a", T0 + timedelta(minutes=1), plan_id="p1"))
    assert {p["schedule_id"]: p["plan_id"] for p in store.latest_plans()} == {"sched-a": "p2", "sched-b": "p3"}
    store.save_plan(plan("sched-a", T0 + timedelta(minutes=9), plan_id="p1"))
    assert store.latest_plan("sched-a")["plan_id"] == "p1"  # type: ignore[index]
    assert len(store.history(kind="plan")) == 3
    assert store.get_plan("p1")["generated_at"] == "2025-03-01T09:00:00Z"  # type: ignore[index]
    assert store.get_plan("missing") is None


def test_plan_id_cannot_move_between_schedules(store: SQLiteStore) -> None:
    store.save_plan(plan("sched-a", T0, plan_id="p1"))
    with pytest.raises(StoreError, match="already recorded for schedule sched-a"):
        store.save_plan(plan("sched-b", T0, plan_id="p1"))


def test_a_batch_repeating_a_record_must_repeat_it_exactly(store: SQLiteStore) -> None:
    records = [evidence("sched-a", n, T0) for n in range(3)]
    store.save_evidence_batch(records)
    store.save_evidence_batch([*copy.deepcopy(records), evidence("sched-a", 3, T0)])  # repeats are no-ops
    assert len(store.history(kind="delivery")) == 4
    with pytest.raises(StoreError, match="ev-sched-a-slack-1 is already recorded with different content"):
        store.save_evidence_batch([evidence("sched-a", 4, T0), {**records[1], "outcome": "failed"}])
    assert len(store.history(kind="delivery")) == 4, "the whole batch was rolled back"


def test_evidence_is_append_only(store: SQLiteStore) -> None:
    record = evidence("sched-a", 1, T0)
    assert store.save_evidence(record) == "ev-sched-a-slack-1"
    assert store.save_evidence(copy.deepcopy(record)) == "ev-sched-a-slack-1"
    assert len(store.history(kind="delivery")) == 1
    with pytest.raises(StoreError, match="already recorded with different content"):
        store.save_evidence({**record, "outcome": "failed"})
    with pytest.raises(InputError, match="route_key"):
        store.save_evidence({k: v for k, v in record.items() if k != "route_key"})


# --- history -----------------------------------------------------------------------------------


@pytest.fixture
def filled(store: SQLiteStore) -> SQLiteStore:
    store.save_plan(plan("sched-a", T0, plan_id="plan-sched-a"))
    store.save_plan(plan("sched-b", T0, plan_id="plan-sched-b"))
    for n in range(6):
        at = T0 + timedelta(minutes=n)
        store.save_evidence(evidence("sched-a", n, at, provider="slack" if n % 2 else "jira"))
        store.save_evidence(evidence("sched-b", n, at, outcome="failed" if n < 2 else "delivered",
                                     failure_class="rate_limited" if n < 2 else None))
    store.save_ack({"schema_version": "cavra.go-backend-pilot.rollback-drill-notification-ack.v1",
                    "schedule_id": "sched-a", "plan_id": "plan-sched-a", "provider": "slack",
                    "acknowledged_by": "ops", "state": "acknowledged", "external_ref": None, "notes": None,
                    "acknowledged_at": "2025-03-01T10:10:00+01:00"})
    store.save_escalation_plan({"schema_version": "esc", "generated_at": "2025-03-01T09:30:00Z",
                                "alert_level": "warning", "schedules": [{"schedule_id": "sched-a"}],
                                "routes": []})
    return store


def test_history_is_newest_first_with_record_shape(filled: SQLiteStore) -> None:
    records = filled.history()
    assert [r["recorded_at"] for r in records] == sorted((r["recorded_at"] for r in records), reverse=True)
    assert set(records[0]) == {"kind", "id", "schedule_id", "provider", "outcome", "recorded_at", "payload"}
    assert records[0]["kind"] == "escalation_plan" and records[0]["recorded_at"] == "2025-03-01T09:30:00Z"
    assert len(records) == 2 + 12 + 1 + 1


def test_history_filters(filled: SQLiteStore) -> None:
    a = filled.history(schedule_id="sched-a")
    assert {r["kind"] for r in a} == {"plan", "delivery", "ack", "escalation_plan"}
    assert all(r["schedule_id"] in ("sched-a", None) for r in a)
    slack = filled.history(schedule_id="sched-a", provider="slack", kind="delivery")
    assert [r["id"] for r in slack] == ["ev-sched-a-slack-5", "ev-sched-a-slack-3", "ev-sched-a-slack-1"]
    failed = filled.history(kind="delivery", outcome="failed")
    assert {r["id"] for r in failed} == {"ev-sched-b-slack-0", "ev-sched-b-slack-1"}
    assert [r["outcome"] for r in filled.history(kind="ack")] == ["acknowledged"]
    window = filled.history(kind="delivery", since=T0 + timedelta(minutes=2), until="2025-03-01T09:04:00Z")
    assert sorted(r["payload"]["event_id"] for r in window) == ["evt-2", "evt-2", "evt-3", "evt-3"]
    assert len(filled.history(kind="delivery", limit=3)) == 3
    assert filled.history(schedule_id="nope") == []


def test_the_provider_filter_matches_a_connector_name_too(filled: SQLiteStore) -> None:
    by_plugin = filled.history(schedule_id="sched-a", provider="jira", kind="delivery")
    by_connector = filled.history(schedule_id="sched-a", provider="jira-main", kind="delivery")
    assert [r["id"] for r in by_connector] == [r["id"] for r in by_plugin] == [
        "ev-sched-a-jira-4", "ev-sched-a-jira-2", "ev-sched-a-jira-0"]
    assert filled.history(provider="jira-other") == []
    if isinstance(filled, SQLiteStore):
        assert "SCAN records" not in " | ".join(filled.explain_history(provider="jira-main"))


def test_migration_2_fills_the_connector_of_existing_deliveries(tmp_path: Path) -> None:
    path = tmp_path / "evidence.db"
    with open_store(path) as store:
        store.save_evidence(evidence("sched-a", 1, T0, provider="jira"))
    raw = sqlite3.connect(path)  # back to a version-1 store holding that delivery
    raw.executescript("DROP TABLE approval_uses; DROP TRIGGER records_route_delivered; DROP TABLE route_deliveries;"
                      " DROP TRIGGER records_counted; DROP TABLE record_counts;"
                      " DROP INDEX idx_records_connector; ALTER TABLE records DROP COLUMN connector;"
                      " DELETE FROM schema_version WHERE version >= 2;")
    raw.close()
    with open_store(path) as store:
        assert [r["id"] for r in store.history(provider="jira-main")] == ["ev-sched-a-jira-1"]
        assert store.export("sched-a")["records"][0]["provider"] == "jira"
        assert store.counts()["deliveries"] == {"total": 1, "by_outcome": {"delivered": 1}}  # migration 3 backfills
        assert store.last_deliveries("sched-a", "occ-1") == {"sched-a:ops:jira": T0}  # and migration 4


def version_2_sqlite_store(path: Path) -> None:
    """A genuine version-2 store (migrations 1 and 2 only): two deliveries and an escalation plan naming
    sched-a through ``record_schedules``."""
    from cavra_notify.store import codec, schema
    from cavra_notify.store.sql import INSERT_RECORD

    raw = sqlite3.connect(path)
    raw.execute("PRAGMA foreign_keys = ON")
    raw.execute("CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)")
    for version, statements in schema.MIGRATIONS[:2]:
        for statement in statements:
            raw.execute(statement)
        raw.execute("INSERT INTO schema_version VALUES (?, '2025-01-01T00:00:00Z')", (version,))
    for n in range(2):
        row = codec.evidence_row(evidence("sched-a", n, T0 + timedelta(minutes=n)))
        raw.execute(INSERT_RECORD, codec.row_values(row))
    row, schedules = codec.escalation_row({"schema_version": "esc", "generated_at": "2025-03-01T09:30:00Z",
                                           "alert_level": "warning", "schedules": [{"schedule_id": "sched-a"}],
                                           "routes": []})
    seq = raw.execute(INSERT_RECORD, codec.row_values(row)).lastrowid
    raw.executemany("INSERT INTO record_schedules VALUES (?, ?)", [(sid, seq) for sid in schedules])
    raw.commit()
    raw.close()


def escalation_evidence(n: int, at: datetime) -> dict[str, Any]:
    return {**evidence("sched-a", n, at), "evidence_id": f"esc-{n}", "metadata_kind": "release-connector-escalation"}


def test_migrations_3_to_6_bring_a_version_2_store_up_to_date(tmp_path: Path) -> None:
    path = tmp_path / "v2.db"
    version_2_sqlite_store(path)
    raw = sqlite3.connect(path)
    with pytest.raises(sqlite3.IntegrityError, match="CHECK"):  # version 2 knows no escalation kind
        raw.execute("INSERT INTO records (kind, id, recorded_at, payload) VALUES ('escalation', 'x', 'now', '{}')")
    raw.close()
    with open_store(path) as store:
        # 3: the maintained counts, backfilled; 4: the rebuilt table's copied rows are not counted again
        assert store.counts()["deliveries"] == {"total": 2, "by_outcome": {"delivered": 2}}
        assert [r["kind"] for r in store.history(schedule_id="sched-a")] == ["escalation_plan", "delivery", "delivery"]
        store.record_escalations([escalation_evidence(1, T0 + timedelta(hours=1))])  # 4: the escalation kind
        store.save_evidence(evidence("sched-a", 9, T0 + timedelta(hours=2)))
        assert store.counts()["deliveries"]["total"] == 3  # 4 recreated the counting trigger
        assert store.count_history(kind="escalation") == 1
        assert [r["kind"] for r in store.history(schedule_id="sched-a", limit=2)] == ["delivery", "escalation"]
        # 6: the retry kinds and approval uses; the rebuilt table still counts and keeps each route's latest delivery
        assert store.last_deliveries("sched-a", "occ-1")["sched-a:ops:slack"] == T0 + timedelta(hours=2)
        store.save_records([Filed("retry_plan", "rp-1", T0 + timedelta(hours=3), {"retry_plan_id": "rp-1"},
                                  schedule_id="sched-a")])
        assert store.count_history(kind="retry_plan") == 1 and store.counts()["deliveries"]["total"] == 3
        assert store.use_approval("ap-1", "run-1", T0) and not store.use_approval("ap-1", "run-2", T0)
    raw = sqlite3.connect(path)
    versions = [v for (v,) in raw.execute("SELECT version FROM schema_version ORDER BY version")]
    assert versions == [1, 2, 3, 4, 5, 6] and SCHEMA_VERSION == 6
    triggers = {n for (n,) in raw.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")}
    assert triggers == {"records_counted", "records_route_delivered"}
    indexes = {n for (n,) in raw.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'records'"
                                          " AND name LIKE 'idx_%'")}
    assert {"idx_records_route", "idx_records_connector", "idx_records_schedule"} <= indexes
    assert raw.execute("PRAGMA foreign_key_check").fetchall() == []
    raw.close()


def test_delivered_routes_are_each_routes_latest_success(store: SQLiteStore) -> None:
    store.save_evidence(evidence("sched-a", 1, T0))  # slack, by plan-sched-a
    store.save_evidence({**evidence("sched-a", 2, T0 + timedelta(minutes=10)), "plan_id": "plan-b"})
    store.save_evidence({**evidence("sched-a", 3, T0 + timedelta(minutes=20), outcome="failed"), "plan_id": "plan-c"})
    store.save_evidence(evidence("sched-a", 4, T0 + timedelta(minutes=5), provider="jira"))
    store.save_evidence(evidence("sched-a", 5, T0 + timedelta(minutes=30), provider="jira", occurrence="occ-2"))
    store.record_escalations([escalation_evidence(6, T0 + timedelta(minutes=40))])  # not a delivery
    assert store.delivered_routes("sched-a", "occ-1") == [
        ("sched-a:ops:jira", "plan-sched-a", T0 + timedelta(minutes=5)),
        ("sched-a:ops:slack", "plan-b", T0 + timedelta(minutes=10))]
    assert store.delivered_routes("sched-b", "occ-1") == []
    [escalation] = store.escalations("sched-a", "occ-1")
    assert escalation["evidence_id"] == "esc-6" and store.escalations("sched-a", "occ-2") == []


def test_history_pages_and_counts(filled: SQLiteStore) -> None:
    assert filled.count_history() == len(filled.history(limit=1000)) == 16
    assert filled.count_history(kind="delivery") == 12
    everything = [r["id"] for r in filled.history(kind="delivery")]
    pages = [[r["id"] for r in filled.history(kind="delivery", limit=5, offset=o)] for o in (0, 5, 10, 15)]
    assert [len(p) for p in pages] == [5, 5, 2, 0] and sum(pages, []) == everything
    assert filled.count_history(connector="jira-main") == len(filled.history(connector="jira-main")) == 3
    assert filled.count_history(schedule_id="sched-a", connector="slack-main") == 3
    assert filled.history(provider="jira", connector="slack-main") == []
    with pytest.raises(InputError, match="offset"):
        filled.history(offset=-1)


def test_bulk_acknowledgements_are_all_or_nothing(store: SQLiteStore) -> None:
    ack = {"schema_version": "cavra.go-backend-pilot.rollback-drill-notification-ack.v1", "schedule_id": "sched-a",
           "plan_id": "plan-sched-a", "provider": "slack", "acknowledged_by": "ops", "state": "acknowledged",
           "acknowledged_at": "2025-03-01T10:10:00Z"}
    assert store.save_acks([{**ack, "acknowledgement_id": "ack-1"}, {**ack, "acknowledgement_id": "ack-2"}]) == [
        "ack-1", "ack-2"]
    with pytest.raises(StoreError, match="different content"):  # ack-2 again, changed: ack-3 is not kept either
        store.save_acks([{**ack, "acknowledgement_id": "ack-3"},
                         {**ack, "acknowledgement_id": "ack-2", "state": "resolved"}])
    assert [a["acknowledgement_id"] for a in store.acks("sched-a")] == ["ack-1", "ack-2"]


def test_history_rejects_bad_filters(filled: SQLiteStore) -> None:
    with pytest.raises(InputError, match="unknown evidence kind 'deliveries'"):
        filled.history(kind="deliveries")
    with pytest.raises(InputError, match="no UTC offset"):
        filled.history(since="2025-03-01T09:00:00")
    with pytest.raises(InputError, match="limit"):
        filled.history(limit=0)


def test_filtered_history_uses_an_index(filled: SQLiteStore) -> None:
    if not isinstance(filled, SQLiteStore):
        pytest.skip("SQLite's query plans (PostgreSQL chooses its own from statistics)")
    for filters in ({"schedule_id": "sched-a", "kind": "delivery"}, {"provider": "slack"},
                    {"kind": "delivery", "outcome": "failed"}, {"since": T0}):
        steps = " | ".join(filled.explain_history(**filters))
        assert "USING INDEX" in steps or "PRIMARY KEY" in steps, (filters, steps)
        assert "SCAN records" not in steps, (filters, steps)


def test_dashboard_counts(filled: SQLiteStore) -> None:
    board = build_dashboard(filled, T0 + timedelta(hours=2))
    assert board["deliveries"] == {"total": 12, "by_outcome": {"delivered": 10, "failed": 2}}
    assert board["failures"] == {"total": 2, "by_class": {"rate_limited": 2}}
    assert board["acknowledgements"] == {"total": 1, "by_state": {"acknowledged": 1}}
    assert board["schedules"] == 2 and board["plans"] == 2
    # sched-a's jira route is delivered though its plan has no such route: it is outstanding too (issue 16)
    assert board["outstanding_route_count"] == 2 and board["breached_route_count"] == 2
    assert board["alert_level"] == "critical"


# --- export and verify -------------------------------------------------------------------------


def test_export_round_trips_and_verifies(filled: SQLiteStore) -> None:
    bundle = json.loads(json.dumps(filled.export("sched-a")))
    assert bundle["record_count"] == len(bundle["records"]) == 1 + 6 + 1 + 1
    assert [r["index"] for r in bundle["records"]] == list(range(9))
    assert all(len(r["content_hash"]) == 64 for r in bundle["records"])
    assert bundle["chain_hash"] == bundle["records"][-1]["chain_hash"]
    assert verify_bundle(bundle) == []
    assert filled.export("sched-b")["record_count"] == 1 + 6


def test_verify_detects_a_tampered_record(filled: SQLiteStore) -> None:
    bundle = filled.export("sched-a")
    bundle["records"][3]["payload"]["outcome"] = "failed"
    problems = verify_bundle(bundle)
    assert len(problems) == 1 and "record 3" in problems[0] and "content hash mismatch" in problems[0]


def test_verify_detects_a_tampered_record_with_recomputed_hash(filled: SQLiteStore) -> None:
    from cavra_notify.store import content_hash

    bundle = filled.export("sched-a")
    record = bundle["records"][2]
    record["payload"]["receipt"] = {"channel": "C999"}
    record["content_hash"] = content_hash(record)
    problems = verify_bundle(bundle)
    assert any("record 2" in p and "chain hash mismatch" in p for p in problems)


def test_verify_detects_a_removed_record(filled: SQLiteStore) -> None:
    bundle = filled.export("sched-a")
    del bundle["records"][4]
    problems = verify_bundle(bundle)
    assert any("record_count says 9 but the bundle holds 8" in p for p in problems)
    assert any("record 4" in p and "index is 5" in p for p in problems)
    assert any("record 4" in p and "chain hash mismatch" in p for p in problems)


def test_verify_detects_a_removed_last_record(filled: SQLiteStore) -> None:
    bundle = filled.export("sched-a")
    bundle["records"].pop()
    problems = verify_bundle(bundle)
    assert any("record_count" in p for p in problems)
    assert any("chain_hash does not match" in p for p in problems)


def test_verify_rejects_garbage() -> None:
    assert verify_bundle([]) == ["bundle is not a JSON object"]
    assert "bundle has no 'records' list" in verify_bundle({"schema_version": "x"})


def test_the_store_package_and_escalation_import_no_loop() -> None:
    """The store never imports escalation; escalation takes only the protocol from the store package."""
    import ast
    import subprocess
    import sys

    code = "import sys, cavra_notify.store; sys.exit('cavra_notify.escalation' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
    package = Path(__file__).resolve().parents[1] / "cavra_notify"
    tree = ast.parse((package / "escalation.py").read_text())
    from_store = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
                  and node.module and node.module.split(".")[0] == "store"}
    assert from_store == {"store.protocol"}
    for module in (package / "store").glob("*.py"):
        assert not re.search(r"from \.\.escalation|cavra_notify\.escalation", module.read_text()), module.name
        assert len(module.read_text().splitlines()) <= 400, module.name
