"""Never silent, swept (issue 14): a folder holding a good schedule, one without a history, one that is
not JSON and one the public-safe guard rejects, with a fallback route configured. Over five sweeps from
cron, each problem is notified exactly once, the good schedule once, and nothing else is sent."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("cavra_notify_webhook")

from cavra_notify.cli import main  # noqa: E402
from cavra_notify.testkit import FakeReceiver  # noqa: E402

from .conftest import example  # noqa: E402

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


@pytest.fixture
def receiver() -> Iterator[FakeReceiver]:
    with FakeReceiver() as rx:
        yield rx


def schedule(schedule_id: str, **changes: Any) -> dict[str, Any]:
    doc = example("schedule.json")
    doc.update(schedule_id=schedule_id, owners=["release-governance"], notification_providers=["webhook"],
               owner_routes={}, **changes)
    return doc


@pytest.fixture
def folder(tmp_path: Path, receiver: FakeReceiver, monkeypatch: pytest.MonkeyPatch) -> Path:
    schedules = tmp_path / "schedules"
    schedules.mkdir()
    (schedules / "good.json").write_text(json.dumps(schedule("good", next_due_at=iso(NOW + timedelta(days=3)))))
    (schedules / "good.history.json").write_text(json.dumps(example("history.json")))
    (schedules / "nohistory.json").write_text(json.dumps(schedule("nohistory")))  # no due date to derive
    (schedules / "broken.json").write_text('{"schema_version": ')
    (schedules / "guarded.json").write_text(json.dumps(schedule("guarded", runbook_ref="https://wiki.example.com/x")))
    config = tmp_path / "connectors.json"
    config.write_text(json.dumps({
        "connectors": {"webhook": {"provider": "webhook", "url": f"{receiver.url}/hooks/cavra"}},
        "fallback_route": {"owner": "platform-admins", "providers": ["webhook"]}}))
    monkeypatch.setenv("CAVRA_CONNECTOR_CONFIG", str(config))
    monkeypatch.setenv("CAVRA_EVIDENCE_DB", str(tmp_path / "evidence.db"))
    monkeypatch.setenv("CAVRA_GO_BACKEND_MODE", "promoted")
    return schedules


def sweep(folder: Path, now: datetime, capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, Any]]:
    capsys.readouterr()
    code = main(["runtime", "go-rollback-drill-sweep", "--schedules", str(folder), "--now", iso(now), "--json"])
    return code, json.loads(capsys.readouterr().out)


def test_five_sweeps_tell_each_problem_once(folder: Path, receiver: FakeReceiver,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    results = [sweep(folder, NOW + timedelta(minutes=5 * i), capsys) for i in range(5)]
    events = [request.json() for request in receiver.requests]
    told = sorted((e["schedule_id"], e["route"]["owner"], e["status"]) for e in events)
    assert told == [
        (f"file:{folder / 'broken.json'}", "platform-admins", "needs_attention"),
        (f"file:{folder / 'guarded.json'}", "platform-admins", "needs_attention"),  # its id is not trusted
        ("good", "release-governance", "due_soon"),
        ("nohistory", "release-governance", "needs_attention"),
    ]
    first = {row["schedule"]: row for row in results[0][1]["schedules"]}
    assert {name: row["outcome"] for name, row in first.items()} == {
        "broken.json": "delivered", "good.json": "delivered", "guarded.json": "delivered",
        "nohistory.json": "delivered"}
    assert first["broken.json"]["status"] == "needs_attention"
    assert "wiki.example.com" not in json.dumps(events), "nothing of the rejected file is sent"
    for code, later in results[1:]:
        assert code == 0 and {row["outcome"] for row in later["schedules"]} == {"nothing_to_deliver"}


def test_without_a_fallback_the_row_names_the_file_the_check_and_the_gap(
        folder: Path, receiver: FakeReceiver, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    config = tmp_path / "connectors.json"
    document = json.loads(config.read_text())
    del document["fallback_route"]
    config.write_text(json.dumps(document))
    code, result = sweep(folder, NOW, capsys)
    rows = {row["schedule"]: row for row in result["schedules"]}
    assert code == 1, "a schedule nobody could be told about fails the sweep"
    broken = rows["broken.json"]
    assert broken["outcome"] == "error" and "schedule_readable" in broken["error"]
    assert "no fallback route" in broken["error"]
    assert rows["good.json"]["outcome"] == "delivered"
