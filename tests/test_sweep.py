"""Sweep and crash safety (issues 6 and 18): real ``cavra`` processes sharing one evidence store (SQLite,
and a throwaway PostgreSQL server), a local webhook fake."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("cavra_notify_webhook")

from cavra_notify.testkit import FakeReceiver, Response  # noqa: E402

from .conftest import example  # noqa: E402

OWNERS = ["release-governance", "platform-oncall", "incident-command"]


def _schedule(schedule_id: str, due: datetime) -> dict[str, Any]:
    doc = example("schedule.json")
    doc.update(schedule_id=schedule_id, next_due_at=due.isoformat().replace("+00:00", "Z"), owners=OWNERS,
               notification_providers=["webhook"], owner_routes={})
    return doc


@pytest.fixture
def receiver() -> Iterator[FakeReceiver]:
    with FakeReceiver() as rx:
        yield rx


def query(db: str, sql: str) -> list[tuple[Any, ...]]:
    """Rows straight from the store's database, whichever backend holds it."""
    if db.startswith("postgresql://"):
        import psycopg

        with psycopg.connect(db, autocommit=True) as conn:
            cur = conn.execute(sql)
            return [tuple(r) for r in cur.fetchall()] if cur.description else []
    with sqlite3.connect(db) as conn:
        return conn.execute(sql).fetchall()


def expire_leases(db: str) -> None:
    query(db, "UPDATE notification_log SET lease_until = '2000-01-01T00:00:00.000000Z' WHERE state = 'sending'")


@pytest.fixture
def setup(tmp_path: Path, receiver: FakeReceiver, evidence_db: str) -> dict[str, Any]:
    folder = tmp_path / "schedules"
    folder.mkdir()
    due = datetime.now(UTC) + timedelta(days=3)  # due soon in real time: the crash test runs on the wall clock
    for name in ("alpha", "beta"):
        (folder / f"{name}.json").write_text(json.dumps(_schedule(f"sched_{name}", due)))
    config = tmp_path / "connectors.json"
    config.write_text(json.dumps({"connectors": {"webhook": {"url": {"env": "SWEEP_WEBHOOK_URL"}}}}))
    env = {**os.environ, "SWEEP_WEBHOOK_URL": receiver.url + "/hook", "CAVRA_EVIDENCE_DB": evidence_db,
           "CAVRA_CONNECTOR_CONFIG": str(config)}
    for name in ("CAVRA_GO_BACKEND_MODE", "CAVRA_GO_ROLLBACK_DRILL_SCHEDULE", "CAVRA_GO_ROLLBACK_DRILL_HISTORY"):
        env.pop(name, None)
    return {"folder": folder, "env": env, "db": evidence_db, "routes": 2 * len(OWNERS), "config": config}


def sweep(setup: dict[str, Any], *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cavra_notify", "runtime", "go-rollback-drill-sweep",
                           "--schedules", str(setup["folder"]), "--json", *extra],
                          env=setup["env"], capture_output=True, text=True, timeout=120)


def route_counts(receiver: FakeReceiver) -> dict[str, int]:
    counts: dict[str, int] = {}
    for request in receiver.requests:
        key = request.json()["route"]["route_key"]
        counts[key] = counts.get(key, 0) + 1
    return counts


def test_ten_sweeps_notify_each_route_once_then_again_after_repeat(setup: dict[str, Any],
                                                                   receiver: FakeReceiver) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    stamp = now.isoformat().replace("+00:00", "Z")
    for _ in range(10):
        proc = sweep(setup, "--now", stamp)
        assert proc.returncode == 0, proc.stderr
    counts = route_counts(receiver)
    assert len(counts) == setup["routes"] and set(counts.values()) == {1}
    later = (now + timedelta(hours=25)).isoformat().replace("+00:00", "Z")
    proc = sweep(setup, "--now", later)
    assert proc.returncode == 0, proc.stderr
    assert set(route_counts(receiver).values()) == {2}
    rows = json.loads(proc.stdout)["schedules"]
    assert [r["delivered"] for r in rows] == [len(OWNERS), len(OWNERS)]


def test_two_concurrent_sweeps_notify_each_route_once(setup: dict[str, Any], receiver: FakeReceiver) -> None:
    receiver.handler = lambda request: Response(200, {"ok": True}, delay=0.2)
    argv = [sys.executable, "-m", "cavra_notify", "runtime", "go-rollback-drill-sweep", "--schedules",
            str(setup["folder"]), "--json"]
    procs = [subprocess.Popen(argv, env=setup["env"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    counts = route_counts(receiver)
    assert len(counts) == setup["routes"] and set(counts.values()) == {1}


def test_sigkill_mid_delivery_is_settled_by_the_next_run(setup: dict[str, Any], receiver: FakeReceiver) -> None:
    receiver.handler = lambda request: Response(200, {"ok": True}, delay=30)  # holds every request
    argv = [sys.executable, "-m", "cavra_notify", "runtime", "go-rollback-drill-sweep", "--schedules",
            str(setup["folder"]), "--timeout-seconds", "60", "--deadline-seconds", "120"]
    proc = subprocess.Popen(argv, env=setup["env"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    deadline = time.monotonic() + 30
    while len(receiver.requests) < len(OWNERS) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(receiver.requests) >= 1
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    pending = query(setup["db"], "SELECT COUNT(*) FROM notification_log WHERE state = 'sending'")[0][0]
    assert pending >= 1  # intent was recorded before the send
    first_seen = route_counts(receiver)

    receiver.handler = lambda request: Response(200, {"ok": True})
    proc2 = sweep(setup, "--timeout-seconds", "5")
    assert proc2.returncode == 0, proc2.stderr  # leases of the killed run have not expired yet: in flight
    rerun = sweep(setup)  # still inside the lease: nothing doubled
    assert rerun.returncode == 0
    expire_leases(setup["db"])
    settled = sweep(setup)
    assert settled.returncode == 0, settled.stderr
    counts = route_counts(receiver)
    assert len(counts) == setup["routes"]
    for key, count in counts.items():
        assert count <= first_seen.get(key, 0) + 1  # each route at most once more than the first attempt
    states = dict(query(setup["db"], "SELECT state, COUNT(*) FROM notification_log GROUP BY state"))
    deliveries = query(setup["db"], "SELECT COUNT(*) FROM records WHERE kind = 'delivery' AND outcome = 'delivered'"
                       )[0][0]
    assert states == {"delivered": setup["routes"]} and deliveries == setup["routes"]
    settled_evidence = [json.loads(row[0]) for row in query(setup["db"],
                                                            "SELECT payload FROM records WHERE kind = 'delivery'")]
    assert {e["claim"] for e in settled_evidence} >= {"settle"}


@pytest.mark.parametrize("evidence_db", ["sqlite"], indirect=True)
def test_corrupt_database_is_a_clear_error(setup: dict[str, Any]) -> None:
    Path(setup["db"]).write_bytes(b"SQLite format 3\x00" + os.urandom(300))
    proc = sweep(setup)
    assert proc.returncode == 5 and "Traceback" not in proc.stderr and "evidence store" in proc.stderr


def test_the_sweep_honours_the_mode_variable_and_names_schedule_ids(setup: dict[str, Any]) -> None:
    """Issue 14 item 6: CAVRA_GO_BACKEND_MODE wins over the sweep's default; rows name the schedule id; Z times."""
    typo = sweep({**setup, "env": {**setup["env"], "CAVRA_GO_BACKEND_MODE": "promtoed"}})
    assert typo.returncode == 2 and "CAVRA_GO_BACKEND_MODE: unknown mode 'promtoed'" in typo.stderr
    proc = sweep(setup)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["generated_at"].endswith("Z") and "+00:00" not in proc.stdout
    assert [(r["schedule"], r["schedule_id"]) for r in report["schedules"]] == [
        ("alpha.json", "sched_alpha"), ("beta.json", "sched_beta")]
    table = subprocess.run([sys.executable, "-m", "cavra_notify", "runtime", "go-rollback-drill-sweep", "--schedules",
                            str(setup["folder"])], env=setup["env"], capture_output=True, text=True, timeout=120)
    assert "SCHEDULE ID" in table.stdout and "sched_alpha" in table.stdout


def _api_replica(setup: dict[str, Any], schedule: str, rounds: int) -> list[int]:
    from fastapi.testclient import TestClient

    from cavra_notify.api.app import create_app

    env = {**setup["env"], "CAVRA_GO_BACKEND_MODE": "promoted", "CAVRA_GO_ROLLBACK_DRILL_SCHEDULE": schedule,
           "CAVRA_CONNECTOR_CONFIG": str(setup["config"])}
    codes = []
    with TestClient(create_app(env, setup["db"], allow_unauthenticated_loopback=True),
                    client=("127.0.0.1", 50000)) as client:
        for _ in range(rounds):
            codes.append(client.post("/runtime/go-pilot/rollback-drill-notifications/deliver", json={}).status_code)
    return codes


def test_two_api_replicas_and_three_sweep_workers_notify_each_route_once(setup: dict[str, Any],
                                                                         receiver: FakeReceiver,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 18: replicas and workers on the same due schedules, one store → each route once at the receiver."""
    import threading

    monkeypatch.setenv("SWEEP_WEBHOOK_URL", setup["env"]["SWEEP_WEBHOOK_URL"])  # the replicas' secret reference

    receiver.handler = lambda request: Response(200, {"ok": True}, delay=0.05)
    for n in range(8):  # more schedules, so that workers and replicas overlap in time
        (setup["folder"] / f"extra{n}.json").write_text(json.dumps(_schedule(f"sched_extra{n}", datetime.now(UTC)
                                                                             + timedelta(days=2))))
    argv = [sys.executable, "-m", "cavra_notify", "runtime", "go-rollback-drill-sweep", "--schedules",
            str(setup["folder"]), "--json"]
    workers = [subprocess.Popen(argv, env=setup["env"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for _ in range(3)]
    codes: list[list[int]] = []
    replicas = [threading.Thread(target=lambda f=f: codes.append(_api_replica(setup, str(setup["folder"] / f), 3)))
                for f in ("alpha.json", "beta.json")]
    for thread in replicas:
        thread.start()
    for proc in workers:
        out, err = proc.communicate(timeout=180)
        assert proc.returncode == 0, err
    for thread in replicas:
        thread.join(timeout=120)
    assert len(codes) == 2 and all(code == 200 for run in codes for code in run), codes
    counts = route_counts(receiver)
    assert len(counts) == len(OWNERS) * 10 and set(counts.values()) == {1}, counts
    assert query(setup["db"], "SELECT COUNT(*) FROM notification_log WHERE state <> 'delivered'")[0][0] == 0


@pytest.mark.parametrize("evidence_db", ["postgresql"], indirect=True)
def test_a_database_restart_mid_sweep_loses_nothing(setup: dict[str, Any], receiver: FakeReceiver,
                                                    pg_server: Any) -> None:
    """Issue 18: the server restarts while routes are in flight: a clear line at worst, the next run settles."""
    receiver.handler = lambda request: Response(200, {"ok": True}, delay=1.0)
    argv = [sys.executable, "-m", "cavra_notify", "runtime", "go-rollback-drill-sweep", "--schedules",
            str(setup["folder"]), "--timeout-seconds", "10", "--deadline-seconds", "60"]
    proc = subprocess.Popen(argv, env=setup["env"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while not receiver.requests and time.monotonic() < deadline:
        time.sleep(0.02)
    pg_server.ctl("restart", "-m", "fast", "-w")
    _, err = proc.communicate(timeout=120)
    assert proc.returncode in (0, 5), err
    if proc.returncode:
        assert len(err.strip().splitlines()) == 1 and "evidence store" in err and "Traceback" not in err, err
    receiver.handler = lambda request: Response(200, {"ok": True})
    expire_leases(setup["db"])
    rerun = sweep(setup)
    assert rerun.returncode == 0, rerun.stderr
    counts = route_counts(receiver)
    assert len(counts) == setup["routes"] and max(counts.values()) <= 2, counts  # at most the in-flight one again
    assert dict(query(setup["db"], "SELECT state, COUNT(*) FROM notification_log GROUP BY state")) == {
        "delivered": setup["routes"]}


@pytest.mark.parametrize("evidence_db", ["sqlite"], indirect=True)
def test_a_schedule_that_cannot_be_delivered_is_its_own_rows_error(setup: dict[str, Any]) -> None:
    """No connector config: every due schedule's row says why (exit 2); the sweep still reports every file."""
    env = {k: v for k, v in setup["env"].items() if k != "CAVRA_CONNECTOR_CONFIG"}
    proc = sweep({**setup, "env": env})
    assert proc.returncode == 2, proc.stderr
    rows = json.loads(proc.stdout)["schedules"]
    assert [r["schedule_id"] for r in rows] == ["sched_alpha", "sched_beta"]
    assert all(r["outcome"] == "error" and "connector config" in r["error"] for r in rows), rows
