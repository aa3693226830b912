#!/usr/bin/env python3
"""Evaluate and plan N generated schedules (3 owners, 3 providers, 5 maintenance windows each).

    python bench/plan.py [--sizes 1000 10000]

Each schedule is a real file loaded through the guard and the models, evaluated, and planned with a
routing policy. Reports schedules per second, peak traced memory, and the cost ratio between sizes
(linear growth means time(10k)/time(1k) close to 10 and flat peak memory; the memory pass covers
the first 2,000 schedules of each size).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cavra_notify import service
from cavra_notify.settings import resolve

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


def schedule(i: int) -> dict[str, object]:
    start = NOW - timedelta(hours=i % 48)
    return {
        "schema_version": "cavra.go-backend-rollback-drill-schedule.v1",
        "schedule_id": f"schedule_{i:05d}",
        "environment": "production-pilot",
        "status": "active",
        "interval_days": 30,
        "next_due_at": (NOW + timedelta(days=(i % 40) - 10)).isoformat(),
        "owners": [f"team-{i % 7}", f"team-{(i + 1) % 7}", f"team-{(i + 2) % 7}"],
        "notification_providers": ["slack", "teams", "jira"],
        "owner_routes": {f"team-{i % 7}": {"providers": ["slack", "jira"], "acknowledgement_minutes": 30}},
        "maintenance_windows": [
            {"window_id": f"w{i}-{k}", "start_at": (start + timedelta(hours=6 * k)).isoformat(),
             "end_at": (start + timedelta(hours=6 * k + 3)).isoformat(), "providers": ["teams"],
             "reason": "release freeze"} for k in range(5)],
        "runbook_ref": "docs/operators.md#rollback-drills",
    }


def sweep(n: int, folder: Path) -> int:
    routes = 0
    for i in range(n):
        ctx = service.Context(resolve(mode="promoted", schedule_path=str(folder / f"s{i}.json"), env={}), NOW, None)
        plan = service.notification_plan(ctx, service.schedule_report(ctx), None)
        routes += len(plan.route_decisions)
    return routes


def run(n: int, folder: Path) -> tuple[float, int, int]:
    """Time one pass, then measure peak traced memory in a second pass (tracemalloc slows it down)."""
    for i in range(n):
        (folder / f"s{i}.json").write_text(json.dumps(schedule(i)))
    started = time.perf_counter()
    routes = sweep(n, folder)
    elapsed = time.perf_counter() - started
    tracemalloc.start()
    sweep(min(n, 2000), folder)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return elapsed, peak, routes


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    sizes = parser.parse_args().sizes
    results = {}
    print(f"{'schedules':>10} {'routes':>8} {'seconds':>8} {'schedules/s':>12} {'peak MiB':>9}")
    for n in sizes:
        with tempfile.TemporaryDirectory() as folder:
            elapsed, peak, routes = run(n, Path(folder))
        results[n] = elapsed
        print(f"{n:10d} {routes:8d} {elapsed:8.2f} {n / elapsed:12.0f} {peak / 2**20:9.2f}")
    if len(sizes) >= 2:
        small, large = sizes[0], sizes[-1]
        print(f"time ratio {large}/{small}: {results[large] / results[small]:.2f} "
              f"(linear = {large / small:.0f})")


if __name__ == "__main__":
    main()
