"""The evidence console: the page and its assets, the overview route, and an end-to-end run in headless
Chromium (Playwright) against a uvicorn server whose store was filled through the real delivery path."""

from __future__ import annotations

import json
import os
import re
import socket
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi")
uvicorn = pytest.importorskip("uvicorn")
fake = pytest.importorskip("cavra_notify_webhook.fake")

import httpx  # noqa: E402
from fastapi import FastAPI  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402

from cavra_notify import service, settings  # noqa: E402
from cavra_notify.api import create_app  # noqa: E402
from cavra_notify.store import open_store  # noqa: E402
from cavra_notify.testkit import assert_no_secret_leak  # noqa: E402

from .conftest import ROOT  # noqa: E402

N = "/runtime/go-pilot/rollback-drill-notifications"
OVERVIEW = "/runtime/go-pilot/rollback-drill-overview"
MAIN_ID = "go_backend_python_fallback_monthly"
OTHER_ID = "go_backend_payments_weekly"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
XSS = '<img src=x onerror="document.title=1">'


def canary(prefix: str) -> str:
    return prefix + "canary" + uuid.uuid4().hex


def minute(value: datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC")


class Site:
    """One deployment's files (schedule, history, connector config with canaries) and its store."""

    def __init__(self, tmp: Path, receiver: Any | None = None, now: datetime | None = None) -> None:
        self.tmp, self.receiver = tmp, receiver
        self.now = (now or datetime.now(UTC)).replace(microsecond=0)
        self.token, self.signing, self.url_secret = canary("api-"), canary("sig-"), canary("")
        self.governance, self.mallory = canary("gov-"), canary("xss-")  # two named actors' tokens
        self.db = str(tmp / "evidence.db")
        self.env: dict[str, str] = {"CAVRA_GO_BACKEND_MODE": "disabled"}
        self.drills = [self.now - timedelta(days=d) for d in (70, 40, 34)]
        self.other_delivered = False

    @property
    def secrets(self) -> list[str]:
        return [self.token, self.signing, self.url_secret, self.governance, self.mallory]

    def write(self, name: str, document: Any) -> str:
        path = self.tmp / name
        path.write_text(json.dumps(document))
        return str(path)

    def configure(self) -> None:
        """A stale schedule with four routes: three webhook connectors (one under a maintenance window
        at delivery time) and slack, which the connector config does not configure."""
        assert self.receiver is not None
        schedule = json.loads((ROOT / "examples" / "schedule.json").read_text())
        schedule.update(
            next_due_at=(self.now - timedelta(days=3)).isoformat(),
            notification_providers=["webhook", "webhook-audit", "webhook-ops", "slack"],
            owner_routes={
                "release-governance": {"providers": ["webhook", "webhook-audit", "slack"],
                                       "acknowledgement_minutes": 30, "escalation_owner": "platform-lead"},
                "platform-oncall": {"providers": ["webhook", "webhook-ops"], "acknowledgement_minutes": 15,
                                    "escalation_owner": "incident-commander"}})
        history = json.loads((ROOT / "examples" / "history.json").read_text())
        template = history["drills"][-1]
        history["drills"] = [{**template, "drill_id": f"drill-{at:%Y-%m-%d}", "executed_at": at.isoformat(),
                              "status": "fail" if i == 1 else "pass",
                              "evidence_refs": [f"go-rollback-drill://production-pilot/drill-{at:%Y-%m-%d}"]}
                             for i, at in enumerate(self.drills)]
        url = self.receiver.url
        connectors = {"connectors": {
            "webhook": {"provider": "webhook", "url": f"{url}?sig={self.url_secret}", "signing_secret": self.signing},
            "webhook-audit": {"provider": "webhook", "url": url, "signing_secret": self.signing},
            "webhook-ops": {"provider": "webhook", "url": url, "signing_secret": self.signing}},
            "api": {"token": self.token, "actors": {
                "release-governance": {"token": self.governance, "roles": ["read", "acknowledge"]},
                XSS: {"token": self.mallory, "roles": ["acknowledge"]}}}}
        self.receiver.signing_secret = self.signing
        self.env = {"CAVRA_GO_BACKEND_MODE": "promoted",
                    "CAVRA_GO_ROLLBACK_DRILL_SCHEDULE": self.write("schedule.json", schedule),
                    "CAVRA_GO_ROLLBACK_DRILL_HISTORY": self.write("history.json", history),
                    "CAVRA_CONNECTOR_CONFIG": self.write("connectors.json", connectors)}

    def deliver_other_schedule(self) -> None:
        """A second schedule, due soon, known to this server only through the evidence store: delivered by
        the same core functions the CLI uses, with its own settings (in a thread of its own: delivery runs
        an event loop, and Playwright's sync API keeps one running in this thread)."""
        worker = threading.Thread(target=self._deliver_other_schedule)
        worker.start()
        worker.join(60)
        assert self.other_delivered

    def _deliver_other_schedule(self) -> None:
        schedule = {"schema_version": "cavra.go-backend-rollback-drill-schedule.v1", "schedule_id": OTHER_ID,
                    "environment": "payments-pilot", "status": "active", "interval_days": 7,
                    "owners": ["payments-oncall"], "notification_providers": ["webhook"],
                    "next_due_at": (self.now + timedelta(days=4)).isoformat(),
                    "runbook_ref": "docs/operators.md#rollback-drills"}
        resolved = settings.resolve(env={**self.env, "CAVRA_GO_ROLLBACK_DRILL_SCHEDULE": self.write("other.json",
                                                                                                      schedule)})
        ctx = service.context(resolved, self.now - timedelta(hours=2))
        store = open_store(self.db)
        try:
            result = service.deliver(ctx, service.schedule_report(ctx), None, store=store)
        finally:
            store.close()
        self.other_delivered = result.to_json()["delivered_count"] == 1

    def app(self) -> FastAPI:
        return create_app(self.env, self.db)


class LiveServer:
    """The API app on uvicorn, 127.0.0.1, a free port, in a background thread."""

    def __init__(self, app: FastAPI) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        while not self.server.started:
            if not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            threading.Event().wait(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.sock.close()


@pytest.fixture(scope="module")
def receiver() -> Iterator[Any]:
    with fake.FakeWebhookReceiver(tolerance_seconds=4 * 3600) as rx:
        yield rx


# --- the page, its assets and the overview route (no browser) ---------------------------------


def test_console_is_served_from_the_package_with_a_strict_csp(tmp_path: Path) -> None:
    with TestClient(Site(tmp_path).app()) as api:
        page = api.get("/console")
        assets = {name: api.get(f"/console/{name}") for name in ("console.js", "console.css")}
        missing = api.get("/console/secrets.json")
        traversal = api.get("/console/..%2Fapp.py")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    csp = page.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert assets["console.js"].headers["content-type"].startswith("text/javascript")
    assert assets["console.css"].headers["content-type"].startswith("text/css")
    assert all(r.status_code == 200 and r.headers["x-content-type-options"] == "nosniff" for r in assets.values())
    assert missing.status_code == 404 and traversal.status_code == 404
    packaged = resources.files("cavra_notify") / "console"
    for name, response in {"index.html": page, **assets}.items():
        assert (packaged / name).read_bytes() == response.content
        text = response.text.replace('"http://www.w3.org/2000/svg"', "")
        assert not re.search(r"https?://|//[a-z0-9-]+\.[a-z]", text, re.I), f"{name} refers to an external origin"
    script = assets["console.js"].text
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"):
        assert sink not in script, f"console.js uses {sink}"
    assert "<script>" not in page.text and " style=" not in page.text and "onclick=" not in page.text


def test_overview_with_no_schedule_and_an_empty_store(tmp_path: Path) -> None:
    with TestClient(Site(tmp_path).app()) as api:
        body = api.get(OVERVIEW).json()
    assert body["schedules"] == [] and body["outstanding_route_count"] == 0 and body["alert_level"] == "healthy"


def test_overview_of_a_configured_schedule_without_evidence(tmp_path: Path, receiver: Any) -> None:
    site = Site(tmp_path, receiver)
    site.configure()
    with TestClient(site.app()) as api:
        body = api.get(OVERVIEW, params={"now": site.now.isoformat()}).json()
    [entry] = body["schedules"]
    assert (entry["schedule_id"], entry["source"], entry["status"]) == (MAIN_ID, "configured", "needs_attention")
    assert entry["days_until_due"] == -3.0 and entry["latest_plan"] is None and entry["deliveries"] == []
    assert entry["configured_providers"] == ["webhook", "webhook-audit", "webhook-ops"]
    assert [d["status"] for d in entry["drills"]] == ["pass", "fail", "pass"]
    assert entry["latest_drill"]["drill_id"] == f"drill-{site.drills[-1]:%Y-%m-%d}"
    assert [c["id"] for c in entry["failed_checks"]] == ["not_stale"]


def test_overview_of_an_unreadable_schedule_is_reported_not_a_500(tmp_path: Path) -> None:
    site = Site(tmp_path)
    site.env = {"CAVRA_GO_BACKEND_MODE": "promoted", "CAVRA_GO_ROLLBACK_DRILL_SCHEDULE": str(tmp_path / "nope.json")}
    with TestClient(site.app()) as api:
        response = api.get(OVERVIEW)
        bad_now = api.get(OVERVIEW, params={"now": "2026-11-27T09:00:00"})
    [entry] = response.json()["schedules"]
    assert response.status_code == 200 and entry["schedule_id"] is None and entry["status"] == "needs_attention"
    assert entry["failed_checks"][0]["id"] == "schedule_readable" and entry["deliveries"] == []
    assert bad_now.status_code == 422


# --- in a real browser -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    problem = None
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        problem = "playwright is not installed"
    if problem is None and not Path(CHROMIUM).exists():
        problem = f"{CHROMIUM} is missing (Debian package chromium)"
    if problem is not None:
        if os.environ.get("CAVRA_REQUIRE_BROWSER"):
            pytest.fail(f"{problem}, and CAVRA_REQUIRE_BROWSER is set")
        pytest.skip(problem)
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class Tab:
    """A 1366x768 page that records every response, request origin and console error."""

    def __init__(self, browser: Any, base: str) -> None:
        self.context = browser.new_context(viewport={"width": 1366, "height": 768})
        self.context.set_default_timeout(10_000)
        self.page = self.context.new_page()
        self.base, self.responses, self.foreign, self.errors = base, [], [], []
        self.page.on("response", lambda r: self.responses.append(r))
        self.page.on("request", lambda r: None if r.url.startswith(base + "/") else self.foreign.append(r.url))
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))

    def bodies(self) -> list[str]:
        return [r.text() for r in self.responses if r.request.method != "OPTIONS"]

    def close(self) -> None:
        self.context.close()


def test_console_end_to_end_in_chromium(browser: Any, receiver: Any, tmp_path: Path) -> None:
    site = Site(tmp_path, receiver)
    site.configure()
    site.deliver_other_schedule()
    receiver.events.clear()
    window = {"maintenance_windows": [{
        "window_id": "audit-migration", "start_at": (site.now - timedelta(hours=1)).isoformat(),
        "end_at": (site.now + timedelta(hours=1)).isoformat(), "providers": ["webhook-audit"],
        "reason": "audit pipeline migration"}]}
    delivered_at = site.now - timedelta(minutes=20)
    with LiveServer(site.app()) as server:
        seeded = httpx.post(f"{server.url}{N}/deliver", headers={"Authorization": f"Bearer {site.token}"},
                            json={"now": delivered_at.isoformat(), "routing_policy": window}, timeout=60)
        assert seeded.status_code == 200, seeded.text
        assert seeded.json()["delivered_count"] == 3 and len(receiver.events) == 3
        assert all(e.signature_verified for e in receiver.events)

        from playwright.sync_api import expect

        tab = Tab(browser, server.url)
        page = tab.page
        page.goto(server.url + "/console")
        cards = page.get_by_test_id("schedule")
        cards.first.wait_for()
        assert cards.count() == 2
        main = page.locator(f'[data-schedule-id="{MAIN_ID}"]')
        other = page.locator(f'[data-schedule-id="{OTHER_ID}"]')

        assert main.get_by_test_id("status").inner_text() == "Needs attention"
        assert main.get_by_test_id("next-due").inner_text() == minute(site.now - timedelta(days=3))
        assert main.get_by_test_id("days-until-due").inner_text() == "3.0 days overdue"
        assert main.get_by_test_id("latest-drill").inner_text() == f"drill-{site.drills[-1]:%Y-%m-%d}"
        assert other.get_by_test_id("status").inner_text() == "Due soon"
        assert other.get_by_test_id("days-until-due").inner_text() == "due in 4.0 days"

        rows = {r.get_attribute("data-route"): [c.inner_text() for c in r.locator("td").all()]
                for r in main.get_by_test_id("decision").all()}
        key = f"{MAIN_ID}:release-governance:"
        assert rows[key + "webhook-audit"][1:5] == ["webhook-audit", "suppress", "maintenance_window",
                                                    "audit pipeline migration"]
        assert rows[key + "webhook"][2:] == ["deliver", "—", "schedule is needs_attention", "delivered"]
        assert rows[key + "slack"][2:5] == ["skip", "not_configured", "provider not configured"]
        assert rows[f"{MAIN_ID}:platform-oncall:webhook-ops"][2] == "deliver"
        routed = [key for key, row in rows.items() if row[3] != "narrowed_out"]
        assert len(routed) == 5, "the narrowed-out pairs are shown too, apart from the five routes"

        assert main.get_by_test_id("timeline-drill").count() == 3
        assert main.get_by_test_id("timeline-due").count() == 1
        targets = main.get_by_test_id("delivery").locator("td:nth-child(7)").all_inner_texts()
        assert targets == [receiver.receiver.url] * 3
        breached = main.locator('[data-testid="outstanding-route"]', has_text="breached").count()
        assert breached == 2  # platform-oncall's 15 minutes have passed, release-governance's 30 have not

        count = main.get_by_test_id("outstanding-count")
        assert count.inner_text() == "3" and page.get_by_test_id("total-outstanding").inner_text() == "4 outstanding"
        ops = main.locator('[data-testid="ack-button"][data-provider="webhook-ops"]')
        ops.click()
        assert "Enter the API token" in page.get_by_test_id("message").inner_text()
        page.get_by_test_id("ack-token").fill(site.governance[:-1] + "x")
        ops.click()
        page.get_by_text("Acknowledgement refused (401): invalid bearer token").wait_for()
        assert page.get_by_test_id("actor").inner_text() == "Token not accepted: no valid bearer token " \
            "(Authorization: Bearer <token>)"
        assert count.inner_text() == "3"
        page.get_by_test_id("ack-token").fill(site.governance)
        page.get_by_test_id("use-token").click()
        expect(page.get_by_test_id("actor")).to_have_text("Acting as release-governance (acknowledge, read)")
        ops.click()
        done = f"Acknowledged platform-oncall via webhook-ops for {MAIN_ID} as release-governance."
        page.get_by_text(done).wait_for()
        expect(count).to_have_text("2")
        assert page.get_by_test_id("total-outstanding").inner_text() == "3 outstanding"
        assert main.get_by_test_id("ack").first.locator("td").all_inner_texts()[1:4] == [
            "platform-oncall via webhook-ops", "release-governance", "acknowledged"]

        shot = tmp_path / "console.png"
        page.screenshot(path=str(shot), full_page=True)
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000
        docs_shot = os.environ.get("CAVRA_CONSOLE_SCREENSHOT")
        if docs_shot:
            page.screenshot(path=docs_shot, full_page=True)

        page.get_by_test_id("ack-token").fill(site.mallory)  # an actor whose configured name is markup
        page.get_by_test_id("use-token").click()
        expect(page.get_by_test_id("actor")).to_have_text(f"Acting as {XSS} (acknowledge)")
        webhook = main.locator('[data-testid="ack-button"][data-provider="webhook"]')
        webhook.first.click()
        expect(count).to_have_text("1")
        assert main.get_by_test_id("ack").first.locator("td").nth(2).inner_text() == XSS
        webhook.first.click()
        expect(count).to_have_text("0")
        assert page.locator("main img").count() == 0 and page.title() != "1"

        total = httpx.get(f"{server.url}{N}", params={"limit": 1}).json()["total"]
        assert total > 5
        page.get_by_test_id("history-size").select_option("5")
        expect(page.get_by_test_id("history-range")).to_have_text(f"1–5 of {total}")
        newest = page.get_by_test_id("history-row").all_inner_texts()
        page.get_by_test_id("history-next").click()
        expect(page.get_by_test_id("history-range")).to_have_text(f"6–{min(10, total)} of {total}")
        assert page.get_by_test_id("history-row").all_inner_texts() != newest
        page.get_by_test_id("history-kind").select_option("ack")
        expect(page.get_by_test_id("history-range")).to_have_text("1–3 of 3")
        assert "release-governance" in page.get_by_test_id("history-row").last.inner_text()

        html = page.content()
        assert site.token not in html
        assert_no_secret_leak(site.secrets, html, *tab.bodies())
        fetched = {r.url.removeprefix(server.url).split("?")[0] for r in tab.responses}
        assert {"/console", "/console/console.js", "/console/console.css", OVERVIEW,
                f"{N}/{MAIN_ID}/acknowledgements"} <= fetched
        assert tab.foreign == [] and tab.errors == [e for e in tab.errors if "401" in e]
        tab.close()


def test_console_with_no_data_in_chromium(browser: Any, tmp_path: Path) -> None:
    with LiveServer(Site(tmp_path).app()) as server:
        tab = Tab(browser, server.url)
        tab.page.goto(server.url + "/console")
        empty = tab.page.get_by_test_id("empty-state")
        empty.wait_for()
        assert "No schedules and no evidence yet" in empty.inner_text()
        assert tab.page.get_by_test_id("total-outstanding").inner_text() == "0 outstanding"
        assert tab.errors == [] and tab.foreign == []
        tab.close()
