"""Delivery core (SPEC §6): concurrent, bounded, retried, idempotent dispatch of a plan's routes.

Every ``deliver`` route goes to the connector of the same name through its provider plugin. Routes run
concurrently (bounded per provider); each attempt has a timeout; retryable failures back off with
jitter, honour ``Retry-After`` and stop at the attempt cap or the overall deadline. With a store, the
notification log records intent before the send and the outcome after, so a rerun never notifies twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import inspect
import json
import math
import random
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from .connectors import Connector
from .failures import classify_exception
from .loops import ProviderLoops
from .provider import DeliveryFailure, DeliveryRequest, FailureClass, Provider, Receipt
from .recorder import Recorder
from .records import Attempt, DeliveryEvidence, Event, Plan, Route, SkippedRoute
from .redact import Redactor, process_redactor, seed
from .timeutil import iso

if TYPE_CHECKING:
    from .plugins import Registry
    from .store import ClaimResult, EvidenceStore

OUTCOME_EXIT = {"delivered": 0, "nothing_to_deliver": 0, "partial": 3, "failed": 4}
OUTCOME_HTTP = {"delivered": 200, "nothing_to_deliver": 200, "partial": 207, "failed": 502}
RECEIPT_OUTCOMES = ("delivered", "accepted")
# Evidence fields that carry anything a plan, plugin, connector or SDK supplied: the redactor scans
# these. The others the core makes itself (constants, enum values, hashes, a uuid, its own clock and
# attempt records); scanning them could only corrupt an id or a timestamp that happens to contain a
# short secret such as "2026".
SCANNED_FIELDS = ("event_id", "event_type", "plan_id", "schedule_id", "occurrence", "route_key", "owner",
                  "provider", "connector", "error", "receipt", "target")


@dataclass(frozen=True)
class Options:
    retries: int = 2
    timeout: float = 10.0
    deadline: float = 120.0
    backoff: float = 0.5
    max_backoff: float = 30.0
    max_concurrency: int = 64
    lease_seconds: float = 300.0


@dataclass(repr=False)
class Result:
    """The overall outcome plus one evidence record per attempted route (and skipped ones)."""

    outcome: str
    plan: Plan
    event: Event
    evidence: list[DeliveryEvidence] = field(default_factory=list)
    skipped: list[SkippedRoute] = field(default_factory=list)
    redactor: Redactor = field(default_factory=process_redactor)

    def __repr__(self) -> str:  # short: asyncio formats the run's task (and so its result) on exit
        return f"Result(outcome={self.outcome!r}, evidence={len(self.evidence)}, skipped={len(self.skipped)})"

    @property
    def exit_code(self) -> int:
        return OUTCOME_EXIT[self.outcome]

    @property
    def http_status(self) -> int:
        return OUTCOME_HTTP[self.outcome]

    def to_json(self) -> dict[str, Any]:
        return {"outcome": self.outcome, "plan_id": self.plan.plan_id, "event": self.event.to_json(),
                "deliveries": [e.to_json() for e in self.evidence], "skipped": [s.to_json() for s in self.skipped],
                "delivered_count": sum(e.succeeded for e in self.evidence),
                "failed_count": sum(e.outcome == "failed" for e in self.evidence)}


def delivery_key(occurrence: str, route_key: str, connector: str, previous: datetime | None = None) -> str:
    """The idempotency key of one notification: (occurrence, route, connector) and the time of the
    route's previous successful notification in that occurrence, if any. Retries and crash settles of a
    notification reuse its key; a reminder after the repeat interval or a forced resend follows a success,
    so it is a new notification with a new key (docs/delivery.md)."""
    sequence = f"\n{iso(previous)}" if previous is not None else ""
    return hashlib.sha256(f"{occurrence}\n{route_key}\n{connector}{sequence}".encode()).hexdigest()[:32]


def backoff_delay(attempt: int, options: Options, retry_after: float | None, rng: random.Random) -> float:
    """Exponential backoff with full jitter; a server's ``Retry-After`` is a floor."""
    delay = rng.uniform(0, min(options.max_backoff, options.backoff * 2 ** (attempt - 1)))
    return max(delay, retry_after or 0.0)


def _in_daemon_thread(provider: Provider, request: DeliveryRequest) -> asyncio.Future[Any]:
    """Run a sync ``deliver`` in a daemon thread, so a hung plugin never blocks exit or others."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[Any] = loop.create_future()

    def settle(value: Any, error: BaseException | None) -> None:
        if not future.done():
            future.set_exception(error) if error else future.set_result(value)

    def run() -> None:
        error: BaseException | None = None
        try:
            value = provider.deliver(request)
        except Exception as exc:
            value, error = None, exc
        except BaseException as exc:  # SystemExit & co. from a plugin must not end the whole run
            value, error = None, DeliveryFailure(FailureClass.PLUGIN_ERROR, f"{type(exc).__name__} in deliver")
        with contextlib.suppress(RuntimeError):  # the loop closed after a timeout: nobody waits any more
            loop.call_soon_threadsafe(settle, value, error)

    threading.Thread(target=run, name=f"cavra-{provider.name}", daemon=True).start()
    return future


def _target(provider: Provider, connector: Connector) -> str | None:
    """The connector's target URL; a plugin whose ``target`` raises costs only its own evidence field."""
    try:
        return provider.target(connector.settings) or None
    except Exception:
        return None


def _json_safe(details: object) -> bool:
    """Whether a receipt's details are plain JSON, as the store encodes them (no NaN, bytes, objects)."""
    if not isinstance(details, Mapping):
        return False
    try:
        json.dumps(details, sort_keys=True, allow_nan=False)
    except (TypeError, ValueError, RecursionError):
        return False
    return True


def _int_or_none(value: object) -> int | None:
    return value if type(value) is int else None


def _finite_or_none(value: object) -> float | None:
    """A plugin-supplied number as evidence can hold it: a finite float, else nothing."""
    if type(value) in (int, float) and math.isfinite(value):  # type: ignore[arg-type]
        return float(value)  # type: ignore[arg-type]
    return None


async def _call(provider: Provider, request: DeliveryRequest, loops: ProviderLoops) -> Receipt:
    if inspect.iscoroutinefunction(provider.deliver):
        result = await loops.submit(provider.name, provider.deliver(request))  # type: ignore[arg-type]
    else:
        result = await _in_daemon_thread(provider, request)
        if inspect.iscoroutine(result):
            result = await loops.submit(provider.name, result)
        elif inspect.isawaitable(result):
            result = await result
    if not isinstance(result, Receipt):
        what = type(result).__name__
        raise DeliveryFailure(FailureClass.PLUGIN_ERROR, f"{provider.name} returned {what}, not a Receipt")
    if result.outcome not in RECEIPT_OUTCOMES or type(result.status_code) not in (int, type(None)):
        raise DeliveryFailure(FailureClass.PLUGIN_ERROR, f"{provider.name} returned a Receipt whose outcome is "
                              "not 'delivered' or 'accepted' or whose status_code is not an int")
    if not _json_safe(result.details):  # one route's odd receipt must never stop the others' evidence
        raise DeliveryFailure(FailureClass.PLUGIN_ERROR, f"{provider.name} returned a Receipt whose details are not "
                              "a JSON object (a non-finite number, bytes or another non-JSON value)")
    return result


class Dispatcher:
    """Delivers one plan. Construct, then ``await run()`` (or call :func:`deliver_plan`)."""

    def __init__(self, plan: Plan, connectors: Mapping[str, Connector], registry: Registry,
                 options: Options, redactor: Redactor, store: EvidenceStore | None = None,
                 force: bool = False, rng: random.Random | None = None, now: datetime | None = None) -> None:
        self.plan, self.connectors, self.registry = plan, connectors, registry
        self.options, self.redactor, self.store, self.force = options, redactor, store, force
        self.rng = rng or random.Random()
        self.event = Event.of(plan)
        self._limits: dict[str, asyncio.Semaphore] = {}
        self._global = asyncio.Semaphore(options.max_concurrency)
        self._loops = ProviderLoops()
        self._started = time.monotonic()
        self._origin = now or datetime.now(UTC)

    def clock(self) -> datetime:
        """The run's clock: the evaluation time (``--now``) advanced by the real time elapsed since."""
        return self._origin + timedelta(seconds=time.monotonic() - self._started)

    def _limit(self, provider: Provider) -> asyncio.Semaphore:
        return self._limits.setdefault(provider.name, asyncio.Semaphore(max(1, provider.concurrency)))

    async def run(self) -> Result:
        routes = self.plan.deliverable
        keys = [delivery_key(self.plan.occurrence, r.route_key, r.provider) for r in routes]
        claims: list[ClaimResult] = ["send"] * len(routes)
        recorder = Recorder(self.store, self.registry, deadline=self._started + self.options.deadline)
        if self.store is not None and self.plan.schedule_id is not None:  # not_requested: nothing to record
            claims, keys = await asyncio.to_thread(self._claim_all, routes)
        try:
            outcomes = await asyncio.gather(*(self._route(route, key, claim, recorder)
                                              for route, key, claim in zip(routes, keys, claims, strict=True)))
        finally:
            self._loops.close()
        await recorder.finish()
        evidence = [o for o in outcomes if isinstance(o, DeliveryEvidence)]
        skipped = [o for o in outcomes if isinstance(o, SkippedRoute)]
        return Result(_overall(evidence), self.plan, self.event, evidence, skipped, self.redactor)

    def _claim_all(self, routes: list[Route]) -> tuple[list[ClaimResult], list[str]]:
        """Save the plan, then record the intent to send every route, before anything is sent; each
        route's key follows its previous successful notification in this occurrence."""
        from .store import RouteClaim

        assert self.store is not None
        self.store.save_plan(self.plan.to_json())
        occurrence = self.plan.occurrence
        previous = self.store.notified_routes(occurrence)
        keys = [delivery_key(occurrence, r.route_key, r.provider, previous.get(r.route_key)) for r in routes]
        return self.store.claim_many(
            [RouteClaim(occurrence, r.route_key, r.provider, k) for r, k in zip(routes, keys, strict=True)],
            now=self.clock(), repeat_interval=timedelta(minutes=self.plan.repeat_interval_minutes or 1440),
            force=self.force, lease_seconds=self.options.lease_seconds), keys

    async def _route(self, route: Route, key: str, claim: str, recorder: Recorder
                     ) -> DeliveryEvidence | SkippedRoute:
        name = route.provider
        if claim in ("in_flight", "already_delivered"):
            return SkippedRoute(route.route_key, name, claim)
        connector = self.connectors.get(name)
        provider = self.registry.providers.get(connector.provider) if connector else None
        if connector is None or provider is None:
            failure = DeliveryFailure(FailureClass.PLUGIN_ERROR, f"connector {name!r} is not configured"
                                      if connector is None else f"provider plugin {connector.provider!r} missing")
            evidence = self._evidence(route, name, key, None, [], failure, claim, iso(self.clock()))
        else:
            # The provider's own bound first: a route queued behind a slow provider must not hold a
            # global slot, or it would delay every other provider's routes.
            async with self._limit(provider), self._global:
                if recorder.failed:  # send nothing more that could not be recorded; the claim stays
                    return SkippedRoute(route.route_key, name, "store_failed")
                evidence = await self._attempts(route, connector, provider, key, claim)
        redact = self.redactor.value
        evidence = replace(evidence, **{name: redact(getattr(evidence, name)) for name in SCANNED_FIELDS})
        recorder.add(evidence)
        return evidence

    async def _attempts(self, route: Route, connector: Connector, provider: Provider, key: str,
                        claim: str) -> DeliveryEvidence:
        started = iso(self.clock())
        attempts: list[Attempt] = []
        cap = max(1, self.options.retries + 1)
        failure: DeliveryFailure | None = None
        receipt: Receipt | None = None
        for number in range(1, cap + 1):
            remaining = self.options.deadline - (time.monotonic() - self._started)
            if remaining <= 0:
                break
            budget = min(self.options.timeout, remaining)
            request = DeliveryRequest(connector.name, connector.settings, self.event.message, self.event, route, key,
                                      budget, number)
            began = time.monotonic()
            try:
                async with asyncio.timeout(budget):
                    receipt, failure = await _call(provider, request, self._loops), None
            except TimeoutError:
                failure = DeliveryFailure(FailureClass.TIMEOUT, f"no answer within {budget:.1f}s")
            except Exception as exc:
                failure = classify_exception(exc)
            status = _int_or_none(failure.status_code if failure else receipt.status_code if receipt else None)
            retry_after = _finite_or_none(failure.retry_after) if failure else None
            attempt = Attempt(number, iso(self.clock()), round((time.monotonic() - began) * 1000, 1),
                              failure.failure_class.value if failure else "ok", status, retry_after)
            attempts.append(attempt)
            if failure is None or not failure.failure_class.retryable or number == cap:
                break
            wait = backoff_delay(number, self.options, retry_after, self.rng)
            if time.monotonic() - self._started + wait >= self.options.deadline:
                attempts[-1] = replace(attempt, gave_up="overall deadline would pass before the next attempt")
                break
            await asyncio.sleep(wait)
        return self._evidence(route, connector.name, key, _target(provider, connector), attempts, failure, claim,
                              started, receipt)

    def _evidence(self, route: Route, connector: str, key: str, target: str | None,
                  attempts: list[Attempt], failure: DeliveryFailure | None, claim: str, started: str | None,
                  receipt: Receipt | None = None) -> DeliveryEvidence:
        from .network import evidence_fields
        from .redact import redact_url

        provider = self.connectors[connector].provider if connector in self.connectors else route.provider
        ok = receipt is not None and failure is None
        status = receipt.status_code if ok and receipt else failure.status_code if failure else None
        return DeliveryEvidence(
            evidence_id="ev-" + uuid.uuid4().hex,
            event_id=self.event.event_id,
            event_type=self.event.event_type,
            plan_id=self.plan.plan_id,
            schedule_id=self.plan.schedule_id,
            occurrence=self.plan.occurrence,
            route_key=route.route_key,
            owner=route.owner,
            provider=provider,
            connector=connector,
            delivery_key=key,
            claim=claim,
            outcome=receipt.outcome if ok and receipt else "failed",
            status_code=_int_or_none(status),
            failure_class=failure.failure_class.value if failure else None,
            error=(failure.message if isinstance(failure.message, str) else "the plugin's failure message is not text")
            if failure else None,
            attempts=tuple(attempts),
            started_at=started,
            completed_at=iso(self.clock()),
            receipt=dict(receipt.details) if ok and receipt else {},
            target=redact_url(target) if target else None,
            network=evidence_fields(self.connectors[connector].settings if connector in self.connectors else None),
        )


def _overall(evidence: list[DeliveryEvidence]) -> str:
    if not evidence:
        return "nothing_to_deliver"
    failed = sum(e.outcome == "failed" for e in evidence)
    return "delivered" if failed == 0 else "failed" if failed == len(evidence) else "partial"


def deliver_plan(plan: Plan, connectors: Mapping[str, Connector], registry: Registry,
                 options: Options | None = None, *, redactor: Redactor | None = None,
                 store: EvidenceStore | None = None, force: bool = False, now: datetime | None = None) -> Result:
    """Synchronous entry point: deliver every ``deliver`` route of ``plan``."""
    seeded = seed([s for c in connectors.values() for s in c.secrets])
    redactor = redactor or seeded
    dispatcher = Dispatcher(plan, connectors, registry, options or Options(), redactor, store, force, now=now)
    return asyncio.run(dispatcher.run())
