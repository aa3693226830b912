"""Issue 17 refusals and rules, in process through the facade (the chain itself: test_retries_e2e.py)."""

from __future__ import annotations

import copy
import json
import sqlite3
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("cavra_notify_webhook")

from cavra_notify import facade  # noqa: E402
from cavra_notify.errors import ForbiddenError, InputError  # noqa: E402
from cavra_notify.retries import require_role  # noqa: E402
from cavra_notify.store import Filed, open_store  # noqa: E402
from cavra_notify.testkit import FakeReceiver, Response  # noqa: E402

from .conftest import NOW, example  # noqa: E402


def at(minutes: float) -> Any:
    return NOW + timedelta(minutes=minutes)


@pytest.fixture
def receiver() -> Iterator[FakeReceiver]:
    with FakeReceiver() as rx:
        yield rx


@pytest.fixture
def cavra(tmp_path: Path, receiver: FakeReceiver, monkeypatch: pytest.MonkeyPatch) -> Iterator[facade.Cavra]:
    schedule = copy.deepcopy(example("schedule.json"))
    schedule.update(schedule_id="sched_r", notification_providers=["webhook"], owner_routes={},
                    next_due_at=(NOW + timedelta(days=3)).isoformat())
    (tmp_path / "schedule.json").write_text(json.dumps(schedule))
    (tmp_path / "history.json").write_text(json.dumps(example("history.json")))
    (tmp_path / "connectors.json").write_text(json.dumps(
        {"connectors": {"webhook": {"provider": "webhook", "url": {"env": "R_URL"}}}}))
    monkeypatch.setenv("R_URL", receiver.url + "/hook")
    env = {"CAVRA_GO_BACKEND_MODE": "promoted",
           "CAVRA_GO_ROLLBACK_DRILL_SCHEDULE": str(tmp_path / "schedule.json"),
           "CAVRA_GO_ROLLBACK_DRILL_HISTORY": str(tmp_path / "history.json"),
           "CAVRA_CONNECTOR_CONFIG": str(tmp_path / "connectors.json")}
    with facade.Cavra.from_flags(env=env, evidence_db=str(tmp_path / "ev.db")) as c:
        yield c


def fail_all(cavra: facade.Cavra, receiver: FakeReceiver, minutes: float = 0) -> None:
    receiver.enqueue(Response(502), Response(502))
    result = cavra.deliver(facade.DeliverRequest(now=at(minutes), force=True,
                                                 options=facade.DeliveryOptions(retries=0)))
    assert result.outcome == "failed"


def decide(cavra: facade.Cavra, plan: Any, index: int, decision: str, minutes: float = 20, **extra: Any) -> Any:
    return cavra.decide_retry(facade.RetryDecisionRequest(
        retry_plan_id=plan.retry_plan_id, entry_id=plan.entries[index].entry_id, decision=decision,
        actor="release-manager", roles=facade.ALL_ROLES, now=at(minutes), **extra))


def work(cavra: facade.Cavra, minutes: float, execute: bool = True) -> Any:
    return cavra.retry_worker(facade.RetryWorkerRequest(execute=execute, now=at(minutes),
                                                        options=facade.DeliveryOptions(retries=0)))


def reasons(run: Any) -> list[str]:
    return sorted(r.reason for r in run.refusals)


def test_every_refusal_has_its_own_reason(cavra: facade.Cavra, receiver: FakeReceiver) -> None:
    fail_all(cavra, receiver)
    plan = cavra.retry_plan(facade.RetryPlanRequest(now=at(20)))
    assert [e.action for e in plan.entries] == ["retry", "retry"]
    assert reasons(work(cavra, 20)) == ["missing_approval", "missing_approval"]
    decide(cavra, plan, 0, "denied")
    decide(cavra, plan, 1, "deferred")
    assert reasons(work(cavra, 21)) == ["deferred", "denied"]
    decide(cavra, plan, 0, "approved", minutes=22, expires_in_minutes=5)
    decide(cavra, plan, 1, "expired", minutes=22)
    assert reasons(work(cavra, 28)) == ["expired", "expired"]  # one past its expiry, one marked expired
    sent = len(receiver.requests)
    assert sent == 2  # nothing was sent by any refused run
    decide(cavra, plan, 0, "approved", minutes=30)
    run = work(cavra, 31)
    assert [x.status for x in run.executions] == ["delivered"] and len(receiver.requests) == 3
    assert reasons(work(cavra, 32)) == ["approval_used", "expired"]
    assert len(receiver.requests) == 3


def test_an_approval_bound_to_other_evidence_is_refused(cavra: facade.Cavra, receiver: FakeReceiver) -> None:
    fail_all(cavra, receiver)
    plan = cavra.retry_plan(facade.RetryPlanRequest(now=at(20)))
    approval = decide(cavra, plan, 0, "approved").to_json()
    forged = {**approval, "approval_id": "apr-forged", "entry_id": plan.entries[1].entry_id}  # reused elsewhere
    cavra.store().save_records([Filed("retry_approval", "apr-forged", at(21), forged, schedule_id="sched_r",
                                      outcome="approved")])
    run = work(cavra, 22)
    assert [(r.entry_id, r.reason) for r in run.refusals] == [(plan.entries[1].entry_id, "approval_mismatch")]
    assert len(run.executions) == 1 and len(receiver.requests) == 3


def test_an_approval_is_claimed_once_even_by_two_workers(cavra: facade.Cavra, receiver: FakeReceiver) -> None:
    fail_all(cavra, receiver)
    plan = cavra.retry_plan(facade.RetryPlanRequest(now=at(20)))
    approval = decide(cavra, plan, 0, "approved")
    store = cavra.store()
    assert store.use_approval(approval.approval_id, "wrk-a", at(21)) is True
    assert store.use_approval(approval.approval_id, "wrk-b", at(21)) is False
    run = work(cavra, 22)  # the claim was taken (by a worker that crashed before recording): nothing is sent
    assert reasons(run) == ["approval_used", "missing_approval"] and len(receiver.requests) == 2


def test_plan_actions_wait_suppress_superseded_not_retryable(cavra: facade.Cavra, receiver: FakeReceiver,
                                                            tmp_path: Path) -> None:
    policy = {"retry_policy": {"delay_minutes": 10, "backoff_multiplier": 3, "max_retry_executions": 1}}
    (tmp_path / "policy.json").write_text(json.dumps(policy))
    request = facade.RetryPlanRequest(routing_policy_path=str(tmp_path / "policy.json"), now=at(5))
    fail_all(cavra, receiver)
    plan = cavra.retry_plan(request)
    assert {e.action for e in plan.entries} == {"wait"} and plan.policy.source == "routing_policy"
    plan = cavra.retry_plan(replace(request, now=at(11)))
    decide(cavra, plan, 0, "approved", minutes=11)
    receiver.enqueue(Response(503))  # the approved retry fails too
    assert [x.status for x in work(cavra, 12).executions] == ["failed"]
    plan = cavra.retry_plan(replace(request, now=at(13)))
    assert {e.action for e in plan.entries} == {"suppress", "retry"}  # the cap is 1 retry execution
    receiver.enqueue(Response(401))
    cavra.deliver(facade.DeliverRequest(now=at(14), force=True, options=facade.DeliveryOptions(retries=0)))
    plan = cavra.retry_plan(replace(request, now=at(15)))
    assert sorted(e.action for e in plan.entries) == ["not_retryable", "superseded"]
    with pytest.raises(InputError, match="only a 'retry' entry can be approved"):
        decide(cavra, plan, 0, "approved", minutes=15)


def test_closure_needs_a_later_success_through_that_connector(cavra: facade.Cavra, receiver: FakeReceiver) -> None:
    def close(state: str, *refs: str, minutes: float = 40) -> Any:
        return cavra.close_recovery(facade.ClosureRequest(connector="webhook", state=state, actor="ops",
                                                          roles=frozenset({"approve"}), verification_refs=refs,
                                                          now=at(minutes)))

    with pytest.raises(InputError, match="no recorded failure"):
        close("deferred")
    ok = cavra.deliver(facade.DeliverRequest(now=at(0), force=True)).evidence[0]  # success before the failure
    fail_all(cavra, receiver, minutes=1)
    with pytest.raises(InputError, match="needs a verification ref"):
        close("resolved")
    with pytest.raises(InputError, match="needs a verification ref"):
        close("mitigated", ok.evidence_id)
    with pytest.raises(InputError, match="not a recorded evidence id"):
        close("resolved", "ev-unknown")
    assert close("escalated").state == "escalated"  # no proof needed to escalate
    test = cavra.test_connector("webhook", at(30))
    assert test.succeeded and test.schedule_id == "cavra-connector-test"
    closure = close("mitigated", test.evidence_id)
    assert closure.verification_refs == (test.evidence_id,)


def test_an_actor_without_the_approve_role_is_refused(cavra: facade.Cavra, receiver: FakeReceiver) -> None:
    fail_all(cavra, receiver)
    plan = cavra.retry_plan(facade.RetryPlanRequest(now=at(20)))
    for roles in (frozenset(), frozenset({"read", "deliver", "acknowledge"})):
        with pytest.raises(ForbiddenError, match="needs the 'approve' role"):
            cavra.decide_retry(facade.RetryDecisionRequest(plan.retry_plan_id, plan.entries[0].entry_id, "approved",
                                                           "reader", roles, now=at(20)))
        with pytest.raises(ForbiddenError):
            cavra.close_recovery(facade.ClosureRequest("webhook", "deferred", "reader", roles, now=at(20)))
    require_role(frozenset({"admin"}), "approve")
    require_role(frozenset({"approve"}), "approve")
    assert cavra.store().history(kind="retry_approval") == []


def test_decisions_refuse_bad_input(cavra: facade.Cavra, receiver: FakeReceiver) -> None:
    fail_all(cavra, receiver)
    plan = cavra.retry_plan(facade.RetryPlanRequest(now=at(20)))
    with pytest.raises(InputError, match="no retry plan"):
        cavra.decide_retry(facade.RetryDecisionRequest("rtp-nope", "x", "approved", "a", facade.ALL_ROLES))
    with pytest.raises(InputError, match="has no entry"):
        cavra.decide_retry(facade.RetryDecisionRequest(plan.retry_plan_id, "x", "approved", "a", facade.ALL_ROLES))
    with pytest.raises(InputError, match="not public-safe"):
        decide(cavra, plan, 0, "approved", notes="see https://intranet.example.corp/x")
    with pytest.raises(InputError, match="actor"):
        cavra.decide_retry(facade.RetryDecisionRequest(plan.retry_plan_id, plan.entries[0].entry_id, "approved",
                                                       "two words", facade.ALL_ROLES))
    with pytest.raises(InputError, match="limit"):
        cavra.retry_worker(facade.RetryWorkerRequest(limit=26))


def test_migration_3_keeps_records_and_their_schedules(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with open_store(path) as store:
        store.save_escalation_plan({"generated_at": "2026-11-27T09:00:00Z", "alert_level": "info",
                                    "schedules": [{"schedule_id": "s1"}]})
    raw = sqlite3.connect(path)  # back to a version-2 store
    raw.executescript("DROP TABLE approval_uses; DELETE FROM schema_version WHERE version = 3;")
    raw.close()
    with open_store(path) as store:
        assert [r["kind"] for r in store.export("s1")["records"]] == ["escalation_plan"]
        store.save_records([Filed("retry_plan", "rtp-1", NOW, {"x": 1}, schedules=("s1",))])
        assert [r["kind"] for r in store.history(schedule_id="s1")] == ["retry_plan", "escalation_plan"]


def test_a_provider_category_is_declared_or_follows_its_name() -> None:
    from pydantic import BaseModel

    from cavra_notify.provider import Provider, provider_category
    from cavra_notify.recovery import category_of

    def deliver(request: Any) -> Any:
        raise NotImplementedError

    assert provider_category(Provider("pager", BaseModel, deliver, category="paging")) == "paging"
    assert [provider_category(Provider(n, BaseModel, deliver)) for n in ("slack", "jira", "webhook", "x")] == [
        "chatops", "itsm", "webhook", "other"]
    assert category_of("p", {"p": "Not Safe https://x"}) == "other"


def test_a_failed_connector_test_counts_in_the_playbook_but_is_never_retried(cavra: facade.Cavra,
                                                                           receiver: FakeReceiver) -> None:
    receiver.enqueue(Response(503), Response(503))
    for minute in (0, 1):
        evidence = cavra.test_connector("webhook", at(minute), facade.DeliveryOptions(retries=0))
        assert evidence.outcome == "failed" and evidence.failure_class == "server_error"
    assert cavra.retry_plan(facade.RetryPlanRequest(now=at(30))).entries == ()
    [entry] = cavra.recovery_playbook(facade.RetryPlanRequest(now=at(30))).entries
    assert (entry.connector, entry.failure_count, entry.status) == ("webhook", 2, "open")
