"""The dashboard: the evidence store's totals next to the escalation summary, as of ``now``.

It sits above both the store and the escalation plan, so neither imports the other's callers.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .escalation import compute_escalation
from .store.protocol import EvidenceStore, iso_z


def build_dashboard(store: EvidenceStore, now: datetime) -> dict[str, Any]:
    escalation = compute_escalation(store, now=now)
    return {
        "generated_at": iso_z(now),
        **store.counts(),
        "alert_level": escalation.alert_level,
        "outstanding_route_count": escalation.outstanding_route_count,
        "breached_route_count": escalation.breached_route_count,
    }
