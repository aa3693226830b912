"""Sweep scale benchmark (issue 18): the sweep's cost per route and per schedule, and workers sharing
one PostgreSQL evidence store.

Run: ``python bench/scale.py [--due 1000] [--idle 10000] [--shared 10000] [--workers 1 2 4]``.
Loopback only; PostgreSQL runs as a throwaway server (``tests/backends.py``), skipped with a note when
its binaries are not installed.

* **due**: N due schedules × 3 owners through the real webhook plugin and the real SQLite store,
  swept once in-process (``cavra_notify.sweep.run_sweep``): ms per route. Goal ≤ 0.5 ms.
* **idle**: N schedules with nothing due (next drill months away), swept in-process: seconds for
  the whole no-op sweep. Goal < 3 s for 10,000.
* **shared**: N due schedules × 1 owner swept by W worker processes at once over the same folder and
  store, on PostgreSQL (W = 1, 2, 4) and on SQLite (W = 1): routes/s, the claim transaction's latency
  p50/p99, and the receiver's count (exactly once: count == routes and every log row delivered).

A raw-asyncio receiver (``bench/delivery.py``'s) runs in its own process and answers ``200 ok``.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from delivery import HISTORY, received, serve  # noqa: E402

NOW = datetime(2027, 3, 1, tzinfo=UTC)


def write_folder(folder: Path, count: int, owners: int, due: bool) -> None:
    folder.mkdir(parents=True)
    next_due = NOW + (timedelta(days=2) if due else timedelta(days=60))
    for n in range(count):
        schedule = {
            "schema_version": "cavra.go-backend-rollback-drill-schedule.v1",
            "schedule_id": f"bench_{n:05d}", "environment": "production-pilot", "status": "active",
            "interval_days": 90, "next_due_at": next_due.isoformat().replace("+00:00", "Z"),
            "owners": [f"owner-{o}" for o in range(owners)], "notification_providers": ["webhook"],
            "owner_routes": {}, "maintenance_windows": [], "owner_calendars": {},
            "runbook_ref": "docs/operators.md#rollback-drills",
        }
        (folder / f"s{n:05d}.json").write_text(json.dumps(schedule))
        (folder / f"s{n:05d}.history.json").write_text(json.dumps(HISTORY))


def sweep_once(folder: Path, db: str, config: Path, out: Any = None) -> dict[str, Any]:
    """One sweep in this process; its wall time, routes delivered and claim latencies."""
    from cavra_notify.request_types import DeliveryOptions, SweepRequest
    from cavra_notify.store import open_store
    from cavra_notify.sweep import run_sweep

    os.environ["CAVRA_GO_BACKEND_MODE"] = "promoted"
    store = open_store(db)
    request = SweepRequest(schedules=str(folder), now=NOW, connector_config=str(config),
                           options=DeliveryOptions(retries=0, timeout_seconds=30, deadline_seconds=600))
    started = time.perf_counter()
    result = run_sweep(request, store)
    wall = time.perf_counter() - started
    store.close()
    report = {"wall": wall, "delivered": sum(r.delivered for r in result.rows),
              "errors": [r.error for r in result.rows if r.error][:3], "claims": result.claim_seconds}
    if out is not None:
        out.put(report)
    return report


def log_states(db: str) -> dict[str, int]:
    if db.startswith("postgresql://"):
        import psycopg

        with psycopg.connect(db) as conn:
            return dict(conn.execute("SELECT state, COUNT(*) FROM notification_log GROUP BY state").fetchall())
    import sqlite3

    with sqlite3.connect(db) as conn:
        return dict(conn.execute("SELECT state, COUNT(*) FROM notification_log GROUP BY state").fetchall())


def shared(folder: Path, db: str, config: Path, workers: int, port: int) -> dict[str, Any]:
    ctx = multiprocessing.get_context("fork")
    out = ctx.Queue()
    before = received(port)
    started = time.perf_counter()
    procs = [ctx.Process(target=sweep_once, args=(folder, db, config, out)) for _ in range(workers)]
    for proc in procs:
        proc.start()
    reports = [out.get(timeout=3600) for _ in procs]
    for proc in procs:
        proc.join()
    wall = time.perf_counter() - started
    claims = sorted(c for r in reports for c in r["claims"])
    return {"wall": wall, "got": received(port) - before, "sent": sum(r["delivered"] for r in reports),
            "states": log_states(db), "p50": statistics.median(claims) if claims else 0.0,
            "p99": claims[min(len(claims) - 1, int(len(claims) * 0.99))] if claims else 0.0,
            "errors": [e for r in reports for e in r["errors"]]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--due", type=int, default=1000)
    parser.add_argument("--idle", type=int, default=10000)
    parser.add_argument("--shared", type=int, default=10000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    args = parser.parse_args()
    ctx = multiprocessing.get_context("fork")
    ports = ctx.Queue()
    receiver = ctx.Process(target=serve, args=(ports,), daemon=True)
    receiver.start()
    port = ports.get(timeout=30)
    tmp = Path(tempfile.mkdtemp(prefix="cavra-scale-"))
    config = tmp / "connectors.json"
    config.write_text(json.dumps({"connectors": {"webhook": {"url": f"http://127.0.0.1:{port}/hooks/cavra"}}}))

    write_folder(tmp / "due", args.due, 3, due=True)
    due = ctx.Process(target=sweep_once, args=(tmp / "due", str(tmp / "due.db"), config, out := ctx.Queue()))
    due.start()
    report = out.get(timeout=3600)
    due.join()
    routes = args.due * 3
    per_route = report["wall"] * 1000 / routes
    print(f"due sweep, SQLite: {args.due:,} schedules x 3 routes in {report['wall']:.2f} s = {per_route:.3f} ms/route "
          f"(goal <= 0.5: {'met' if per_route <= 0.5 else 'NOT met'}); delivered {report['delivered']:,}")

    write_folder(tmp / "idle", args.idle, 3, due=False)
    idle = ctx.Process(target=sweep_once, args=(tmp / "idle", str(tmp / "idle.db"), config, out))
    idle.start()
    report = out.get(timeout=3600)
    idle.join()
    print(f"no-op sweep, SQLite: {args.idle:,} schedules in {report['wall']:.2f} s "
          f"(goal < 3 s: {'met' if report['wall'] < 3 else 'NOT met'}); delivered {report['delivered']}")

    write_folder(tmp / "shared", args.shared, 1, due=True)
    rows = []
    result = shared(tmp / "shared", str(tmp / "shared.db"), config, 1, port)
    rows.append(("SQLite", 1, result))
    server = None
    try:
        sys.path.insert(0, str(ROOT))
        from tests.backends import PgServer, bindir

        found = bindir()
        if found is None:
            print("PostgreSQL: server binaries not installed (apt-get install -y postgresql): skipped")
        else:
            server = PgServer(found)
            server.start()
            for workers in args.workers:
                url = server.url(f"w{workers}")
                rows.append(("PostgreSQL", workers, shared(tmp / "shared", url, config, workers, port)))
    finally:
        if server is not None:
            server.stop()
    print(f"\nshared sweep: {args.shared:,} due schedules x 1 route, W workers at once")
    print(f"{'backend':<11} {'W':>2} {'wall s':>7} {'routes/s':>9} {'claim p50 ms':>13} {'claim p99 ms':>13} "
          f"{'received':>9} exactly once")
    base = None
    for backend, workers, r in rows:
        once = r["got"] == args.shared and r["states"] == {"delivered": args.shared}
        rate = args.shared / r["wall"]
        base = base if base is not None or backend != "PostgreSQL" else rate
        ratio = f" ({rate / base:.2f}x 1 worker)" if base and backend == "PostgreSQL" else ""
        print(f"{backend:<11} {workers:>2} {r['wall']:>7.2f} {rate:>9.0f} {r['p50'] * 1000:>13.1f} "
              f"{r['p99'] * 1000:>13.1f} {r['got']:>9,} {'yes' if once else 'NO ' + str(r['states'])}{ratio}")
        if r["errors"]:
            print("   errors:", r["errors"])
    receiver.kill()
    return 0


if __name__ == "__main__":
    sys.exit(main())
