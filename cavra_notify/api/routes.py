"""The routes of SPEC §9. Each parses its request, calls the same facade method as the matching CLI
command and answers with the same JSON as that command's ``--json``."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Query, Request
from fastapi.responses import Response

from .. import facade
from ..errors import AckRefusedError
from ..records import Actor
from .app import ApiState, reply
from .schemas import (
    AckRequest,
    BulkAck,
    BulkAckRequest,
    DeliverRequest,
    Error,
    EscalateRequest,
    EvaluateRequest,
    Instant,
    NowRequest,
    PlanRequest,
)
from .security import ACTOR_KEY

router = APIRouter()
NOTIFICATIONS = "/runtime/go-pilot/rollback-drill-notifications"
Now = Annotated[Instant | None, Query(description="evaluate at this ISO 8601 time (with offset)")]
Text = Annotated[str | None, Query(min_length=1, max_length=200)]
_ERRORS = {400: "bad input", 409: "the server's connector config cannot serve this request",
           413: "request body too large", 422: "invalid request", 503: "evidence store unavailable"}
_AUTH = {401: "missing or invalid bearer token", 403: "mutating routes are disabled (no API token configured)"}


def _doc(ok: str, *codes: int, array: bool = False, mutating: bool = False) -> dict[str, Any]:
    """OpenAPI ``responses``: the success schema and every error code the route can answer with."""
    schema: dict[str, Any] = {"type": "array", "items": {"type": "object"}} if array else {"type": "object"}
    docs: dict[int | str, Any] = {code: {"description": ok, "content": {"application/json": {"schema": schema}}}
                                  for code in codes or (200,)}
    errors = {**_ERRORS, **(_AUTH if mutating else {})}
    docs.update({code: {"model": Error, "description": text} for code, text in errors.items()})
    return {"response_model": None, "responses": docs}


def _state(request: Request) -> ApiState:
    state: ApiState = request.app.state.cavra
    return state


def _cavra(request: Request) -> facade.Cavra:
    return _state(request).cavra


@router.get("/healthz", **_doc("the server is up"))
def healthz(request: Request) -> Response:
    from .. import __version__

    return reply(request, {"status": "ok", "version": __version__})


@router.get("/runtime/go-pilot/rollback-drills", **_doc("drill history report"))
def drills(request: Request, now: Now = None) -> Response:
    return reply(request, _cavra(request).history_report(now))


@router.get("/runtime/go-pilot/rollback-drill-schedule", **_doc("rollback drill schedule report"))
def schedule(request: Request, now: Now = None) -> Response:
    return reply(request, _cavra(request).schedule_report(now).as_dict())


@router.post(f"{NOTIFICATIONS}/plan", **_doc("notification plan (nothing is sent)", mutating=True))
def plan(request: Request, body: Annotated[PlanRequest | None, Body()] = None) -> Response:
    body = body or PlanRequest()
    plan = _cavra(request).plan(facade.PlanRequest(providers=body.provider, force=body.force,
                                                   routing_policy=body.routing_policy, now=body.now))
    return reply(request, plan.to_json())


@router.post(f"{NOTIFICATIONS}/deliver", **_doc("delivered or nothing to deliver (200), partial (207), failed (502)",
                                                200, 207, 502, mutating=True))
def deliver(request: Request, body: Annotated[DeliverRequest | None, Body()] = None) -> Response:
    body = body or DeliverRequest()
    options = facade.DeliveryOptions(retries=body.retries, timeout_seconds=body.timeout_seconds)
    result = _cavra(request).deliver(facade.DeliverRequest(
        providers=body.provider, force=body.force, routing_policy=body.routing_policy, now=body.now, options=options))
    return reply(request, result.redactor.value(result.to_json()), result.http_status)


def _actor(request: Request) -> Actor | None:
    """The verified actor the auth middleware resolved (``None``: none configured, or allowed loopback)."""
    actor: Actor | None = request.scope.get("state", {}).get(ACTOR_KEY)
    return actor


@router.get("/runtime/go-pilot/actor", **_doc("the verified actor of the bearer token: {actor, roles, source}",
                                               mutating=True))
def whoami(request: Request) -> Response:
    actor = _actor(request)
    if actor is None:
        return reply(request, {"error": "no valid bearer token (Authorization: Bearer <token>)", "detail": None}, 401)
    return reply(request, actor.to_json())


def _ack(schedule_id: str, body: AckRequest | BulkAck, now: Any) -> facade.AckRequest:
    return facade.AckRequest(
        schedule_id=schedule_id, provider=body.provider, owner=body.owner, route_key=body.route_key,
        acknowledged_by=body.acknowledged_by, state=facade.ack_state(body.acknowledgement_state, body.state),
        plan_id=body.plan_id, external_ref=body.external_ref, notes=body.notes, now=now)


@router.post(NOTIFICATIONS + "/{schedule_id}/acknowledgements", status_code=201,
             **_doc("the recorded acknowledgement", 201, mutating=True))
def acknowledge(request: Request, schedule_id: str, body: AckRequest) -> Response:
    ack = _cavra(request).acknowledge(_ack(schedule_id, body, body.now), _actor(request))
    return reply(request, ack.to_json(), 201)


@router.post(NOTIFICATIONS + "/acknowledgements", status_code=201,
             **_doc("every acknowledgement recorded (one transaction); 400 with a reason per refused one",
                    201, mutating=True))
def acknowledge_many(request: Request, body: BulkAckRequest) -> Response:
    requests = [_ack(item.schedule_id, item, body.now) for item in body.acknowledgements]
    try:
        acks = _cavra(request).acknowledge_many(requests, _actor(request))
    except AckRefusedError as exc:
        return reply(request, {"error": str(exc), "detail": list(exc.refusals)}, 400)
    return reply(request, {"acknowledgements": [a.to_json() for a in acks]}, 201)


Kind = Literal["plan", "delivery", "ack", "escalation_plan", "escalation", "retry_plan", "retry_approval",
               "retry_execution", "recovery_playbook", "recovery_closure"]


@router.get(NOTIFICATIONS, **_doc("a page of evidence records, newest first: {items, total, limit, offset}"))
def history(request: Request, schedule_id: Text = None, provider: Text = None, connector: Text = None,
            kind: Annotated[Kind | None, Query()] = None, outcome: Text = None,
            acknowledgement_state: Annotated[Literal["acknowledged", "dismissed", "escalated", "resolved"] | None,
                                             Query()] = None,
            since: Now = None, until: Now = None, limit: Annotated[int, Query(ge=1, le=1000)] = 100,
            offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0) -> Response:
    query = facade.HistoryQuery(schedule_id=schedule_id, provider=provider, connector=connector, kind=kind,
                                outcome=outcome, acknowledgement_state=acknowledgement_state, since=since,
                                until=until, limit=limit, offset=offset)
    return reply(request, _cavra(request).history_page(query).to_json())


@router.get(f"{NOTIFICATIONS}/dashboard", **_doc("deliveries, failures, acknowledgements, outstanding routes"))
def dashboard(request: Request, now: Now = None) -> Response:
    return reply(request, _cavra(request).dashboard(now))


@router.post(f"{NOTIFICATIONS}/escalation-plan", **_doc("the recorded escalation plan", mutating=True))
def escalation_plan(request: Request, body: Annotated[NowRequest | None, Body()] = None) -> Response:
    return reply(request, _cavra(request).escalation_plan(body.now if body else None).to_json())


@router.post(f"{NOTIFICATIONS}/escalations",
             **_doc("escalations delivered or none due (200), partial or unroutable (207), failed (502)",
                    200, 207, 502, mutating=True))
def escalate(request: Request, body: Annotated[EscalateRequest | None, Body()] = None) -> Response:
    body = body or EscalateRequest()
    options = facade.DeliveryOptions(retries=body.retries, timeout_seconds=body.timeout_seconds)
    run = _cavra(request).escalate(body.now, options=options)
    status = {"delivered": 200, "nothing_to_deliver": 200, "partial": 207, "failed": 502}[run.outcome]
    return reply(request, run.to_json(), 207 if status == 200 and run.unroutable else status)


@router.get("/deployment/production-readiness", **_doc("readiness with go_backend_rollback_drill_schedule"))
def readiness(request: Request, now: Now = None) -> Response:
    return reply(request, _cavra(request).readiness(now).to_json())


@router.post("/runtime/go-pilot/evaluate", **_doc("the backend selection and its reason", mutating=True))
def evaluate(request: Request, body: EvaluateRequest) -> Response:
    return reply(request, _cavra(request).gate(body.action, body.target, now=body.now).to_json())
