"""What a face asks the facade for: the request dataclasses, with their defaults and bounds written once.

Re-exported by :mod:`cavra_notify.facade` (faces import them from there). Importing this module is cheap.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from .errors import SettingsError

if TYPE_CHECKING:
    from .delivery import Options

MAX_RETRIES = 10
MAX_HISTORY_LIMIT = 10_000
MAX_TIMEOUT_SECONDS = 300.0
MAX_DEADLINE_SECONDS = 3600.0


@dataclass(frozen=True)
class PlanRequest:
    """What to plan: ``providers`` is ``all``, one name or a comma list; the routing policy comes from
    a file (``routing_policy_path``, CLI) or an in-memory document (``routing_policy``, API body)."""

    providers: str | None = "all"
    force: bool = False
    routing_policy_path: str | None = None
    routing_policy: Any = None
    now: datetime | None = None


@dataclass(frozen=True)
class DeliveryOptions:
    """Retries after the first attempt, the per-attempt timeout and the overall deadline (seconds)."""

    retries: int = 2
    timeout_seconds: float = 10.0
    deadline_seconds: float = 120.0

    def __post_init__(self) -> None:
        if isinstance(self.retries, bool) or not 0 <= self.retries <= MAX_RETRIES:
            raise SettingsError(f"retries: expected a whole number from 0 to {MAX_RETRIES}, got {self.retries}")
        for name, top in (("timeout_seconds", MAX_TIMEOUT_SECONDS), ("deadline_seconds", MAX_DEADLINE_SECONDS)):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and math.isfinite(value) and 0 < value <= top):
                raise SettingsError(f"{name.replace('_', '-')}: expected a number of seconds above 0 and at most "
                                    f"{top:g}, got {value}")

    def core(self) -> Options:
        """The delivery core's options."""
        from .delivery import Options

        return Options(retries=self.retries, timeout=self.timeout_seconds, deadline=self.deadline_seconds)


@dataclass(frozen=True)
class DeliverRequest(PlanRequest):
    options: DeliveryOptions = field(default_factory=DeliveryOptions)


@dataclass(frozen=True)
class SweepRequest:
    """A folder of schedules (each with ``<stem>.history.json`` beside it, or in ``histories``); ``mode``
    None means ``CAVRA_GO_BACKEND_MODE``, else ``promoted``; ``progress(done, total)`` is told as it goes."""

    schedules: str
    histories: str | None = None
    mode: str | None = None
    due_soon_days: str | None = None
    max_age_days: str | None = None
    connector_config: str | None = None
    routing_policy_path: str | None = None
    providers: str = "all"
    force: bool = False
    options: DeliveryOptions = field(default_factory=DeliveryOptions)
    now: datetime | None = None
    progress: Callable[[int, int], None] | None = None
    metrics_textfile: str | None = None  # Prometheus text for node-exporter, written when the sweep ends
    execute_approved_retries: bool = False  # then one live retry worker pass (docs/retries.md)


@dataclass(frozen=True)
class AckRequest:
    """One acknowledgement: a route key, an owner and a provider, or a provider alone (every owner of that
    provider in the occurrence). ``acknowledged_by`` may be empty when a verified actor acknowledges."""

    schedule_id: str
    provider: str | None = None
    acknowledged_by: str | None = None
    state: str = "acknowledged"
    plan_id: str | None = None
    external_ref: str | None = None
    notes: str | None = None
    now: datetime | None = None
    owner: str | None = None
    route_key: str | None = None


@dataclass(frozen=True)
class HistoryQuery:
    """Filters of the evidence history; ``provider`` matches a plugin or a connector name."""

    schedule_id: str | None = None
    provider: str | None = None
    kind: str | None = None
    outcome: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int = 100
    connector: str | None = None
    acknowledgement_state: str | None = None
    offset: int = 0

    def __post_init__(self) -> None:
        if isinstance(self.limit, bool) or not 1 <= self.limit <= MAX_HISTORY_LIMIT:
            raise SettingsError(f"--limit: expected a whole number from 1 to {MAX_HISTORY_LIMIT}, got {self.limit}")


# --- failed notifications: retries with approval, connector recovery (issue 17, docs/retries.md) ---------

ALL_ROLES = frozenset({"read", "deliver", "acknowledge", "approve", "admin"})


@dataclass(frozen=True)
class RetryPlanRequest:
    """The routing policy (file or document) whose ``retry_policy`` applies, and the time."""

    routing_policy_path: str | None = None
    routing_policy: Any = None
    now: datetime | None = None


@dataclass(frozen=True)
class RetryDecisionRequest:
    retry_plan_id: str
    entry_id: str
    decision: str
    actor: str
    roles: frozenset[str]
    notes: str | None = None
    expires_in_minutes: int | None = None
    now: datetime | None = None


@dataclass(frozen=True)
class RetryWorkerRequest:
    execute: bool = False
    limit: int = 5
    retry_plan_id: str | None = None
    now: datetime | None = None
    options: DeliveryOptions = field(default_factory=DeliveryOptions)


@dataclass(frozen=True)
class ClosureRequest:
    connector: str
    state: str
    actor: str
    roles: frozenset[str]
    verification_refs: tuple[str, ...] = ()
    notes: str | None = None
    now: datetime | None = None
