"""The PostgreSQL backend's own cases: the password never in the URL or any message, leases on the
database's clock, read-only opening, and the SQLite-to-PostgreSQL copy (issue 18)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from cavra_notify.errors import StoreError
from cavra_notify.store import Filed, RouteClaim, open_store

from .backends import PASSWORD, PgServer
from .test_store import DAY, T0, evidence, plan

pytest.importorskip("psycopg")


def _schema() -> str:
    return f"t_{uuid.uuid4().hex[:12]}"


def test_the_password_comes_from_a_file_and_never_shows(pg_server: PgServer, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    url = pg_server.tcp_url(_schema())
    monkeypatch.delenv("CAVRA_EVIDENCE_DB_PASSWORD_FILE", raising=False)
    monkeypatch.delenv("PGPASSWORD", raising=False)
    monkeypatch.setenv("PGPASSFILE", str(tmp_path / "none"))
    with pytest.raises(StoreError, match="password") as info:  # the server asks for one
        open_store(url)
    secret = tmp_path / "pg-password"
    secret.write_text("wrong-" + PASSWORD + "\n")
    monkeypatch.setenv("CAVRA_EVIDENCE_DB_PASSWORD_FILE", str(secret))
    with pytest.raises(StoreError, match="authentication failed") as info:
        open_store(url)
    assert PASSWORD not in str(info.value) and str(info.value).count("\n") == 0
    secret.write_text(PASSWORD + "\n")
    with open_store(url) as store:  # type: ignore[attr-defined]
        store.save_plan(plan("sched-a", T0))
        assert store.latest_plan("sched-a")["schedule_id"] == "sched-a"
        assert PASSWORD not in store.label


def test_a_passfile_in_the_url_works(pg_server: PgServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CAVRA_EVIDENCE_DB_PASSWORD_FILE", raising=False)
    passfile = tmp_path / "pgpass"
    passfile.write_text(f"127.0.0.1:{pg_server.port}:*:cavra:{PASSWORD}\n")
    passfile.chmod(0o600)
    with open_store(pg_server.tcp_url(_schema()) + f"&passfile={passfile}") as store:  # type: ignore[attr-defined]
        assert store.counts()["plans"] == 0


def test_leases_run_on_the_database_clock(pg_server: PgServer) -> None:
    with open_store(pg_server.url(_schema())) as store:  # type: ignore[attr-defined]
        claim = [RouteClaim("occ", "r1", "slack-main", "dk-1")]
        long_ago = datetime(2001, 1, 1, tzinfo=UTC)  # the caller's evaluation time shapes nothing about the lease
        assert store.claim_many(claim, now=long_ago, repeat_interval=DAY, force=False, lease_seconds=60) == ["send"]
        [intent] = store.pending_intents()
        lease_until = datetime.fromisoformat(intent["lease_until"])
        assert abs(lease_until - (datetime.now(UTC) + timedelta(seconds=60))) < timedelta(seconds=30)
        later = datetime(2099, 1, 1, tzinfo=UTC)
        assert store.claim_many(claim, now=later, repeat_interval=DAY, force=False,
                                lease_seconds=60) == ["in_flight"]


def test_read_only_opening_writes_nothing(pg_server: PgServer) -> None:
    url = pg_server.url(_schema())
    with pytest.raises(StoreError, match="no cavra-notify evidence store"):
        open_store(url, read_only=True)
    with open_store(url) as store:  # type: ignore[attr-defined]
        store.save_evidence(evidence("sched-a", 1, T0))
    with open_store(url, read_only=True) as reader:  # type: ignore[attr-defined]
        assert [r["kind"] for r in reader.history()] == ["delivery"]
        with pytest.raises(StoreError, match="read-only"):
            reader.save_plan(plan("sched-a", T0))


def test_copy_from_sqlite_keeps_every_record_and_bundle(pg_server: PgServer, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    from cavra_notify.cli import main
    from cavra_notify.escalation import build_escalation_plan
    from cavra_notify.store import verify_bundle

    db = tmp_path / "ev.db"
    with open_store(db) as source:  # type: ignore[attr-defined]
        source.save_plan(plan("sched-a", T0))
        source.claim_many([RouteClaim("occ-1", "sched-a:ops:slack", "slack-main", "dk")], now=T0,
                          repeat_interval=DAY, force=False, lease_seconds=60)
        source.record_deliveries([evidence("sched-a", 1, T0 + timedelta(minutes=1))])
        source.save_evidence(evidence("sched-b", 1, T0))
        build_escalation_plan(source, now=T0 + timedelta(hours=2))
        before = {sid: source.export(sid) for sid in ("sched-a", "sched-b")}
        counts = source.counts()
    url = pg_server.url(_schema())
    assert main(["store", "migrate", "--evidence-db", url]) == 0
    assert "schema version 6" in capsys.readouterr().out
    assert main(["store", "copy", "--from", f"sqlite:{db}", "--to", url, "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["copied"]["records"] == 4 and result["schedules_verified"] == 2
    with open_store(url) as target:  # type: ignore[attr-defined]
        for sid, bundle in before.items():
            after = target.export(sid)
            assert after["records"] == bundle["records"] and verify_bundle(after) == []
        assert target.counts() == counts
        target.save_evidence(evidence("sched-a", 9, T0))  # numbering goes on after the copied records
        assert target.export("sched-a")["records"][-1]["seq"] > before["sched-a"]["records"][-1]["seq"]
    assert main(["store", "copy", "--from", f"sqlite:{db}", "--to", url]) == 5
    assert "is not empty" in capsys.readouterr().err


def test_migrations_3_to_6_bring_a_version_2_database_up_to_date(pg_server: PgServer) -> None:
    import psycopg

    from cavra_notify.store import codec, pg_schema
    from cavra_notify.store.sql import INSERT_RECORD

    url = pg_server.url(_schema())
    with psycopg.connect(url, autocommit=True) as conn, conn.transaction(), conn.cursor() as cur:
        cur.execute("CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)")
        for version, statements in pg_schema.MIGRATIONS[:2]:
            for statement in statements:
                cur.execute(statement)
            cur.execute("INSERT INTO schema_version VALUES (%s, '2025-01-01T00:00:00Z')", (version,))
        for n in range(2):
            row = codec.evidence_row(evidence("sched-a", n, T0 + timedelta(minutes=n)))
            cur.execute(INSERT_RECORD.replace("?", "%s"), codec.row_values(row))
    with psycopg.connect(url, autocommit=True) as conn, pytest.raises(psycopg.errors.CheckViolation):
        conn.execute("INSERT INTO records (kind, id, recorded_at, payload) VALUES ('escalation', 'x', 'now', '{}')")
    with open_store(url) as store:  # type: ignore[attr-defined]
        assert store.counts()["deliveries"] == {"total": 2, "by_outcome": {"delivered": 2}}  # 3 backfills
        store.record_escalations([{**evidence("sched-a", 5, T0 + timedelta(hours=1)), "evidence_id": "esc-5"}])
        assert store.count_history(kind="escalation") == 1  # 4 allows the escalation kind
        store.save_evidence(evidence("sched-a", 9, T0 + timedelta(hours=2)))
        assert store.counts()["deliveries"]["total"] == 3
        store.save_records([Filed("retry_plan", "rp-1", T0 + timedelta(hours=3), {"retry_plan_id": "rp-1"},
                                  schedule_id="sched-a", schedules=("sched-a", "sched-b"))])  # 6: the retry kinds
        assert store.count_history(kind="retry_plan") == 1 and store.get_record("rp-1")["kind"] == "retry_plan"
        assert store.count_history(schedule_id="sched-b", kind="retry_plan") == 1
        assert store.use_approval("ap-1", "run-1", T0) and not store.use_approval("ap-1", "run-2", T0)
    with psycopg.connect(url, autocommit=True) as conn:
        versions = [v for (v,) in conn.execute("SELECT version FROM schema_version ORDER BY version")]
        assert versions == [1, 2, 3, 4, 5, 6]
        [check] = conn.execute("SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname ="
                               " 'records_kind_check' AND conrelid = 'records'::regclass").fetchall()
        assert "'escalation'" in check[0] and "'recovery_closure'" in check[0]
