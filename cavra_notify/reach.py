"""Reach: which (owner, provider) pairs of a schedule can carry a notification at all.

A pair is *narrowed out* when the owner's route names providers and this one is not among them, and
*unconfigured* when a connector config is known and has no connector for the provider. An owner
left with no pair that is neither is a failed check (``owner_routes``): the schedule needs
attention, because nobody could tell that owner (SPEC §4, "never silent").
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .history import Check
from .models import DrillSchedule
from .routing import EffectivePolicy

CHECK_ID = "owner_routes"


@dataclass(frozen=True)
class Pair:
    owner: str
    provider: str
    narrowed: bool
    configured: bool

    @property
    def reachable(self) -> bool:
        return self.configured and not self.narrowed


def pairs(schedule: DrillSchedule | None, policy: EffectivePolicy, configured: frozenset[str] | None,
          providers: Iterable[str] | None = None) -> list[Pair]:
    """Every (owner, provider) pair of the schedule, in owner then provider order; ``providers``
    restricts the providers considered (a ``--provider`` selection)."""
    if schedule is None:
        return []
    wanted = list(schedule.notification_providers if providers is None else providers)
    result = []
    for owner in schedule.owners:
        route = policy.owner_routes.get(owner)
        allowed = route.providers if route is not None and route.providers is not None else None
        for provider in wanted:
            result.append(Pair(owner, provider, allowed is not None and provider not in allowed,
                               configured is None or provider in configured))
    return result


def owner_checks(schedule: DrillSchedule | None, policy: EffectivePolicy,
                 configured: frozenset[str] | None) -> list[Check]:
    """One failed ``owner_routes`` check per owner with no reachable pair (none when all can be told)."""
    if schedule is None or not schedule.owners or not schedule.notification_providers:
        return []  # the schedule's own checks already say so
    reachable = {p.owner for p in pairs(schedule, policy, configured) if p.reachable}
    return [Check(CHECK_ID, False, f"owner {owner} has no deliverable route "
                  "(its owner route names no configured provider of the schedule)")
            for owner in dict.fromkeys(schedule.owners) if owner not in reachable]
