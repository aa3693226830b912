"""Acknowledgements and the escalation plan, driven through a real SQLite evidence store."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from cavra_notify.acks import ACK_SCHEMA, AckInput, AckSpec, record_ack, record_acks
from cavra_notify.errors import AckRefusedError, InputError, StoreError
from cavra_notify.escalate import due_notices
from cavra_notify.escalation import ESCALATION_SCHEMA, build_escalation_plan, compute_escalation
from cavra_notify.models import OwnerRoute, parse
from cavra_notify.records import EscalationNotice
from cavra_notify.routing import EffectivePolicy
from cavra_notify.store import SQLiteStore, open_store
from cavra_notify.store.sql import SQLStore

DELIVERED = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


def route(owner: str, provider: str, minutes: int, escalation_owner: str | None = None,
          schedule_id: str = "sched-a") -> dict[str, Any]:
    return {"route_key": f"{schedule_id}:{owner}:{provider}", "owner": owner, "provider": provider,
            "acknowledgement_minutes": minutes, "escalation_owner": escalation_owner or owner}


def make_plan(schedule_id: str, plan_id: str, occurrence: str, routes: list[dict[str, Any]],
              generated_at: datetime = DELIVERED - timedelta(minutes=1), action: str = "deliver") -> dict[str, Any]:
    return {
        "schema_version": "cavra.go-backend-pilot.rollback-drill-notification-plan.v1",
        "plan_id": plan_id, "schedule_id": schedule_id, "occurrence": occurrence,
        "generated_at": generated_at.isoformat(), "status": "due_soon", "alert_level": "warning",
        "next_due_at": "2025-03-10T00:00:00Z",
        "route_decisions": [{"route": r, "action": action, "category": None, "reason": "due"} for r in routes],
    }


def deliver(store: SQLiteStore, plan: dict[str, Any], rt: dict[str, Any], at: datetime = DELIVERED,
            outcome: str = "delivered") -> None:
    store.save_evidence({
        "metadata_kind": "release-connector-delivery",
        "connector_delivery_source": "go_backend_rollback_drill_notification",
        "evidence_id": f"ev-{rt['route_key']}-{at.timestamp()}", "event_id": "evt-1",
        "plan_id": plan["plan_id"], "schedule_id": plan["schedule_id"], "occurrence": plan["occurrence"],
        "route_key": rt["route_key"], "provider": rt["provider"], "connector": rt["provider"],
        "outcome": outcome, "status_code": 200, "attempts": [], "started_at": at.isoformat(),
        "completed_at": at.isoformat(), "receipt": {}, "target": "https://127.0.0.1",
        "failure_class": None if outcome != "failed" else "server_error", "error": None,
    })


@pytest.fixture
def store(evidence_db: str) -> Iterator[SQLiteStore]:
    s = open_store(evidence_db)  # on SQLite and on PostgreSQL (both share the SQL store)
    assert isinstance(s, SQLStore)
    yield s  # type: ignore[misc]
    s.close()


@pytest.fixture
def delivered(store: SQLiteStore) -> dict[str, Any]:
    """sched-a, occurrence occ-1: ops via slack (30 min, escalates to ops-lead) and dba via jira (120 min)."""
    routes = [route("ops", "slack", 30, "ops-lead"), route("dba", "jira", 120)]
    plan = make_plan("sched-a", "plan-1", "occ-1", routes)
    store.save_plan(plan)
    for rt in routes:
        deliver(store, plan, rt)
    return plan


def outstanding(store: SQLiteStore, now: datetime) -> dict[str, dict[str, Any]]:
    return {r["route_key"]: r for r in compute_escalation(store, now=now).to_json()["routes"]}


# --- escalation --------------------------------------------------------------------------------


def test_breached_at_exactly_the_ack_minutes_not_one_second_before(store: SQLiteStore,
                                                                    delivered: dict[str, Any]) -> None:
    before = outstanding(store, DELIVERED + timedelta(minutes=30, seconds=-1))["sched-a:ops:slack"]
    assert before["breached"] is False and before["escalate_to"] is None
    assert before["acknowledge_by"] == "2025-03-01T09:30:00Z"
    at = outstanding(store, DELIVERED + timedelta(minutes=30))["sched-a:ops:slack"]
    assert at["breached"] is True and at["escalate_to"] == "ops-lead"


def test_each_route_uses_the_minutes_frozen_in_its_plan(store: SQLiteStore, delivered: dict[str, Any]) -> None:
    routes = outstanding(store, DELIVERED + timedelta(minutes=60))
    assert routes["sched-a:ops:slack"]["acknowledgement_minutes"] == 30
    assert routes["sched-a:ops:slack"]["breached"] is True
    assert routes["sched-a:dba:jira"]["acknowledgement_minutes"] == 120
    assert routes["sched-a:dba:jira"]["breached"] is False
    assert routes["sched-a:dba:jira"]["escalate_to"] is None
    assert outstanding(store, DELIVERED + timedelta(minutes=120))["sched-a:dba:jira"]["escalate_to"] == "dba"


@pytest.mark.parametrize(("state", "clears"),
                         [("acknowledged", True), ("resolved", True), ("dismissed", False), ("escalated", False)])
def test_which_ack_states_clear(store: SQLiteStore, delivered: dict[str, Any], state: str, clears: bool) -> None:
    record_ack(store, schedule_id="sched-a", provider="slack", acknowledged_by="ops-oncall", state=state,
               now=DELIVERED + timedelta(minutes=5))
    routes = outstanding(store, DELIVERED + timedelta(hours=3))
    assert ("sched-a:ops:slack" not in routes) is clears
    assert routes["sched-a:dba:jira"]["breached"] is True, "an ack for slack never clears the jira route"


def test_ack_older_than_a_later_delivery_does_not_clear(store: SQLiteStore, delivered: dict[str, Any]) -> None:
    record_ack(store, schedule_id="sched-a", provider="slack", acknowledged_by="ops", now=DELIVERED)
    assert "sched-a:ops:slack" not in outstanding(store, DELIVERED + timedelta(hours=1))
    renotified = DELIVERED + timedelta(hours=24)
    deliver(store, delivered, delivered["route_decisions"][0]["route"], at=renotified)
    route_ = outstanding(store, renotified + timedelta(minutes=30))["sched-a:ops:slack"]
    assert route_["delivered_at"] == "2025-03-02T09:00:00Z" and route_["breached"] is True


def test_ack_naming_a_plan_of_another_occurrence_does_not_clear(store: SQLiteStore,
                                                               delivered: dict[str, Any]) -> None:
    old_routes = [route("ops", "slack", 30)]
    old = make_plan("sched-a", "plan-old", "occ-0", old_routes, generated_at=DELIVERED - timedelta(days=30))
    store.save_plan(old)
    deliver(store, old, old_routes[0], at=DELIVERED - timedelta(days=30))
    record_ack(store, schedule_id="sched-a", provider="slack", acknowledged_by="ops", plan_id="plan-old",
               now=DELIVERED + timedelta(minutes=1))
    assert "sched-a:ops:slack" in outstanding(store, DELIVERED + timedelta(minutes=2))
    record_ack(store, schedule_id="sched-a", provider="slack", acknowledged_by="ops", plan_id="plan-1",
               now=DELIVERED + timedelta(minutes=3))
    assert "sched-a:ops:slack" not in outstanding(store, DELIVERED + timedelta(minutes=4))


def test_route_suppressed_as_already_notified_in_a_later_plan_stays_outstanding(
        store: SQLiteStore, delivered: dict[str, Any]) -> None:
    routes = [d["route"] for d in delivered["route_decisions"]]
    store.save_plan(make_plan("sched-a", "plan-1b", "occ-1", routes, generated_at=DELIVERED + timedelta(minutes=5),
                              action="suppress"))
    assert store.latest_plan("sched-a")["plan_id"] == "plan-1b"  # type: ignore[index]
    escalation = compute_escalation(store, now=DELIVERED + timedelta(minutes=45)).to_json()
    assert {r["plan_id"] for r in escalation["routes"]} == {"plan-1"}, "the plan that delivered the route"
    assert escalation["breached_route_count"] == 1 and escalation["outstanding_route_count"] == 2


def test_new_occurrence_without_delivery_is_not_outstanding(store: SQLiteStore, delivered: dict[str, Any]) -> None:
    store.save_plan(make_plan("sched-a", "plan-2", "occ-2", [route("ops", "slack", 30)],
                              generated_at=DELIVERED + timedelta(days=1)))
    escalation = compute_escalation(store, now=DELIVERED + timedelta(days=2)).to_json()
    assert escalation["routes"] == [] and escalation["alert_level"] == "healthy"


def test_failed_delivery_is_not_outstanding(store: SQLiteStore) -> None:
    rt = route("ops", "slack", 30)
    plan = make_plan("sched-a", "plan-f", "occ-1", [rt])
    store.save_plan(plan)
    deliver(store, plan, rt, outcome="failed")
    assert compute_escalation(store, now=DELIVERED + timedelta(hours=5)).routes == ()
    deliver(store, plan, rt, at=DELIVERED + timedelta(minutes=1), outcome="accepted")
    assert len(compute_escalation(store, now=DELIVERED + timedelta(hours=5)).routes) == 1


def test_alert_levels_and_schedules_summary(store: SQLiteStore, delivered: dict[str, Any]) -> None:
    other = make_plan("sched-b", "plan-b", "occ-b", [route("web", "teams", 60, schedule_id="sched-b")])
    store.save_plan(other)
    warning = compute_escalation(store, now=DELIVERED + timedelta(minutes=10)).to_json()
    assert warning["alert_level"] == "warning" and warning["outstanding_route_count"] == 2
    critical = compute_escalation(store, now=DELIVERED + timedelta(minutes=30)).to_json()
    assert critical["alert_level"] == "critical" and critical["breached_route_count"] == 1
    summary = {s["schedule_id"]: s for s in critical["schedules"]}
    assert summary["sched-a"]["alert_level"] == "critical" and summary["sched-b"]["alert_level"] == "healthy"
    for provider in ("slack", "jira"):
        record_ack(store, schedule_id="sched-a", provider=provider, acknowledged_by="ops",
                   state="resolved", now=DELIVERED + timedelta(minutes=31))
    assert compute_escalation(store, now=DELIVERED + timedelta(hours=9)).alert_level == "healthy"


def test_build_saves_the_plan_as_evidence(store: SQLiteStore, delivered: dict[str, Any]) -> None:
    plan = build_escalation_plan(store, now=DELIVERED + timedelta(minutes=31), generated_by="sweep").to_json()
    assert plan["schema_version"] == ESCALATION_SCHEMA and plan["generated_by"] == "sweep"
    assert plan["generated_at"] == "2025-03-01T09:31:00Z"
    [saved] = store.history(kind="escalation_plan", schedule_id="sched-a")
    assert saved["payload"] == plan and saved["outcome"] == "critical"
    assert any(r["kind"] == "escalation_plan" for r in store.export("sched-a")["records"])


# --- acknowledgements ---------------------------------------------------------------------------


def test_record_ack_attaches_to_the_latest_plan(store: SQLiteStore, delivered: dict[str, Any]) -> None:
    ack = record_ack(store, schedule_id="sched-a", provider="jira", acknowledged_by="dba-oncall",
                     external_ref="OPS-1234", notes="drill booked for Tuesday",
                     now=datetime.fromisoformat("2025-03-01T11:15:00+01:00")).to_json()
    assert ack.pop("acknowledgement_id").startswith("ack-")
    assert ack == {"schema_version": ACK_SCHEMA, "schedule_id": "sched-a", "plan_id": "plan-1",
                   "occurrence": "occ-1", "provider": "jira", "owner": None, "route_keys": ["sched-a:dba:jira"],
                   "acknowledged_by": "dba-oncall", "actor_verified": False, "acknowledgement_state": "acknowledged",
                   "state": "acknowledged", "external_ref": "OPS-1234", "notes": "drill booked for Tuesday",
                   "acknowledged_at": "2025-03-01T10:15:00Z"}
    [stored] = store.acks("sched-a")
    assert store.acks("sched-b") == [] and stored["route_keys"] == ["sched-a:dba:jira"]
    assert store.get_record(stored["acknowledgement_id"])["payload"] == stored  # type: ignore[index]


def test_record_ack_without_a_plan(store: SQLiteStore) -> None:
    with pytest.raises(InputError, match="schedule 'sched-z' has no recorded notification plan"):
        record_ack(store, schedule_id="sched-z", provider="slack", acknowledged_by="ops", now=DELIVERED)


def test_record_ack_with_an_unknown_or_foreign_plan(store: SQLiteStore, delivered: dict[str, Any]) -> None:
    with pytest.raises(InputError, match="plan 'plan-404' is not in the evidence store"):
        record_ack(store, schedule_id="sched-a", provider="slack", acknowledged_by="ops", plan_id="plan-404",
                   now=DELIVERED)
    with pytest.raises(InputError, match="plan 'plan-1' belongs to schedule 'sched-a', not 'sched-b'"):
        record_ack(store, schedule_id="sched-b", provider="slack", acknowledged_by="ops", plan_id="plan-1",
                   now=DELIVERED)


def test_record_ack_for_a_provider_without_a_delivered_route(store: SQLiteStore) -> None:
    routes = [route("ops", "slack", 30), route("ops", "teams", 30)]
    plan = make_plan("sched-a", "plan-1", "occ-1", routes)
    store.save_plan(plan)
    deliver(store, plan, routes[0])
    deliver(store, plan, routes[1], outcome="failed")
    with pytest.raises(InputError, match=r"no delivered route matches \*:teams in occurrence 'occ-1' of schedule "
                                         r"'sched-a' \(delivered routes: sched-a:ops:slack\)"):
        record_ack(store, schedule_id="sched-a", provider="teams", acknowledged_by="ops", now=DELIVERED)
    with pytest.raises(InputError, match=r"no delivered route matches \*:jira"):
        record_ack(store, schedule_id="sched-a", provider="jira", acknowledged_by="ops", now=DELIVERED)
    with pytest.raises(InputError, match=r"no delivered route matches dba:slack"):
        record_ack(store, schedule_id="sched-a", provider="slack", owner="dba", acknowledged_by="ops", now=DELIVERED)
    with pytest.raises(InputError, match="give the provider"):
        record_ack(store, schedule_id="sched-a", owner="ops", acknowledged_by="ops", now=DELIVERED)
    with pytest.raises(InputError, match="names a route"):
        record_ack(store, schedule_id="sched-a", acknowledged_by="ops", now=DELIVERED)
    assert store.acks() == []


def test_record_ack_rejects_bad_state_naive_time_and_unsafe_text(store: SQLiteStore,
                                                                   delivered: dict[str, Any]) -> None:
    with pytest.raises(InputError, match="invalid acknowledgement state 'seen'"):
        record_ack(store, schedule_id="sched-a", provider="slack", acknowledged_by="ops", state="seen",
                   now=DELIVERED)
    with pytest.raises(InputError, match="no UTC offset"):
        record_ack(store, schedule_id="sched-a", provider="slack", acknowledged_by="ops",
                   now=datetime(2025, 3, 1, 9, 0))
    secret_url = "https://127.0.0.1/hooks/" + "T0" * 10
    with pytest.raises(InputError, match="invalid acknowledgement: notes: must not contain a URL") as info:
        record_ack(store, schedule_id="sched-a", provider="slack", acknowledged_by="ops", notes=secret_url,
                   now=DELIVERED)
    assert secret_url not in str(info.value)
    token = "xoxb-" + "canary" + "0123456789"
    with pytest.raises(InputError, match="external_ref: must not contain a token") as info:
        record_ack(store, schedule_id="sched-a", provider="slack", acknowledged_by="ops", external_ref=token,
                   now=DELIVERED)
    assert token not in str(info.value)
    with pytest.raises(InputError, match="acknowledged_by: String should have at least 1 character"):
        record_ack(store, schedule_id="sched-a", provider="slack", acknowledged_by="", now=DELIVERED)
    assert store.acks() == []


def test_acknowledgement_model_is_strict() -> None:
    base = {"schedule_id": "s", "plan_id": "p", "provider": "slack", "acknowledged_by": "ops",
            "acknowledged_at": "2025-03-01T09:00:00Z"}
    assert AckInput.model_validate(base).state == "acknowledged"
    with pytest.raises(ValidationError, match="extra_forbidden|Extra inputs"):
        AckInput.model_validate({**base, "webhook_url": "x"})
    with pytest.raises(ValidationError, match="timezone"):
        AckInput.model_validate({**base, "acknowledged_at": "2025-03-01T09:00:00"})
    with pytest.raises(ValidationError, match="long token-like"):
        AckInput.model_validate({**base, "notes": "key " + "a1" * 25})
    assert AckInput.model_validate({**base, "external_ref": "go-rollback-drill://drills/42"}).external_ref


# --- routes named by an acknowledgement (issue 16) ----------------------------------------------


@pytest.fixture
def two_owners(store: SQLiteStore) -> dict[str, Any]:
    """ops and dba both reached through slack, ops also through jira."""
    routes = [route("ops", "slack", 30, "ops-lead"), route("dba", "slack", 30, "dba-lead"), route("ops", "jira", 30)]
    plan = make_plan("sched-a", "plan-1", "occ-1", routes)
    store.save_plan(plan)
    for rt in routes:
        deliver(store, plan, rt)
    return plan


def test_acknowledging_one_owner_leaves_the_other_outstanding(store: SQLiteStore, two_owners: dict[str, Any]) -> None:
    ack = record_ack(store, schedule_id="sched-a", provider="slack", owner="ops", acknowledged_by="ops",
                     now=DELIVERED + timedelta(minutes=1))
    assert (ack.owner, ack.route_keys) == ("ops", ("sched-a:ops:slack",))
    assert set(outstanding(store, DELIVERED + timedelta(minutes=2))) == {"sched-a:dba:slack", "sched-a:ops:jira"}
    by_key = record_ack(store, schedule_id="sched-a", route_key="sched-a:ops:jira", acknowledged_by="ops",
                        now=DELIVERED + timedelta(minutes=3))
    assert (by_key.owner, by_key.provider) == ("ops", "jira")
    assert set(outstanding(store, DELIVERED + timedelta(minutes=4))) == {"sched-a:dba:slack"}


def test_a_provider_alone_covers_every_owner_it_reached(store: SQLiteStore, two_owners: dict[str, Any]) -> None:
    ack = record_ack(store, schedule_id="sched-a", provider="slack", acknowledged_by="lead",
                     now=DELIVERED + timedelta(minutes=1))
    assert ack.owner is None and ack.route_keys == ("sched-a:dba:slack", "sched-a:ops:slack")
    assert set(outstanding(store, DELIVERED + timedelta(minutes=2))) == {"sched-a:ops:jira"}


def test_a_later_narrower_plan_hides_no_delivered_route(store: SQLiteStore, two_owners: dict[str, Any]) -> None:
    """The defect of issue 16: a forced single-provider rerun made the other provider's routes vanish."""
    jira_only = make_plan("sched-a", "plan-2", "occ-1", [route("ops", "jira", 30)],
                          generated_at=DELIVERED + timedelta(minutes=10))
    store.save_plan(jira_only)
    deliver(store, jira_only, route("ops", "jira", 30), at=DELIVERED + timedelta(minutes=10))
    routes = outstanding(store, DELIVERED + timedelta(minutes=11))
    assert set(routes) == {"sched-a:ops:slack", "sched-a:dba:slack", "sched-a:ops:jira"}
    assert routes["sched-a:ops:slack"]["plan_id"] == "plan-1" and routes["sched-a:ops:jira"]["plan_id"] == "plan-2"
    assert routes["sched-a:dba:slack"]["acknowledgement_minutes"] == 30, "frozen in the plan that delivered it"
    ack = record_ack(store, schedule_id="sched-a", provider="slack", acknowledged_by="ops",
                     now=DELIVERED + timedelta(minutes=12))
    assert ack.plan_id == "plan-2" and len(ack.route_keys) == 2


def test_an_older_provider_wide_ack_still_clears(store: SQLiteStore, two_owners: dict[str, Any]) -> None:
    store.save_ack({"schema_version": ACK_SCHEMA, "schedule_id": "sched-a", "plan_id": "plan-1", "provider": "slack",
                    "acknowledged_by": "ops", "state": "acknowledged", "external_ref": None, "notes": None,
                    "acknowledged_at": (DELIVERED + timedelta(minutes=1)).isoformat()})
    assert set(outstanding(store, DELIVERED + timedelta(minutes=2))) == {"sched-a:ops:jira"}


def test_bulk_is_all_or_nothing_with_a_reason_per_refusal(store: SQLiteStore, two_owners: dict[str, Any]) -> None:
    good = AckSpec("sched-a", "ops", provider="slack", owner="ops")
    specs = [good, AckSpec("sched-a", "ops", provider="teams"), AckSpec("sched-z", "ops", provider="slack"),
             AckSpec("sched-a", "dba", route_key="sched-a:dba:slack")]
    with pytest.raises(AckRefusedError, match="2 of 4 acknowledgements refused; none was recorded") as info:
        record_acks(store, specs, now=DELIVERED + timedelta(minutes=1))
    assert [(r["index"], r["route"]) for r in info.value.refusals] == [(1, "*:teams"), (2, "*:slack")]
    assert "no delivered route matches" in str(info.value.refusals[0]["reason"])
    assert "no recorded notification plan" in str(info.value.refusals[1]["reason"])
    assert store.acks() == []
    recorded = record_acks(store, [good, specs[3]], now=DELIVERED + timedelta(minutes=1))
    assert [a.route_keys for a in recorded] == [("sched-a:ops:slack",), ("sched-a:dba:slack",)]
    assert len({a.acknowledgement_id for a in recorded}) == 2 and len(store.acks()) == 2
    for count in (0, 101):
        with pytest.raises(InputError, match=f"1 to 100 routes, got {count}"):
            record_acks(store, [good] * count, now=DELIVERED)


def test_bulk_rolls_back_when_the_store_fails_midway(store: SQLiteStore, two_owners: dict[str, Any]) -> None:
    ack = record_ack(store, schedule_id="sched-a", provider="slack", acknowledged_by="ops", now=DELIVERED)
    changed = {**ack.to_json(), "notes": "a different record under the same id"}
    fresh = {**ack.to_json(), "acknowledgement_id": "ack-fresh"}
    with pytest.raises(StoreError, match="already recorded with different content"):
        store.save_acks([fresh, changed])
    assert [a["acknowledgement_id"] for a in store.acks()] == [ack.acknowledgement_id]


# --- which escalations are due -----------------------------------------------------------------


def _escalated(store: SQLiteStore, notice: EscalationNotice, at: datetime) -> None:
    store.record_escalations([{"evidence_id": f"ev-esc-{notice.level}-{at.timestamp()}", "schedule_id": "sched-a",
                               "occurrence": notice.occurrence, "route_key": f"esc-{notice.level}",
                               "connector": "teams", "outcome": "delivered", "completed_at": at.isoformat(),
                               "escalation": notice.to_json()}])


def test_escalations_are_due_once_per_breach_level_by_level(store: SQLiteStore, delivered: dict[str, Any]) -> None:
    assert due_notices(store, now=DELIVERED + timedelta(minutes=29)) == []
    breach = DELIVERED + timedelta(minutes=30)
    [due] = due_notices(store, now=breach)  # dba's route escalates to dba itself: nobody new to tell
    assert (due.notice.breached_route_key, due.notice.escalation_owner, due.notice.level) == (
        "sched-a:ops:slack", "ops-lead", 1)
    assert due.providers == () and due.notice.next_escalation_owner is None, "ops-lead has no owner route"
    lead = parse({"providers": ["teams"], "acknowledgement_minutes": 10, "escalation_owner": "vp"}, "route",
                 OwnerRoute)
    policy = EffectivePolicy(owner_routes={"ops-lead": lead})
    [due] = due_notices(store, now=breach, policies={"sched-a": policy})
    assert due.providers == ("teams",) and due.notice.next_escalation_owner == "vp"
    _escalated(store, due.notice, breach)
    assert due_notices(store, now=breach + timedelta(minutes=9), policies={"sched-a": policy}) == []
    [second] = due_notices(store, now=breach + timedelta(minutes=10), policies={"sched-a": policy})
    assert (second.notice.level, second.notice.escalation_owner, second.providers) == (2, "vp", ()), "unroutable"
    _escalated(store, second.notice, breach + timedelta(minutes=10))
    assert due_notices(store, now=breach + timedelta(days=1), policies={"sched-a": policy}) == []
    renotified = DELIVERED + timedelta(hours=24)  # a new delivery of the route: a new breach, escalated anew
    deliver(store, delivered, delivered["route_decisions"][0]["route"], at=renotified)
    [fresh] = due_notices(store, now=renotified + timedelta(minutes=30), policies={"sched-a": policy})
    assert fresh.notice.level == 1 and fresh.notice.breached_delivered_at == "2025-03-02T09:00:00Z"
