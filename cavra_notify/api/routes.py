"""The routes of SPEC §9. Each calls the same core function as the matching CLI command and answers
with the same JSON as that command's ``--json``."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Query, Request
from fastapi.responses import Response

from .. import gate, service
from ..history import history_report
from ..timeutil import utcnow
from .app import ApiState, reply
from .schemas import AckRequest, DeliverRequest, Error, EvaluateRequest, Instant, NowRequest, PlanRequest

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


@router.get("/healthz", **_doc("the server is up"))
def healthz(request: Request) -> Response:
    from .. import __version__

    return reply(request, {"status": "ok", "version": __version__})


@router.get("/runtime/go-pilot/rollback-drills", **_doc("drill history report"))
def drills(request: Request, now: Now = None) -> Response:
    ctx = _state(request).context(now)
    return reply(request, history_report(ctx.settings, ctx.now, ctx.deny_names))


@router.get("/runtime/go-pilot/rollback-drill-schedule", **_doc("rollback drill schedule report"))
def schedule(request: Request, now: Now = None) -> Response:
    return reply(request, service.schedule_report(_state(request).context(now)).as_dict())


@router.post(f"{NOTIFICATIONS}/plan", **_doc("notification plan (nothing is sent)", mutating=True))
def plan(request: Request, body: Annotated[PlanRequest | None, Body()] = None) -> Response:
    body = body or PlanRequest()
    ctx = _state(request).context(body.now)
    report = service.schedule_report(ctx)
    policy = service.routing_policy(ctx, document=body.routing_policy)
    return reply(request, service.notification_plan(ctx, report, policy, providers=body.provider, force=body.force))


@router.post(f"{NOTIFICATIONS}/deliver", **_doc("delivered or nothing to deliver (200), partial (207), failed (502)",
                                                200, 207, 502, mutating=True))
def deliver(request: Request, body: Annotated[DeliverRequest | None, Body()] = None) -> Response:
    from ..delivery import Options

    body = body or DeliverRequest()
    state = _state(request)
    ctx = state.context(body.now)
    report = service.schedule_report(ctx)
    policy = service.routing_policy(ctx, document=body.routing_policy)
    options = Options(retries=body.retries, timeout=body.timeout_seconds, deadline=60.0)
    result = service.deliver(ctx, report, policy, store=state.store(), providers=body.provider, force=body.force,
                             options=options, generated_by="cavra api")
    return reply(request, result.redactor.value(result.as_dict()), result.http_status)


@router.post(NOTIFICATIONS + "/{schedule_id}/acknowledgements", status_code=201,
             **_doc("the recorded acknowledgement", 201, mutating=True))
def acknowledge(request: Request, schedule_id: str, body: AckRequest) -> Response:
    from ..acks import record_ack

    ack = record_ack(_state(request).store(), schedule_id=schedule_id, provider=body.provider,
                     acknowledged_by=body.acknowledged_by, state=body.state, plan_id=body.plan_id,
                     external_ref=body.external_ref, notes=body.notes, now=body.now or utcnow())
    return reply(request, ack, 201)


@router.get(NOTIFICATIONS, **_doc("evidence records, newest first", array=True))
def history(request: Request, schedule_id: Text = None, provider: Text = None,
            kind: Annotated[Literal["plan", "delivery", "ack", "escalation_plan"] | None, Query()] = None,
            outcome: Text = None, since: Now = None, until: Now = None,
            limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> Response:
    records = _state(request).store().history(schedule_id=schedule_id, provider=provider, kind=kind,
                                              outcome=outcome, since=since, until=until, limit=limit)
    return reply(request, records)


@router.get(f"{NOTIFICATIONS}/dashboard", **_doc("deliveries, failures, acknowledgements, outstanding routes"))
def dashboard(request: Request, now: Now = None) -> Response:
    from ..dashboard import build_dashboard

    return reply(request, build_dashboard(_state(request).store(), now or utcnow()))


@router.post(f"{NOTIFICATIONS}/escalation-plan", **_doc("the recorded escalation plan", mutating=True))
def escalation_plan(request: Request, body: Annotated[NowRequest | None, Body()] = None) -> Response:
    from ..escalation import build_escalation_plan

    now = (body.now if body else None) or utcnow()
    return reply(request, build_escalation_plan(_state(request).store(), now=now, generated_by="cavra api"))


@router.get("/deployment/production-readiness", **_doc("readiness with go_backend_rollback_drill_schedule"))
def readiness(request: Request, now: Now = None) -> Response:
    ctx = _state(request).context(now)
    report = service.schedule_report(ctx)
    return reply(request, gate.production_readiness(report, history_report(ctx.settings, ctx.now, ctx.deny_names)))


@router.post("/runtime/go-pilot/evaluate", **_doc("the backend selection and its reason", mutating=True))
def evaluate(request: Request, body: EvaluateRequest) -> Response:
    state = _state(request)
    ctx = state.context(body.now)
    report = service.schedule_report(ctx)
    paths = gate.evidence_paths({}, state.env)
    return reply(request, gate.evaluate(body.action, body.target, ctx.settings.mode, report, paths))
