"""Retry plan and recovery playbook benchmark: how their cost grows with the failed deliveries in the lookback.

Run: ``python bench/retries.py [--failures 100 1000] [--runs 5]``. Each step fills a fresh SQLite store with
that many failed deliveries (five connectors, 20 routes per schedule) and times building (and storing) the
retry plan and the playbook; it prints min / median / max per step and the median's growth between steps.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cavra_notify.recovery import build_playbook  # noqa: E402
from cavra_notify.retries import build_retry_plan, policy_snapshot  # noqa: E402
from cavra_notify.store import open_store  # noqa: E402

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
CONNECTORS = ("slack", "jira", "teams", "servicenow", "webhook")


def failed(n: int) -> dict[str, Any]:
    sid, connector = f"sched-{n // 20:05d}", CONNECTORS[n % 5]
    at = (NOW - timedelta(minutes=30 + n % 600)).isoformat()
    return {"evidence_id": f"ev-{n}", "plan_id": f"plan-{sid}", "schedule_id": sid, "occurrence": f"{sid}@occ",
            "route_key": f"{sid}:owner-{n % 4}:{connector}", "owner": f"owner-{n % 4}", "provider": connector,
            "connector": connector, "outcome": "failed", "failure_class": "server_error", "started_at": at,
            "completed_at": at, "attempts": []}


def timed(action: Callable[[], object], runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        action()
        times.append((time.perf_counter() - began) * 1000)
    return times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--failures", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    policy = policy_snapshot(None)
    medians: dict[str, list[float]] = {"retry plan": [], "playbook": []}
    for count in args.failures:
        with tempfile.TemporaryDirectory() as tmp, open_store(Path(tmp) / "ev.db") as store:
            store.record_deliveries([failed(n) for n in range(count)])
            for name, action in (("retry plan", lambda: build_retry_plan(store, policy, NOW, "bench")),
                                 ("playbook", lambda: build_playbook(store, policy, NOW, "bench", {}))):
                t = timed(action, args.runs)
                medians[name].append(statistics.median(t))
                print(f"{count:>6} failures  {name:<10}  min {min(t):8.1f} ms  median {statistics.median(t):8.1f} ms"
                      f"  max {max(t):8.1f} ms")
    for name, values in medians.items():
        growth = ", ".join(f"x{b / a:.1f}" for a, b in zip(values, values[1:], strict=False))
        print(f"{name}: median growth between steps {growth} (failures x{args.failures[-1] / args.failures[0]:.0f})")


if __name__ == "__main__":
    main()
