"""The sweep: evaluate, plan and deliver every schedule in a folder, in one cheap pass that workers share.

One event loop, one store (one connection, or one pool on PostgreSQL), the private config read and
its connectors validated once. Schedules go in batches: a batch's plans are saved and all its routes
claimed in one transaction, its deliveries run concurrently, and their outcomes are written by one
group-commit writer (at most :data:`GROUP_COMMIT_SECONDS` after an answer, or every
:data:`GROUP_COMMIT_ROUTES` routes); the ``cavra_delivery_recorded`` hook sees a record once it is
stored. Several sweep workers (and API replicas) may work on the same schedules: claims are
exactly-once whatever the backend, and on PostgreSQL a worker takes each batch of schedule files with
advisory locks before evaluating them, leaving a file another worker holds to that worker.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from . import service
from . import settings as settings_mod
from .delivery import Dispatcher, Options, Result, delivery_key
from .errors import CavraError, InputError
from .models import RoutingPolicy
from .plugins import Registry, get_registry
from .records import EscalationRun, Plan, RetryWorkerRun, Route
from .request_types import SweepRequest
from .schedule import ScheduleReport
from .store.protocol import ClaimResult, EvidenceStore, RouteClaim
from .timeutil import iso, utcnow

DEFAULT_MODE = "promoted"  # the sweep's mode when neither --mode nor CAVRA_GO_BACKEND_MODE says one
BATCH_SCHEDULES = 250
GROUP_COMMIT_SECONDS = 0.05
GROUP_COMMIT_ROUTES = 512
MAX_CONCURRENT_SCHEDULES = 16  # ~50 routes in flight; more mostly opens connections past keep-alive pools


@dataclass
class SweepRow:
    """One schedule file's line in the sweep report."""

    schedule: str
    schedule_id: str | None
    status: str
    next_due_at: str | None
    outcome: str = ""
    delivered: int = 0
    failed: int = 0
    skipped: int = 0
    escalated: int = 0  # escalations delivered for the schedule's breached routes (issue 16)
    error: str | None = None
    exit_code: int = 0

    def to_json(self) -> dict[str, Any]:
        row: dict[str, Any] = {"schedule": self.schedule, "schedule_id": self.schedule_id, "status": self.status,
                               "next_due_at": self.next_due_at, "outcome": self.outcome,
                               "delivered": self.delivered, "failed": self.failed, "skipped": self.skipped,
                               "escalated": self.escalated}
        if self.error is not None:
            row["error"] = self.error
        return row


@dataclass
class SweepResult:
    generated_at: datetime
    rows: list[SweepRow]
    claim_seconds: list[float] = field(default_factory=list)  # each batch's save-and-claim transaction
    retry_run: RetryWorkerRun | None = None  # --execute-approved-retries (docs/retries.md)

    @property
    def exit_code(self) -> int:
        failed_retry = self.retry_run is not None and any(x.status == "failed" for x in self.retry_run.executions)
        return max([row.exit_code for row in self.rows] + [4 if failed_retry else 0])

    def to_json(self) -> dict[str, Any]:
        found: dict[str, Any] = {"generated_at": iso(self.generated_at),
                                 "schedules": [row.to_json() for row in self.rows]}
        if self.retry_run is not None:
            found["retry_worker_run"] = self.retry_run.to_json()
        return found


@dataclass
class _Item:
    row: SweepRow
    ctx: service.Context | None = None
    plan: Plan | None = None
    report: ScheduleReport | None = None

    @property
    def routes(self) -> list[Route]:
        return self.plan.deliverable if self.plan else []


def schedule_files(schedules: Path, histories: Path | None) -> list[tuple[Path, Path | None]]:
    """Each schedule file of the folder with its history (``<stem>.history.json`` beside it by default)."""
    if not schedules.is_dir():
        raise InputError(f"--schedules {schedules}: not a folder")
    pairs = []
    for file in sorted(schedules.glob("*.json")):
        if file.name.endswith(".history.json"):
            continue
        stem = file.name.removesuffix(".json")
        history = (histories / f"{stem}.json") if histories else (schedules / f"{stem}.history.json")
        pairs.append((file, history if history.exists() else None))
    return pairs


def _mode(request: SweepRequest) -> str | None:
    if request.mode:
        return request.mode
    return None if os.environ.get(settings_mod.ENV_MODE, "").strip() else DEFAULT_MODE


def _resolve(request: SweepRequest, schedule: Path | None, history: Path | None) -> settings_mod.Settings:
    return settings_mod.resolve(
        mode=_mode(request), schedule_path=str(schedule) if schedule else None,
        history_path=str(history) if history else None, due_soon_days=request.due_soon_days,
        max_age_days=request.max_age_days, connector_config_path=request.connector_config)


class _NotifiedLog:
    """The notification log's successes per occurrence, asked once per occurrence in a sweep: the plan
    reads them (repeat interval) and the claims reuse them (each notification's delivery key)."""

    def __init__(self, store: EvidenceStore) -> None:
        self._store, self._seen = store, dict[str, Any]()

    def __call__(self, occurrence: str) -> Any:
        if occurrence not in self._seen:
            self._seen[occurrence] = self._store.notified_routes(occurrence)
        return self._seen[occurrence]


def _prepare(request: SweepRequest, now: datetime, schedule: Path, history: Path | None, config: Any,
             policy: RoutingPolicy | None, notified: _NotifiedLog) -> _Item:
    ctx = service.Context(_resolve(request, schedule, history), now, config)
    report = service.schedule_report(ctx, policy)
    summary = report.as_dict()["schedule"]
    item = _Item(SweepRow(schedule.name, summary["schedule_id"], report.status, summary["next_due_at"]), ctx,
                 report=report)
    try:
        item.plan = service.notification_plan(ctx, report, policy, providers=request.providers, force=request.force,
                                              last_notified=notified, generated_by="cavra sweep")
        item.row.schedule_id = item.plan.schedule_id or item.row.schedule_id
    except CavraError as exc:
        item.row.outcome, item.row.error, item.row.exit_code = "error", str(exc), exc.exit_code
        item.plan = None
    if item.plan is not None and item.plan.unroutable:  # never silent: the row names the failed check
        checks = "; ".join(f"{c['id']}: {c['message']}" for c in item.plan.failed_checks[:1])
        item.row.outcome, item.row.error, item.row.exit_code = "error", f"{checks}; no fallback route", 1
        item.plan = None
    return item


def run_sweep(request: SweepRequest, store: EvidenceStore) -> SweepResult:
    """Sweep every schedule of ``request.schedules`` into ``store``; one row per schedule file."""
    pairs = schedule_files(Path(request.schedules), Path(request.histories) if request.histories else None)
    now, options = request.now or utcnow(), request.options.core()
    base = _resolve(request, None, None)  # a bad mode, day count or config path fails the whole sweep at once
    sweep = _Sweep(request, now, options, store, service.context(base, now))
    asyncio.run(sweep.run(pairs))
    _escalate(sweep.ctx, sweep.items, sweep.policy, options, store)
    return SweepResult(now, sweep.rows, sweep.timings)


def _escalate(ctx: service.Context, items: list[_Item], policy: RoutingPolicy | None, options: Options,
              store: EvidenceStore) -> None:
    """One escalation pass for every schedule swept here (``escalate.deliver_escalations``): a breached
    route's escalation owner is told through the schedule's (or the policy's) owner routes. Each row
    counts what was delivered for it; a failed or unroutable escalation makes its row exit 3."""
    from .escalate import deliver_escalations
    from .routing import effective_policy

    rows = {item.plan.schedule_id: item for item in items if item.plan and item.plan.schedule_id}
    policies = {sid: effective_policy(item.report.schedule, policy) for sid, item in rows.items()
                if item.report and item.report.schedule}
    if not policies:
        return
    try:
        run = deliver_escalations(ctx, store, policies=policies, schedule_ids=sorted(policies),
                                  options=options, generated_by="cavra sweep")
    except CavraError as exc:
        for sid in policies:
            row = rows[sid].row
            row.error = f"{row.error}; escalation: {exc}" if row.error else f"escalation: {exc}"
            row.exit_code = max(row.exit_code, exc.exit_code)
        return
    for sid in policies:
        _count_escalations(rows[sid].row, run, sid)


def _count_escalations(row: SweepRow, run: EscalationRun, schedule_id: str) -> None:
    mine = [e for e in run.evidence if e.get("escalation", {}).get("schedule_id") == schedule_id]
    row.escalated = sum(e.get("outcome") in ("delivered", "accepted") for e in mine)
    failed = sum(e.get("outcome") == "failed" for e in mine)
    unroutable = sum(n.schedule_id == schedule_id for n in run.unroutable)
    if failed or unroutable:  # never silent; a delivery error already in the row stays
        problem = f"escalation: {failed} failed, {unroutable} without a provider"
        row.error = f"{row.error}; {problem}" if row.error else problem
        row.exit_code = max(row.exit_code, 3)


class _Sweep:
    """One sweep's state: its store, the connectors validated so far, the writer, the rows."""

    def __init__(self, request: SweepRequest, now: datetime, options: Options, store: EvidenceStore,
                 ctx: service.Context) -> None:
        self.request, self.now, self.options, self.store, self.ctx = request, now, options, store, ctx
        self.progress = request.progress
        self.connectors: dict[str, Any] = {}
        self.broken: dict[str, CavraError] = {}  # connector name -> why it cannot be used
        self.seen: set[str] = set()
        self.redactor = service.install_log_redaction([])
        self.rows: list[SweepRow] = []
        self.items: list[_Item] = []  # the schedules this worker planned (it escalates them too)
        self.timings: list[float] = []
        self.registry = get_registry()
        self.writer = _GroupCommit(store, self.registry)
        self.policy = service.routing_policy(ctx, path=request.routing_policy_path)  # one policy for every schedule
        self.notified = _NotifiedLog(store)

    async def run(self, pairs: list[tuple[Path, Path | None]]) -> None:
        try:
            for start in range(0, len(pairs), BATCH_SCHEDULES):
                self.writer.check()
                await self._batch(pairs[start:start + BATCH_SCHEDULES], start, len(pairs))
        finally:
            await self.writer.flush()
        self.writer.check()

    async def _batch(self, pairs: list[tuple[Path, Path | None]], done: int, total: int) -> None:
        """Take the batch's files (a file another worker holds is left to it), evaluate, claim, deliver."""
        names = [schedule.name for schedule, _ in pairs]
        held = set(await asyncio.to_thread(self.store.lock_schedules, names))
        try:
            items = []
            for index, (schedule, history) in enumerate(pairs, done + 1):
                if self.progress:
                    self.progress(index, total)
                if schedule.name not in held:
                    self.rows.append(SweepRow(schedule.name, None, "another_worker", None, "another_worker"))
                    continue
                item = _prepare(self.request, self.now, schedule, history, self.ctx.config, self.policy, self.notified)
                self.rows.append(item.row)
                if item.plan is not None and self._usable(item):
                    items.append(item)
            self.items.extend(items)
            started = time.perf_counter()
            claims = await asyncio.to_thread(_claim, self.store, items, self, self.notified)
            self.timings.append(time.perf_counter() - started)
            shared = _ClaimedStore(claims, self.writer, self.notified)
            hooks = _DeferredHooks(self.registry, self.writer)
            limit = asyncio.Semaphore(MAX_CONCURRENT_SCHEDULES)
            await asyncio.gather(*(_one(item, self.connectors, self, shared, hooks, self.redactor, limit)
                                   for item in items))
        finally:
            await self.writer.flush()
            await asyncio.to_thread(self.store.unlock_schedules, sorted(held))

    def _usable(self, item: _Item) -> bool:
        """Validate the connectors the item's routes need (each once per sweep); mark the row if one cannot be."""
        names = sorted({route.provider for route in item.routes})
        new = [name for name in names if name not in self.seen]
        for name in new:
            self.seen.add(name)
            try:
                self.connectors.update(service.connectors_for(self.ctx, [name]))
            except CavraError as exc:
                self.broken[name] = exc
        if new:
            self.redactor = service.install_log_redaction([s for c in self.connectors.values() for s in c.secrets])
        for name in names:
            if name in self.broken:
                problem = self.broken[name]
                item.row.outcome, item.row.error, item.row.exit_code = "error", str(problem), problem.exit_code
                return False
        return True


def _claim(store: EvidenceStore, items: Sequence[_Item], sweep: _Sweep,
           notified: _NotifiedLog) -> dict[tuple[str, str, str], ClaimResult]:
    """Save the batch's plans and claim all their routes: one transaction per repeat interval."""
    groups: dict[int, list[_Item]] = {}
    for item in items:
        assert item.plan is not None
        groups.setdefault(item.plan.repeat_interval_minutes or 1440, []).append(item)
    decided: dict[tuple[str, str, str], ClaimResult] = {}
    for minutes, group in groups.items():
        claims = [RouteClaim(item.plan.occurrence, r.route_key, r.provider,
                             delivery_key(item.plan.occurrence, r.route_key, r.provider,
                                          notified(item.plan.occurrence).get(r.route_key)))
                  for item in group if item.plan for r in item.routes]
        results = store.claim_plans([item.plan.to_json() for item in group if item.plan], claims, now=sweep.now,
                                    repeat_interval=timedelta(minutes=minutes), force=sweep.request.force,
                                    lease_seconds=sweep.options.lease_seconds)
        decided.update({(c.occurrence, c.route_key, c.connector): r for c, r in zip(claims, results, strict=True)})
    return decided


async def _one(item: _Item, connectors: dict[str, Any], sweep: _Sweep, store: Any, hooks: Any,
               redactor: Any, limit: asyncio.Semaphore) -> None:
    assert item.plan is not None and item.ctx is not None
    if not item.routes:
        item.row.outcome = "nothing_to_deliver"
        return
    async with limit:
        try:
            dispatcher = Dispatcher(item.plan, connectors, hooks, sweep.options, redactor, store,
                                    sweep.request.force, now=sweep.now)
            result: Result = await dispatcher.run()
        except CavraError as exc:
            item.row.outcome, item.row.error, item.row.exit_code = "error", str(exc), exc.exit_code
            return
    payload = result.to_json()
    item.row.outcome, item.row.exit_code = result.outcome, int(result.exit_code)
    item.row.delivered, item.row.failed = payload["delivered_count"], payload["failed_count"]
    item.row.skipped = len(payload["skipped"])


class _ClaimedStore:
    """What each schedule's dispatcher sees as its store: the batch already saved its plan and decided
    its claims; outcomes go to the shared writer."""

    def __init__(self, claims: dict[tuple[str, str, str], ClaimResult], writer: _GroupCommit,
                 notified: _NotifiedLog) -> None:
        self._claims, self._writer, self.notified_routes = claims, writer, notified
        self._loop = asyncio.get_running_loop()

    def save_plan(self, plan: dict[str, Any]) -> None:
        return None

    def claim_many(self, claims: Sequence[RouteClaim], **_: Any) -> list[ClaimResult]:
        return [self._claims[(c.occurrence, c.route_key, c.connector)] for c in claims]

    def record_deliveries(self, evidences: Sequence[dict[str, Any]]) -> None:
        """Called by a dispatcher's recorder from its worker thread: hand over to the writer on the loop."""
        self._loop.call_soon_threadsafe(self._writer.add, list(evidences))


class _DeferredHooks:
    """The registry as a dispatcher sees it, except that ``delivery_recorded`` waits for the writer."""

    def __init__(self, registry: Registry, writer: _GroupCommit) -> None:
        self._registry, self._writer = registry, writer

    def __getattr__(self, name: str) -> Any:
        return getattr(self._registry, name)

    def delivery_recorded(self, evidence: dict[str, Any]) -> None:
        self._writer.hook(evidence)


class _GroupCommit:
    """One writer for every dispatcher of the sweep: evidence and log outcomes in few transactions.

    A write runs in a thread while deliveries go on; what arrives meanwhile goes in the next one."""

    def __init__(self, store: EvidenceStore, registry: Registry) -> None:
        self.store, self.registry = store, registry
        self._pending: list[dict[str, Any]] = []
        self._hooks: list[dict[str, Any]] = []
        self._timer: asyncio.TimerHandle | None = None
        self._task: asyncio.Task[None] | None = None
        self._error: Exception | None = None

    def add(self, evidences: Sequence[dict[str, Any]]) -> None:
        self._pending.extend(evidences)
        if len(self._pending) >= GROUP_COMMIT_ROUTES:
            self._kick()
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(GROUP_COMMIT_SECONDS, self._kick)

    def hook(self, evidence: dict[str, Any]) -> None:
        self._hooks.append(evidence)

    def _kick(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._drain())

    async def _drain(self) -> None:
        while self._pending and self._error is None:
            batch, self._pending = self._pending, []
            hooks, self._hooks = self._hooks, []
            try:
                await asyncio.to_thread(self.store.record_deliveries, batch)
            except Exception as exc:
                self._error = exc
                return
            for evidence in hooks:
                self.registry.delivery_recorded(evidence)

    async def flush(self) -> None:
        """Wait until everything added so far is stored (or the write failed)."""
        self._kick()
        while self._task is not None and not self._task.done():
            await self._task
            if self._pending and self._error is None:
                self._kick()

    def check(self) -> None:
        """Raise the write error, if any: nothing more is started after one (claims stay for a rerun)."""
        if self._error is not None:
            raise self._error
