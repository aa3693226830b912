"""Evidence-store benchmark: history queries and the dashboard over 100,000 delivery records.

Run: ``python bench/store.py [--records 100000] [--schedules 2000]``. It fills a temporary SQLite
store in steps, and after each step times a few filtered history queries, the dashboard, and — for
contrast — the same filtered query forced to scan the whole table (``NOT INDEXED``). A filtered
query that stays flat while the table grows is the index at work; ``EXPLAIN QUERY PLAN`` is printed
at the end to show which index each query uses.
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cavra_notify.dashboard import build_dashboard  # noqa: E402
from cavra_notify.store import SQLiteStore, open_store  # noqa: E402

START = datetime(2025, 1, 1, tzinfo=UTC)
PROVIDERS = ("slack", "jira", "teams", "servicenow", "webhook")
FAILURES = ("rate_limited", "server_error", "timeout", "connection", "auth")


def plan(schedule: int) -> dict[str, Any]:
    sid = f"sched-{schedule:05d}"
    routes = [{"route_key": f"{sid}:owner:{p}", "owner": "owner", "provider": p, "acknowledgement_minutes": 60,
               "escalation_owner": "lead"} for p in PROVIDERS[:3]]
    return {"schema_version": "cavra.go-backend-pilot.rollback-drill-notification-plan.v1",
            "plan_id": f"plan-{sid}", "schedule_id": sid, "occurrence": f"{sid}@occ",
            "generated_at": START.isoformat(), "status": "due_soon", "alert_level": "warning",
            "route_decisions": [{"route": r, "action": "deliver", "category": None, "reason": "due"}
                                for r in routes]}


def evidence(n: int, per_schedule: int, rng: random.Random) -> dict[str, Any]:
    schedule = n // per_schedule
    sid = f"sched-{schedule:05d}"
    provider = PROVIDERS[rng.randrange(3)] if rng.random() < 0.9 else rng.choice(PROVIDERS)
    roll = rng.random()
    outcome = "failed" if roll < 0.08 else "accepted" if roll < 0.2 else "delivered"
    at = START + timedelta(seconds=rng.randrange(90 * 86400))
    return {
        "metadata_kind": "release-connector-delivery",
        "connector_delivery_source": "go_backend_rollback_drill_notification",
        "evidence_id": f"ev-{n:07d}", "event_id": f"evt-{n}", "plan_id": f"plan-{sid}", "schedule_id": sid,
        "occurrence": f"{sid}@occ", "route_key": f"{sid}:owner:{provider}", "provider": provider,
        "connector": provider, "outcome": outcome, "status_code": 503 if outcome == "failed" else 200,
        "attempts": [{"attempt": 1, "at": at.isoformat(), "class": "ok", "status_code": 200}],
        "started_at": at.isoformat(), "completed_at": at.isoformat(),
        "receipt": {"channel": "C0123", "ts": f"{at.timestamp():.6f}"}, "target": "https://127.0.0.1",
        "failure_class": rng.choice(FAILURES) if outcome == "failed" else None, "error": None,
    }


def timed(fn: Callable[[], object], repeat: int = 7) -> tuple[float, object]:
    samples, result = [], None
    for _ in range(repeat):
        began = time.perf_counter()
        result = fn()
        samples.append((time.perf_counter() - began) * 1000)
    return statistics.median(samples), result


QUERIES: dict[str, dict[str, Any]] = {
    "schedule": {"schedule_id": "sched-00042"},
    "schedule+provider+kind": {"schedule_id": "sched-00042", "provider": "slack", "kind": "delivery"},
    "provider+since": {"provider": "servicenow", "since": START + timedelta(days=80)},
    "failed deliveries": {"kind": "delivery", "outcome": "failed"},
}


def full_scan_ms(path: Path) -> float:
    raw = sqlite3.connect(path)
    sql = ("SELECT payload FROM records NOT INDEXED WHERE schedule_id = ? AND provider = ? AND kind = 'delivery'"
           " ORDER BY recorded_at DESC LIMIT 100")
    ms, _ = timed(lambda: raw.execute(sql, ("sched-00042", "slack")).fetchall(), repeat=3)
    raw.close()
    return ms


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--schedules", type=int, default=2_000)
    parser.add_argument("--steps", type=int, default=4)
    args = parser.parse_args()
    rng = random.Random(7)
    now = START + timedelta(days=91)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "evidence.db"
        store = open_store(path)
        assert isinstance(store, SQLiteStore)
        per_schedule = max(1, args.records // args.schedules)
        header = ["records", "fill s"] + list(QUERIES) + ["full scan", "dashboard"]
        rows: list[list[str]] = []
        written = 0
        for step in range(1, args.steps + 1):
            target = args.records * step // args.steps
            began = time.perf_counter()
            for schedule in range(written // per_schedule, -(-target // per_schedule)):
                store.save_plan(plan(schedule))
            for chunk in range(written, target, 10_000):
                end = min(chunk + 10_000, target)
                store.save_evidence_batch(evidence(n, per_schedule, rng) for n in range(chunk, end))
            fill = time.perf_counter() - began
            written = target
            row = [f"{written:,}", f"{fill:.1f}"]
            for filters in QUERIES.values():
                ms, result = timed(lambda f=filters: store.history(**f))  # type: ignore[misc]
                row.append(f"{ms:.2f} ms ({len(result)})")  # type: ignore[arg-type]
            row.append(f"{full_scan_ms(path):.1f} ms")
            dash_ms, board = timed(lambda: build_dashboard(store, now), repeat=3)
            row.append(f"{dash_ms:.0f} ms ({len(store.latest_plans())} schedules)")
            rows.append(row)
        widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
        print("history query (median of 7, rows returned) and dashboard, by table size\n")
        print("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
        print("  ".join("-" * w for w in widths))
        for row in rows:
            print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))
        assert isinstance(board, dict)
        print(f"\ndashboard: deliveries={board['deliveries']['total']:,} failures={board['failures']['total']:,}"
              f" outstanding_routes={board['outstanding_route_count']:,} alert={board['alert_level']}")
        print("\nEXPLAIN QUERY PLAN")
        for name, filters in QUERIES.items():
            print(f"  {name}:")
            for step_text in store.explain_history(**filters):
                print(f"    {step_text}")
        store.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
