"""Routes for failed notifications (docs/retries.md): retry plan, decisions, worker, recovery playbook,
closures, connector test, and the console's view. Each calls the same facade method as its CLI command.

The deciding actor: the verified actor the security middleware resolved (its name and roles; the
single-token setup's actor is an ``admin`` named ``api``). With no identity configured and an allowed
unauthenticated loopback caller, no actor is verified: the caller acts as an ``admin`` named ``api``, as
acknowledgements accept such a caller.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Request
from fastapi.responses import Response
from pydantic import Field

from .. import facade
from .app import reply
from .routes import _actor, _cavra, _doc
from .schemas import Instant, Name, _Body

router = APIRouter()
RETRIES = "/runtime/go-pilot/rollback-drill-retries"
RECOVERY = "/runtime/go-pilot/connector-recovery"
Id = Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9_.:-]+$")
API_ACTOR = ("api", frozenset({"admin"}))


def actor(request: Request) -> tuple[str, frozenset[str]]:
    """The verified actor of this request: (name, roles); ``retries.require_role`` checks the roles."""
    found = _actor(request)
    if found is None:
        return API_ACTOR
    return found.name, found.roles


class PolicyBody(_Body):
    routing_policy: dict[str, Any] | None = Field(default=None, description="a routing policy whose retry_policy "
                                                  "applies (guarded and validated like the --routing-policy file)")
    now: Instant | None = None


class DecisionBody(_Body):
    retry_plan_id: str = Id
    entry_id: str = Id
    decision: Literal["approved", "denied", "deferred", "expired"]
    notes: str | None = Field(default=None, max_length=2000)
    expires_in_minutes: int | None = Field(default=None, ge=1, le=7 * 24 * 60)
    now: Instant | None = None


class WorkerBody(_Body):
    execute: bool = Field(default=False, description="send for real (default: a dry run that sends nothing)")
    limit: int = Field(default=5, ge=1, le=25)
    retry_plan_id: str | None = Field(default=None, min_length=1, max_length=200, pattern=r"^[A-Za-z0-9_.:-]+$",
                                      description="default: the latest retry plan")
    now: Instant | None = None


class ClosureBody(_Body):
    connector: str = Name
    state: Literal["resolved", "mitigated", "deferred", "escalated", "reopened"]
    verification_refs: list[Annotated[str, Field(min_length=1, max_length=200)]] = Field(default=[], max_length=20)
    notes: str | None = Field(default=None, max_length=2000)
    now: Instant | None = None


class NowBody(_Body):
    now: Instant | None = None


@router.post(f"{RETRIES}/plan", **_doc("the recorded retry plan", mutating=True))
def retry_plan(request: Request, body: Annotated[PolicyBody | None, Body()] = None) -> Response:
    body = body or PolicyBody()
    plan = _cavra(request).retry_plan(facade.RetryPlanRequest(routing_policy=body.routing_policy, now=body.now))
    return reply(request, plan.to_json())


@router.post(f"{RETRIES}/decisions", status_code=201, **_doc("the recorded decision", 201, mutating=True))
def decide(request: Request, body: DecisionBody) -> Response:
    name, roles = actor(request)
    approval = _cavra(request).decide_retry(facade.RetryDecisionRequest(
        retry_plan_id=body.retry_plan_id, entry_id=body.entry_id, decision=body.decision, actor=name, roles=roles,
        notes=body.notes, expires_in_minutes=body.expires_in_minutes, now=body.now))
    return reply(request, approval.to_json(), 201)


@router.post(f"{RETRIES}/worker", **_doc("the worker run (a dry run unless execute)", mutating=True))
def worker(request: Request, body: Annotated[WorkerBody | None, Body()] = None) -> Response:
    body = body or WorkerBody()
    run = _cavra(request).retry_worker(facade.RetryWorkerRequest(
        execute=body.execute, limit=body.limit, retry_plan_id=body.retry_plan_id, now=body.now))
    return reply(request, run.to_json())


@router.get(RETRIES, **_doc("retries awaiting a decision, open playbook entries and closures"))
def console_view(request: Request) -> Response:
    return reply(request, _cavra(request).retry_console())


@router.post(f"{RECOVERY}/playbook", **_doc("the recorded recovery playbook", mutating=True))
def playbook(request: Request, body: Annotated[PolicyBody | None, Body()] = None) -> Response:
    body = body or PolicyBody()
    book = _cavra(request).recovery_playbook(facade.RetryPlanRequest(routing_policy=body.routing_policy,
                                                                     now=body.now))
    return reply(request, book.to_json())


@router.post(f"{RECOVERY}/closures", status_code=201, **_doc("the recorded closure", 201, mutating=True))
def closure(request: Request, body: ClosureBody) -> Response:
    name, roles = actor(request)
    record = _cavra(request).close_recovery(facade.ClosureRequest(
        connector=body.connector, state=body.state, actor=name, roles=roles,
        verification_refs=tuple(body.verification_refs), notes=body.notes, now=body.now))
    return reply(request, record.to_json(), 201)


@router.post("/runtime/go-pilot/connectors/{name}/test",
             **_doc("the test notification's delivery evidence: delivered (200) or failed (502)", 200, 502,
                    mutating=True))
def connector_test(request: Request, name: str, body: Annotated[NowBody | None, Body()] = None) -> Response:
    evidence = _cavra(request).test_connector(name, body.now if body else None)
    return reply(request, evidence.to_json(), 200 if evidence.succeeded else 502)
