"""The console's failed-notification view in headless Chromium: a retry is approved from the page."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")
pytest.importorskip("cavra_notify_webhook")

from fastapi.testclient import TestClient  # noqa: E402

from cavra_notify.api import create_app  # noqa: E402
from cavra_notify.testkit import FakeReceiver, Response  # noqa: E402

from . import test_console  # noqa: E402
from .conftest import example  # noqa: E402
from .test_console import LiveServer, Tab  # noqa: E402

browser = test_console.browser  # the module-scoped headless Chromium fixture

TOKEN = "api-" + "canary" + "9a7e5b1d4c2a0f3c"
RETRIES = "/runtime/go-pilot/rollback-drill-retries"


@pytest.fixture
def receiver() -> Iterator[FakeReceiver]:
    with FakeReceiver() as rx:
        yield rx


def test_a_retry_is_approved_from_the_console(browser: Any, receiver: FakeReceiver, tmp_path: Path,  # noqa: F811
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    schedule = copy.deepcopy(example("schedule.json"))
    schedule.update(schedule_id="sched_console", notification_providers=["webhook"], owner_routes={},
                    next_due_at=(now + timedelta(days=3)).isoformat())
    (tmp_path / "schedule.json").write_text(json.dumps(schedule))
    monkeypatch.setenv("CONSOLE_HOOK_URL", receiver.url + "/hook")
    (tmp_path / "connectors.json").write_text(json.dumps({
        "connectors": {"webhook": {"provider": "webhook", "url": {"env": "CONSOLE_HOOK_URL"}}},
        "api": {"token": TOKEN}}))
    env = {"CAVRA_GO_BACKEND_MODE": "promoted", "CAVRA_GO_ROLLBACK_DRILL_SCHEDULE": str(tmp_path / "schedule.json"),
           "CAVRA_GO_ROLLBACK_DRILL_HISTORY": str(Path(__file__).parents[1] / "examples" / "history.json"),
           "CAVRA_CONNECTOR_CONFIG": str(tmp_path / "connectors.json")}
    app = create_app(env, str(tmp_path / "ev.db"))
    auth = {"Authorization": f"Bearer {TOKEN}"}
    receiver.enqueue(Response(503), Response(503))
    with TestClient(app) as api:
        failed = api.post("/runtime/go-pilot/rollback-drill-notifications/deliver", headers=auth,
                          json={"now": (now - timedelta(minutes=30)).isoformat(), "retries": 0})
        assert failed.status_code == 502
        plan = api.post(f"{RETRIES}/plan", headers=auth, json={}).json()
        api.post("/runtime/go-pilot/connector-recovery/playbook", headers=auth, json={})
    assert plan["counts"]["retry"] == 2

    from playwright.sync_api import expect

    with LiveServer(app) as server:
        tab = Tab(browser, server.url)
        page = tab.page
        page.goto(server.url + "/console")
        entries = page.get_by_test_id("retry-entry")
        expect(entries).to_have_count(2)
        assert page.get_by_test_id("playbook-entry").first.locator("td").first.inner_text() == "webhook"
        page.get_by_test_id("ack-token").fill(TOKEN)
        first = plan["entries"][0]
        page.locator(f'[data-entry="{first["entry_id"]}"] [data-testid="retry-approve"]').click()
        expect(page.get_by_test_id("message")).to_contain_text("Retry approved")
        expect(entries).to_have_count(1)
        assert TOKEN not in page.content()
        assert tab.foreign == [] and tab.errors == []
        tab.close()
    with TestClient(app) as api:
        approvals = api.get("/runtime/go-pilot/rollback-drill-notifications",
                            params={"kind": "retry_approval"}).json()["items"]
        live = api.post(f"{RETRIES}/worker", headers=auth, json={"execute": True}).json()
    assert [(a["payload"]["entry_id"], a["payload"]["decided_by"]) for a in approvals] == [(first["entry_id"], "api")]
    assert [x["status"] for x in live["executions"]] == ["delivered"] and len(receiver.requests) == 3
