"""The facade's methods for failed notifications (issue 17, docs/retries.md): retry plans, decisions, the
retry worker, recovery playbooks, closures and connector tests. :class:`~.facade.Cavra` inherits them;
each is thin: the logic lives in :mod:`.retries` and :mod:`.recovery`.

The deciding actor is a parameter (``actor``, ``roles``); ``retries.require_role`` is the one check.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from .errors import ConfigError, InputError
from .timeutil import utcnow

if TYPE_CHECKING:
    from .delivery import Options, Result
    from .records import (
        DeliveryEvidence,
        Plan,
        RecoveryClosure,
        RecoveryPlaybook,
        RetryApproval,
        RetryEntry,
        RetryPlan,
        RetryWorkerRun,
        SkippedRoute,
    )
    from .request_types import (
        ClosureRequest,
        DeliveryOptions,
        RetryDecisionRequest,
        RetryPlanRequest,
        RetryWorkerRequest,
        SweepRequest,
    )
    from .service import Context
    from .settings import Settings
    from .store import EvidenceStore


class RetryMethods:
    """Mixed into :class:`~.facade.Cavra`, which supplies ``context``, ``store`` and ``generated_by``."""

    generated_by: str
    settings: Settings

    if TYPE_CHECKING:
        def context(self, now: datetime | None = None) -> Context: ...
        def store(self) -> EvidenceStore: ...

    def retry_plan(self, request: RetryPlanRequest) -> RetryPlan:
        """What happens next to each failed (route, connector), recorded as evidence."""
        from . import service
        from .retries import build_retry_plan, policy_snapshot

        ctx = self.context(request.now)
        policy = service.routing_policy(ctx, path=request.routing_policy_path, document=request.routing_policy)
        return build_retry_plan(self.store(), policy_snapshot(policy), ctx.now, self.generated_by)

    def decide_retry(self, request: RetryDecisionRequest) -> RetryApproval:
        from .retries import decide, require_role

        require_role(request.roles, "approve")
        return decide(self.store(), retry_plan_id=request.retry_plan_id, entry_id=request.entry_id,
                      decision=request.decision, actor=request.actor, notes=request.notes,
                      expires_in_minutes=request.expires_in_minutes, now=request.now or utcnow())

    def retry_worker(self, request: RetryWorkerRequest) -> RetryWorkerRun:
        """Dry run by default; live, re-send approved entries through the delivery core (forced, one route)."""
        return self._run_worker(request, self.context(request.now))

    def _run_worker(self, request: RetryWorkerRequest, ctx: Context) -> RetryWorkerRun:
        from .retries import load_plan, run_worker

        store, options = self.store(), request.options.core()
        return run_worker(store, load_plan(store, request.retry_plan_id), execute=request.execute,
                          limit=request.limit, now=ctx.now, executed_by=self.generated_by,
                          send=lambda entry: self._send_retry(ctx, entry, options))

    def sweep_retries(self, request: SweepRequest) -> RetryWorkerRun:
        """The sweep's ``--execute-approved-retries``: one live worker pass over the latest retry plan,
        through the sweep's connector config."""
        from dataclasses import replace

        from .service import context

        settings = self.settings
        if request.connector_config:
            settings = replace(settings, connector_config_path=request.connector_config)
        from .request_types import RetryWorkerRequest

        return self._run_worker(RetryWorkerRequest(execute=True, limit=25, now=request.now, options=request.options),
                                context(settings, request.now or utcnow()))

    def _send_retry(self, ctx: Context, entry: RetryEntry, options: Options) -> DeliveryEvidence | SkippedRoute:
        from .retries import narrowed_plan

        stored = self.store().get_plan(entry.plan_id)
        if stored is None:
            raise InputError(f"plan {entry.plan_id} of retry entry {entry.entry_id} is not in the evidence store")
        result = self._send(ctx, narrowed_plan(stored, entry.route_key), entry.connector, options, self.store())
        return result.evidence[0] if result.evidence else result.skipped[0]

    @staticmethod
    def _send(ctx: Context, plan: Plan, connector: str, options: Options, store: EvidenceStore | None) -> Result:
        from . import service
        from .delivery import deliver_plan
        from .plugins import get_registry

        connectors = service.connectors_for(ctx, [connector])
        redactor = service.install_log_redaction([s for c in connectors.values() for s in c.secrets])
        return deliver_plan(plan, connectors, get_registry(), options, redactor=redactor, store=store, force=True,
                            now=ctx.now)

    def recovery_playbook(self, request: RetryPlanRequest) -> RecoveryPlaybook:
        """Connectors with repeated failures and the steps to bring each back, recorded as evidence."""
        from . import service
        from .plugins import get_registry
        from .provider import provider_category
        from .recovery import build_playbook
        from .retries import policy_snapshot

        ctx = self.context(request.now)
        policy = service.routing_policy(ctx, path=request.routing_policy_path, document=request.routing_policy)
        categories = {name: provider_category(p) for name, p in get_registry().providers.items()}
        return build_playbook(self.store(), policy_snapshot(policy), ctx.now, self.generated_by, categories)

    def close_recovery(self, request: ClosureRequest) -> RecoveryClosure:
        from .recovery import close
        from .retries import require_role

        require_role(request.roles, "approve")
        return close(self.store(), connector=request.connector, state=request.state,
                     verification_refs=request.verification_refs, actor=request.actor, notes=request.notes,
                     now=request.now or utcnow())

    def test_connector(self, name: str, now: datetime | None = None,
                       options: DeliveryOptions | None = None) -> DeliveryEvidence:
        """Send a public-safe test notification through connector ``name``; its evidence is recorded
        (schedule ``cavra-connector-test``) and can verify a recovery closure."""
        from dataclasses import replace

        from .recovery import test_plan
        from .retries import TEST_SCHEDULE

        ctx = self.context(now)
        if ctx.config is None or name not in ctx.config.names:
            raise ConfigError(f"connector {name!r} is not in the private connector config")
        result = self._send(ctx, test_plan(name, ctx.now, self.generated_by), name,
                            (options or _default_options()).core(), None)
        evidence = replace(result.evidence[0], schedule_id=TEST_SCHEDULE)
        self.store().record_deliveries([evidence.to_json()])
        return evidence

    def retry_console(self) -> dict[str, Any]:
        """Failed deliveries awaiting a decision, open playbook entries and closures (the console)."""
        from .recovery import console_view

        return console_view(self.store())


def _default_options() -> DeliveryOptions:
    from .request_types import DeliveryOptions

    return DeliveryOptions()
