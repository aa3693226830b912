"""Sweep and crash safety (issue 6): real ``cavra`` processes, one SQLite store, a local webhook fake."""

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


@pytest.fixture
def setup(tmp_path: Path, receiver: FakeReceiver) -> dict[str, Any]:
    folder = tmp_path / "schedules"
    folder.mkdir()
    due = datetime.now(UTC) + timedelta(days=3)  # due soon in real time: the crash test runs on the wall clock
    for name in ("alpha", "beta"):
        (folder / f"{name}.json").write_text(json.dumps(_schedule(f"sched_{name}", due)))
    config = tmp_path / "connectors.json"
    config.write_text(json.dumps({"connectors": {"webhook": {"url": {"env": "SWEEP_WEBHOOK_URL"}}}}))
    env = {**os.environ, "SWEEP_WEBHOOK_URL": receiver.url + "/hook", "CAVRA_EVIDENCE_DB": str(tmp_path / "ev.db"),
           "CAVRA_CONNECTOR_CONFIG": str(config)}
    for name in ("CAVRA_GO_BACKEND_MODE", "CAVRA_GO_ROLLBACK_DRILL_SCHEDULE", "CAVRA_GO_ROLLBACK_DRILL_HISTORY"):
        env.pop(name, None)
    return {"folder": folder, "env": env, "db": tmp_path / "ev.db", "routes": 2 * len(OWNERS)}


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
    with sqlite3.connect(setup["db"]) as db:
        pending = db.execute("SELECT COUNT(*) FROM notification_log WHERE state = 'sending'").fetchone()[0]
    assert pending >= 1  # intent was recorded before the send
    first_seen = route_counts(receiver)

    receiver.handler = lambda request: Response(200, {"ok": True})
    proc2 = sweep(setup, "--timeout-seconds", "5")
    assert proc2.returncode == 0, proc2.stderr  # leases of the killed run have not expired yet: in flight
    rerun = sweep(setup)  # still inside the lease: nothing doubled
    assert rerun.returncode == 0
    with sqlite3.connect(setup["db"]) as db:
        db.execute("UPDATE notification_log SET lease_until = '2000-01-01T00:00:00.000000Z' WHERE state = 'sending'")
    settled = sweep(setup)
    assert settled.returncode == 0, settled.stderr
    counts = route_counts(receiver)
    assert len(counts) == setup["routes"]
    for key, count in counts.items():
        assert count <= first_seen.get(key, 0) + 1  # each route at most once more than the first attempt
    with sqlite3.connect(setup["db"]) as db:
        states = dict(db.execute("SELECT state, COUNT(*) FROM notification_log GROUP BY state").fetchall())
        deliveries = db.execute("SELECT COUNT(*) FROM records WHERE kind = 'delivery' AND outcome = 'delivered'"
                                ).fetchone()[0]
    assert states == {"delivered": setup["routes"]} and deliveries == setup["routes"]
    settled_evidence = [json.loads(row[0]) for row in sqlite3.connect(setup["db"]).execute(
        "SELECT payload FROM records WHERE kind = 'delivery'").fetchall()]
    assert {e["claim"] for e in settled_evidence} >= {"settle"}


def test_corrupt_database_is_a_clear_error(setup: dict[str, Any]) -> None:
    Path(setup["db"]).write_bytes(b"SQLite format 3\x00" + os.urandom(300))
    proc = sweep(setup)
    assert proc.returncode == 5 and "Traceback" not in proc.stderr and "evidence store" in proc.stderr
