"""Effective routing policy (SPEC §2.3): policy keys win over the schedule's own routing keys."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from .models import DrillSchedule, MaintenanceWindow, OwnerCalendar, OwnerRoute, RoutingPolicy

DEFAULT_ACK_MINUTES = 60
DEFAULT_REPEAT_MINUTES = 24 * 60


@dataclass(frozen=True)
class EffectivePolicy:
    owner_routes: dict[str, OwnerRoute] = field(default_factory=dict)
    maintenance_windows: list[MaintenanceWindow] = field(default_factory=list)
    owner_calendars: dict[str, OwnerCalendar] = field(default_factory=dict)
    acknowledgement_minutes: int = DEFAULT_ACK_MINUTES
    repeat_interval_minutes: int = DEFAULT_REPEAT_MINUTES
    source: str = "schedule"

    def active_window(self, now: datetime, schedule_id: str, owner: str, provider: str
                      ) -> MaintenanceWindow | None:
        """The first maintenance window active at ``now`` whose filters match (empty matches all)."""
        for window in self.maintenance_windows:
            if not window.start_at <= now < window.end_at:
                continue
            if all(not allowed or value in allowed for value, allowed in (
                (owner, window.owners), (provider, window.providers), (schedule_id, window.schedule_ids),
            )):
                return window
        return None

    def unavailable_reason(self, now: datetime, owner: str) -> str | None:
        """Why ``owner`` is unavailable at ``now`` per their calendar, or ``None``."""
        calendar = self.owner_calendars.get(owner)
        for window in calendar.unavailable_windows if calendar else []:
            if window.start_at <= now < window.end_at:
                return window.reason or "owner calendar unavailable"
        return None


def effective_policy(schedule: DrillSchedule | None, policy: RoutingPolicy | None) -> EffectivePolicy:
    """Take each routing key from ``policy`` when present there, else from ``schedule``."""

    def pick(name: str) -> object:
        from_policy = getattr(policy, name, None) if policy else None
        return from_policy if from_policy is not None else getattr(schedule, name, None)

    return EffectivePolicy(
        owner_routes=dict(pick("owner_routes") or {}),  # type: ignore[call-overload]
        maintenance_windows=list(pick("maintenance_windows") or []),  # type: ignore[call-overload]
        owner_calendars=dict(pick("owner_calendars") or {}),  # type: ignore[call-overload]
        acknowledgement_minutes=(policy.acknowledgement_minutes if policy else None) or DEFAULT_ACK_MINUTES,
        repeat_interval_minutes=(policy.repeat_interval_minutes if policy else None) or DEFAULT_REPEAT_MINUTES,
        source="routing_policy" if policy else "schedule",
    )
