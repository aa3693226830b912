"""Hostile answers (issue 15 item 1): a non-finite or absurd ``Retry-After`` never breaks a run."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cavra_notify import DeliveryFailure, FailureClass, parse_retry_after
from cavra_notify.provider import MAX_RETRY_AFTER
from cavra_notify.testkit import FakeReceiver, Response

ROOT = Path(__file__).resolve().parents[1]
EX = ROOT / "examples"


@pytest.mark.parametrize("value", ["inf", "Infinity", "-inf", "nan", "NaN", "1e999", "9" * 5000, "", "soon",
                                   "Fri, 31 Dec 99999 23:59:59 GMT"])
def test_a_non_finite_or_unparseable_retry_after_is_ignored(value: str) -> None:
    assert parse_retry_after(value) is None


@pytest.mark.parametrize(("value", "seconds"), [
    ("2", 2.0), (" 1.5 ", 1.5), ("-3", 0.0), ("1e308", MAX_RETRY_AFTER), ("86400", MAX_RETRY_AFTER),
    ("Fri, 31 Dec 9999 23:59:59 GMT", MAX_RETRY_AFTER), ("Mon, 01 Jan 0001 00:00:00 GMT", 0.0),
])
def test_an_absurd_retry_after_is_capped(value: str, seconds: float) -> None:
    assert parse_retry_after(value) == seconds


@pytest.mark.parametrize(("given", "kept"), [
    (math.inf, None), (math.nan, None), (-math.inf, None), ("2", None), (True, None), (10**400, MAX_RETRY_AFTER),
    (1e12, MAX_RETRY_AFTER), (-1.0, 0.0), (2, 2.0), (None, None),
])
def test_a_plugins_own_retry_after_is_made_sane(given: object, kept: float | None) -> None:
    failure = DeliveryFailure(FailureClass.RATE_LIMITED, "slow down", retry_after=given)  # type: ignore[arg-type]
    assert failure.retry_after == kept


@pytest.mark.parametrize("header", ["inf", "1e999", "nan"])
def test_a_429_with_an_infinite_retry_after_still_records_every_route(tmp_path: Path, header: str) -> None:
    """Before: ``record is not JSON-serialisable``, exit 2, nothing recorded, every rerun re-sent."""
    schedule = json.loads((EX / "schedule.json").read_text())
    schedule.update(notification_providers=["webhook"], owner_routes={})
    (tmp_path / "schedule.json").write_text(json.dumps(schedule))
    with FakeReceiver() as rx:
        rx.enqueue(Response(429, {"error": "slow down"}, {"Retry-After": header}))
        config = {"connectors": {"webhook": {"url": rx.url + "/hook"}}}
        (tmp_path / "connectors.json").write_text(json.dumps(config))
        environ = {k: v for k, v in os.environ.items() if not k.startswith("CAVRA_")}
        done = subprocess.run(
            [sys.executable, "-m", "cavra_notify", "runtime", "go-rollback-drill-notification-deliver",
             "--mode", "promoted", "--rollback-drill-schedule-path", str(tmp_path / "schedule.json"),
             "--rollback-drill-history-path", str(EX / "history.json"),
             "--connector-config", str(tmp_path / "connectors.json"), "--evidence-db", str(tmp_path / "e.db"),
             "--now", "2026-12-20T00:00:00Z", "--json"],
            capture_output=True, text=True, env=environ, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    payload = json.loads(done.stdout)
    assert payload["outcome"] == "delivered" and len(payload["deliveries"]) == 2
    attempts = [a for e in payload["deliveries"] for a in e["attempts"]]
    assert [a["class"] for a in attempts].count("rate_limited") == 1
    assert all(a["retry_after"] is None for a in attempts)
