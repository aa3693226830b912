"""Escalation delivered (issue 16), end to end: real ``cavra`` processes sweep a schedule whose owner is
told through a Slack fake; when the acknowledgement is late, the escalation owner is told through a
Teams fake — once per breach, not after an acknowledgement, and a second level after the first."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

slack_fake = pytest.importorskip("cavra_notify_slack.fake")
teams_fake = pytest.importorskip("cavra_notify_teams.fake")

from cavra_notify.store import open_store  # noqa: E402
from cavra_notify.testkit import assert_no_secret_leak  # noqa: E402

from .conftest import example  # noqa: E402

SCHEDULE_ID = "sched_escalation"
ROUTE = f"{SCHEDULE_ID}:ops:slack"
T0 = datetime.now(UTC).replace(microsecond=0)


def at(minutes: int) -> str:
    return (T0 + timedelta(minutes=minutes)).isoformat().replace("+00:00", "Z")


class Site:
    def __init__(self, tmp: Path, slack: Any, teams: Any) -> None:
        self.tmp, self.slack, self.teams = tmp, slack, teams
        self.folder = tmp / "schedules"
        self.folder.mkdir()
        schedule = example("schedule.json")
        schedule.update(
            schedule_id=SCHEDULE_ID, next_due_at=(T0 + timedelta(days=3)).isoformat(), owners=["ops"],
            notification_providers=["slack", "teams"],
            owner_routes={"ops": {"providers": ["slack"], "acknowledgement_minutes": 30, "escalation_owner": "lead"},
                          "lead": {"providers": ["teams"], "acknowledgement_minutes": 20,
                                   "escalation_owner": "director"},
                          "director": {"providers": ["teams"]}})
        (self.folder / "escalation.json").write_text(json.dumps(schedule))
        config = tmp / "connectors.json"
        config.write_text(json.dumps({"connectors": {"slack": {"webhook_url": {"env": "E2E_SLACK_URL"}},
                                                     "teams": {"webhook_url": {"env": "E2E_TEAMS_URL"}}}}))
        self.db = tmp / "evidence.db"
        self.env = {**os.environ, "E2E_SLACK_URL": slack.webhook_url, "E2E_TEAMS_URL": teams.workflow_url,
                    "CAVRA_EVIDENCE_DB": str(self.db), "CAVRA_CONNECTOR_CONFIG": str(config)}
        for name in ("CAVRA_GO_BACKEND_MODE", "CAVRA_GO_ROLLBACK_DRILL_SCHEDULE", "CAVRA_GO_ROLLBACK_DRILL_HISTORY"):
            self.env.pop(name, None)
        self.outputs: list[str] = []

    def cavra(self, *args: str) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run([sys.executable, "-m", "cavra_notify", "runtime", *args], env=self.env,
                              capture_output=True, text=True, timeout=120)
        self.outputs += [proc.stdout, proc.stderr]
        return proc

    def sweep(self, minutes: int) -> dict[str, Any]:
        proc = self.cavra("go-rollback-drill-sweep", "--schedules", str(self.folder), "--json", "--now", at(minutes))
        assert proc.returncode == 0, proc.stderr
        [row] = json.loads(proc.stdout)["schedules"]
        assert row["outcome"] in ("delivered", "nothing_to_deliver"), row
        return dict(row)

    def ack(self, minutes: int) -> None:
        proc = self.cavra("go-rollback-drill-notification-ack", SCHEDULE_ID, "--route-key", ROUTE,
                          "--acknowledged-by", "lead", "--now", at(minutes))
        assert proc.returncode == 0, proc.stderr

    @property
    def told(self) -> tuple[int, int]:
        """(Slack messages to the owner, Teams cards to escalation owners)."""
        return len(self.slack.requests), len(self.teams.requests)

    def escalations(self) -> list[dict[str, Any]]:
        with open_store(self.db) as store:
            return [r["payload"] for r in store.history(kind="escalation")][::-1]


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    secret = "canary" + uuid.uuid4().hex
    with slack_fake.FakeSlack("xoxb-" + secret, webhook_secret=secret) as slack, \
            teams_fake.FakeTeams(sig="canary" + uuid.uuid4().hex) as teams:
        yield Site(tmp_path, slack, teams)


def test_five_sweeps_across_the_breach_escalate_exactly_once(site: Site) -> None:
    rows = [site.sweep(m) for m in (0, 10, 20, 31, 45)]
    assert site.told == (1, 1)
    assert [r["escalated"] for r in rows] == [0, 0, 0, 1, 0]
    [sent] = site.escalations()
    assert sent["metadata_kind"] == "release-connector-escalation" and sent["connector"] == "teams"
    assert sent["owner"] == "lead" and sent["outcome"] == "accepted"
    link = sent["escalation"]
    assert (link["breached_route_key"], link["level"], link["escalation_owner"], link["next_escalation_owner"]) == (
        ROUTE, 1, "lead", "director")
    assert link["acknowledge_by"].startswith(at(30)[:16]) and link["breached_delivered_at"].startswith(at(0)[:16])
    card = json.dumps(site.teams.requests[0].json())
    assert "escalation level 1" in card and ROUTE in card
    plan = json.loads(site.cavra("go-rollback-drill-escalation-plan", "--json", "--now", at(46)).stdout)
    [route] = plan["routes"]
    assert route["escalated_to"] == ["lead"] and route["escalate_to"] == "director"
    assert_no_secret_leak([site.slack.webhook_path, site.teams.sig], *site.outputs,
                          json.dumps(site.escalations()))


def test_an_acknowledgement_before_the_breach_means_no_escalation(site: Site) -> None:
    site.sweep(0)
    site.ack(10)
    for minutes in (20, 31, 45, 70):
        assert site.sweep(minutes)["escalated"] == 0
    assert site.told == (1, 0) and site.escalations() == []


def test_an_acknowledgement_after_the_escalation_stops_the_next_level(site: Site) -> None:
    site.sweep(0)
    assert site.sweep(31)["escalated"] == 1
    site.ack(35)
    for minutes in (45, 60, 100):
        assert site.sweep(minutes)["escalated"] == 0
    assert site.told == (1, 1) and len(site.escalations()) == 1


def test_a_second_level_follows_the_same_rule(site: Site) -> None:
    """The level-1 escalation owner (lead, 20 minutes) lets their time pass: their own escalation owner is
    told, once; nobody already told is told again."""
    assert [site.sweep(m)["escalated"] for m in (0, 31, 50, 52, 53, 120)] == [0, 1, 0, 1, 0, 0]
    assert site.told == (1, 2)
    assert [(e["owner"], e["escalation"]["level"]) for e in site.escalations()] == [("lead", 1), ("director", 2)]
    plan = json.loads(site.cavra("go-rollback-drill-escalation-plan", "--json", "--now", at(121)).stdout)
    assert plan["routes"][0]["escalated_to"] == ["lead", "director"] and plan["routes"][0]["escalate_to"] is None


def test_escalation_plan_deliver_escalates_once(site: Site) -> None:
    site.sweep(0)
    schedule = ["--mode", "promoted", "--rollback-drill-schedule-path", str(site.folder / "escalation.json")]
    first = site.cavra("go-rollback-drill-escalation-plan", "--deliver", "--json", "--now", at(31), *schedule)
    assert first.returncode == 0, first.stderr
    body = json.loads(first.stdout)
    assert body["escalations"]["delivered_count"] == 1, "lead's own owner route: teams"
    assert body["escalation_plan"]["routes"][0]["escalated_to"] == ["lead"]
    again = site.cavra("go-rollback-drill-escalation-plan", "--deliver", "--now", at(33), *schedule)
    assert again.returncode == 0 and "escalation nothing_to_deliver: 0 delivered" in again.stdout
    assert site.told == (1, 1)


def test_without_the_schedule_an_escalation_owner_is_reached_through_the_schedules_providers(site: Site) -> None:
    """From the evidence store alone the escalation owner's owner route is unknown (they are not an owner
    of the schedule): the providers of the plan that was delivered are used."""
    site.sweep(0)
    proc = site.cavra("go-rollback-drill-escalation-plan", "--deliver", "--json", "--now", at(31))
    assert proc.returncode == 0, proc.stderr
    sent = json.loads(proc.stdout)["escalations"]["deliveries"]
    assert sorted((d["owner"], d["connector"]) for d in sent) == [("lead", "slack"), ("lead", "teams")]
    assert site.told == (2, 1)


def test_a_failed_or_unroutable_escalation_makes_its_sweep_row_exit_3() -> None:
    from cavra_notify.records import EscalationNotice, EscalationRun
    from cavra_notify.sweep import SweepRow, _count_escalations

    def notice(schedule_id: str) -> EscalationNotice:
        return EscalationNotice(schedule_id, "occ", f"{schedule_id}:ops:slack", "plan-1", "ops", "slack", at(0),
                                at(30), 1, "lead", 20, None)

    def sent(schedule_id: str, outcome: str) -> dict[str, Any]:
        return {"outcome": outcome, "escalation": notice(schedule_id).to_json()}

    run = EscalationRun(at(31), "partial", (notice("a"), notice("b"), notice("c")),
                        (sent("a", "delivered"), sent("a", "failed"), sent("b", "accepted")), (), (notice("b"),))
    rows = {sid: SweepRow(f"{sid}.json", sid, "due_soon", None, outcome="delivered") for sid in "abc"}
    rows["b"].error = "an earlier problem"
    for sid, row in rows.items():
        _count_escalations(row, run, sid)
    assert [(r.escalated, r.exit_code, r.error) for r in rows.values()] == [
        (1, 3, "escalation: 1 failed, 0 without a provider"),
        (1, 3, "an earlier problem; escalation: 0 failed, 1 without a provider"),
        (0, 0, None)]
