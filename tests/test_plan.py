"""Notification plan user stories (SPEC §4)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest

from cavra_notify import service
from cavra_notify.errors import InputError, SettingsError
from cavra_notify.settings import resolve

from .conftest import NOW

Write = Callable[[str, Any], str]


def plan_for(write_json: Write, schedule: dict[str, Any], *, policy: dict[str, Any] | None = None,
             providers: str | None = None, force: bool = False, now: datetime = NOW,
             configured: set[str] | None = None, last: Any = None) -> dict[str, Any]:
    settings = resolve(mode="promoted", schedule_path=write_json("s.json", schedule), env={})
    ctx = service.Context(settings, now, None)
    report = service.schedule_report(ctx)
    if configured is not None:
        from cavra_notify.connectors import RawConfig

        ctx = service.Context(settings, now, RawConfig("x", {n: {} for n in configured}))
    parsed = service.routing_policy(ctx, path=write_json("p.json", policy)) if policy is not None else None
    return service.notification_plan(ctx, report, parsed, providers=providers, force=force,
                                     last_notified=last).to_json()


def actions(plan: dict[str, Any]) -> dict[tuple[str, str], tuple[str, str | None]]:
    return {(d["route"]["owner"], d["route"]["provider"]): (d["action"], d["category"])
            for d in plan["route_decisions"]}


@pytest.fixture
def due(schedule_doc: dict[str, Any]) -> dict[str, Any]:
    schedule_doc["next_due_at"] = "2026-12-01T00:00:00Z"  # due soon
    schedule_doc["owners"] = ["release-governance", "platform-oncall"]
    schedule_doc["notification_providers"] = ["slack", "teams", "jira"]
    schedule_doc["owner_routes"] = {}
    return schedule_doc


def window(**kw: Any) -> dict[str, Any]:
    return {"window_id": "w-1", "start_at": "2026-11-27T00:00:00Z", "end_at": "2026-11-28T00:00:00Z",
            "reason": "release freeze", **kw}


def test_due_soon_selects_every_eligible_route(write_json: Write, due: dict[str, Any]) -> None:
    plan = plan_for(write_json, due)
    assert plan["status"] == "due_soon" and plan["deliverable_route_count"] == 6
    assert plan["schema_version"] == "cavra.go-backend-pilot.rollback-drill-notification-plan.v1"
    assert plan["message"]["title"] == "CAVRA Go rollback drill schedule warning"
    assert plan["acknowledgement_required_providers"] == ["jira", "slack", "teams"]
    route = plan["owner_routes"][0]
    assert route == {"route_key": "go_backend_python_fallback_monthly:release-governance:slack",
                     "owner": "release-governance", "provider": "slack", "acknowledgement_minutes": 60,
                     "escalation_owner": "release-governance"}


def test_stale_selects_eligible_providers(write_json: Write, due: dict[str, Any]) -> None:
    due["next_due_at"] = "2026-11-01T00:00:00Z"
    plan = plan_for(write_json, due)
    assert plan["status"] == "needs_attention" and plan["alert_level"] == "critical"
    assert plan["deliverable_route_count"] == 6


def test_healthy_suppresses_everything_unless_forced(write_json: Write, due: dict[str, Any]) -> None:
    due["next_due_at"] = "2027-02-01T00:00:00Z"
    plan = plan_for(write_json, due)
    assert plan["deliverable_route_count"] == 0 and plan["healthy_suppressed_count"] == 6
    assert plan_for(write_json, due, force=True)["deliverable_route_count"] == 6


def test_maintenance_window_suppresses_exactly_what_it_names(write_json: Write, due: dict[str, Any]) -> None:
    policy = {"maintenance_windows": [window(owners=["release-governance"], providers=["slack", "teams"])]}
    plan = plan_for(write_json, due, policy=policy)
    got = actions(plan)
    assert got[("release-governance", "slack")] == ("suppress", "maintenance_window")
    assert got[("release-governance", "teams")] == ("suppress", "maintenance_window")
    assert got[("release-governance", "jira")] == ("deliver", None)
    assert all(a == ("deliver", None) for (o, _), a in got.items() if o == "platform-oncall")
    kept = next(d for d in plan["route_decisions"] if d["category"] == "maintenance_window")
    assert kept["window_id"] == "w-1" and kept["reason"] == "release freeze"
    assert plan["maintenance_suppressed_count"] == 2 and plan["suppressed_route_count"] == 2


def test_window_filtered_by_schedule_id(write_json: Write, due: dict[str, Any]) -> None:
    other = plan_for(write_json, due, policy={"maintenance_windows": [window(schedule_ids=["another"])]})
    assert other["maintenance_suppressed_count"] == 0
    mine = plan_for(write_json, due, policy={"maintenance_windows": [window(schedule_ids=[due["schedule_id"]])]})
    assert mine["maintenance_suppressed_count"] == 6


def test_window_that_just_ended_no_longer_suppresses(write_json: Write, due: dict[str, Any]) -> None:
    ended = window(start_at="2026-11-26T00:00:00Z", end_at="2026-11-27T09:00:00Z")  # end == now
    assert plan_for(write_json, due, policy={"maintenance_windows": [ended]})["maintenance_suppressed_count"] == 0
    starts = window(start_at="2026-11-27T09:00:00Z", end_at="2026-11-27T10:00:00Z")  # start == now
    assert plan_for(write_json, due, policy={"maintenance_windows": [starts]})["maintenance_suppressed_count"] == 6


def test_owner_calendar_suppresses_that_owner_only(write_json: Write, due: dict[str, Any]) -> None:
    policy = {"owner_calendars": {"platform-oncall": {"unavailable_windows": [
        {"start_at": "2026-11-26T00:00:00Z", "end_at": "2026-11-30T00:00:00Z", "reason": "public holiday"}]}}}
    plan = plan_for(write_json, due, policy=policy)
    got = actions(plan)
    assert {a for (o, _), a in got.items() if o == "platform-oncall"} == {("suppress", "owner_calendar")}
    assert {a for (o, _), a in got.items() if o == "release-governance"} == {("deliver", None)}
    assert plan["calendar_suppressed_count"] == 3
    assert {d["reason"] for d in plan["route_decisions"] if d["category"] == "owner_calendar"} == {"public holiday"}


def test_each_suppression_counted_once(write_json: Write, due: dict[str, Any]) -> None:
    policy = {"maintenance_windows": [window()], "owner_calendars": {"platform-oncall": {"unavailable_windows": [
        {"start_at": "2026-11-26T00:00:00Z", "end_at": "2026-11-30T00:00:00Z"}]}}}
    plan = plan_for(write_json, due, policy=policy)
    assert plan["maintenance_suppressed_count"] == 6 and plan["calendar_suppressed_count"] == 0
    assert plan["suppressed_route_count"] == 6


@pytest.mark.parametrize(("requested", "providers"), [("slack", {"slack"}), ("slack,teams", {"slack", "teams"}),
                                                      ("all", {"slack", "teams", "jira"})])
def test_provider_flag_narrows(write_json: Write, due: dict[str, Any], requested: str, providers: set[str]) -> None:
    plan = plan_for(write_json, due, providers=requested)
    assert {d["route"]["provider"] for d in plan["route_decisions"]} == providers


def test_unknown_provider_is_a_clear_error(write_json: Write, due: dict[str, Any]) -> None:
    with pytest.raises(SettingsError, match="unknown provider pagerduty"):
        plan_for(write_json, due, providers="slack,pagerduty")


def test_owner_route_narrows_and_sets_ack_and_escalation(write_json: Write, due: dict[str, Any]) -> None:
    due["owner_routes"] = {"release-governance": {"providers": ["jira"], "acknowledgement_minutes": 15,
                                                  "escalation_owner": "platform-lead"}}
    plan = plan_for(write_json, due, policy={"acknowledgement_minutes": 45})
    routes = {(r["owner"], r["provider"]): r for r in plan["owner_routes"]}
    assert set(routes) == {("release-governance", "jira"), ("platform-oncall", "slack"),
                           ("platform-oncall", "teams"), ("platform-oncall", "jira")}
    assert routes[("release-governance", "jira")]["acknowledgement_minutes"] == 15
    assert routes[("release-governance", "jira")]["escalation_owner"] == "platform-lead"
    assert routes[("platform-oncall", "slack")]["acknowledgement_minutes"] == 45


def test_policy_keys_win_over_schedule_keys(write_json: Write, due: dict[str, Any]) -> None:
    due["maintenance_windows"] = [window()]
    assert plan_for(write_json, due)["maintenance_suppressed_count"] == 6
    assert plan_for(write_json, due, policy={"maintenance_windows": []})["maintenance_suppressed_count"] == 0


def test_unconfigured_providers_become_skip_routes(write_json: Write, due: dict[str, Any]) -> None:
    plan = plan_for(write_json, due, configured={"slack"})
    got = actions(plan)
    assert got[("platform-oncall", "teams")] == ("skip", "not_configured")
    assert plan["eligible_providers"] == ["slack"] and plan["skipped_route_count"] == 4
    assert next(d for d in plan["route_decisions"] if d["action"] == "skip")["reason"] == "provider not configured"


def test_repeat_interval_suppresses_same_occurrence(write_json: Write, due: dict[str, Any]) -> None:
    seen: list[str] = []
    keys = [d["route"]["route_key"] for d in plan_for(write_json, due)["route_decisions"]]

    def last(occurrence: str) -> dict[str, datetime]:
        seen.append(occurrence)
        return dict.fromkeys(keys, NOW - timedelta(hours=2))

    plan = plan_for(write_json, due, last=last)
    assert plan["repeat_suppressed_count"] == 6 and seen == [plan["occurrence"]], "asked once, for this occurrence"
    later = plan_for(write_json, due, last=last, now=NOW + timedelta(hours=23))
    assert later["repeat_suppressed_count"] == 0  # 25 h after the last notice: the 24 h interval has passed
    assert plan_for(write_json, due, last=last, force=True)["repeat_suppressed_count"] == 0


def test_long_owner_lists_in_the_message_facts_are_counted_not_listed(write_json: Write,
                                                                     due: dict[str, Any]) -> None:
    due["owners"] = [f"owner-{i:02d}" for i in range(1, 13)]
    plan = plan_for(write_json, due)
    assert plan["message"]["facts"]["owners"] == ", ".join(f"owner-{i:02d}" for i in range(1, 11)) + " and 2 more"
    assert plan["message"]["facts"]["providers"] == "slack, teams, jira", "short lists stay whole"
    assert plan["deliverable_route_count"] == 36, "every owner still gets their own routes"


def test_plan_id_is_stable_and_changes_with_occurrence_or_decision(write_json: Write, due: dict[str, Any]) -> None:
    first = plan_for(write_json, due)
    assert plan_for(write_json, due, now=NOW + timedelta(minutes=5))["plan_id"] == first["plan_id"]
    due_later = dict(due, next_due_at="2026-12-02T00:00:00Z")
    assert plan_for(write_json, due_later)["plan_id"] != first["plan_id"]
    assert plan_for(write_json, due, policy={"maintenance_windows": [window()]})["plan_id"] != first["plan_id"]


@pytest.mark.parametrize(("policy", "words"), [
    ({"maintenance_windows": [{"window_id": 5, "start_at": "x"}]}, "$.maintenance_windows[0]"),
    ({"maintenance_windows": [window(start_at="2026-11-28T00:00:00Z", end_at="2026-11-27T00:00:00Z")]},
     "end_at must be after start_at"),
    ({"maintenance_windows": [window(start_at="2026-11-27T00:00:00")]}, "$.maintenance_windows[0].start_at"),
    ({"owner_routes": {"ops": {"providers": "slack"}}}, "$.owner_routes.ops.providers"),
    ({"maintenance_windows": [window(reason="see https://status.example.com")]},
     "$.maintenance_windows[0].reason: contains a URL"),
    ({"acknowledgement_minutes": -5}, "$.acknowledgement_minutes"),
])
def test_bad_routing_policy_names_the_path(write_json: Write, due: dict[str, Any], policy: dict[str, Any],
                                           words: str) -> None:
    with pytest.raises(InputError) as caught:
        plan_for(write_json, due, policy=policy)
    assert words in str(caught.value) and "routing policy" in str(caught.value)
