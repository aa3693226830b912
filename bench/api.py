"""HTTP API load test on loopback: requests/s and p50/p99 latency for the schedule and deliver routes.

Run: ``python bench/api.py [--schedule-requests 2000] [--deliver-requests 300] [--concurrency 16]``.

It starts ``cavra serve`` (uvicorn) in a subprocess on 127.0.0.1 with a stale schedule whose owners
are routed to the webhook plugin, delivering to a local fake webhook receiver in this process. Then
concurrent httpx clients hit ``GET /runtime/go-pilot/rollback-drill-schedule`` and
``POST .../deliver`` (``force: true``, so every request tries every route again; a route another
request is still sending is skipped as ``in_flight`` by the notification log). Afterwards the store
is checked: delivery evidence rows == deliveries reported by the API == events the receiver got, and
no intent is left ``sending``. Everything is bounded by ``--max-seconds`` per phase.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cavra_notify.dashboard import build_dashboard  # noqa: E402
from cavra_notify.store import open_store  # noqa: E402

TOKEN = "bench-" + os.urandom(16).hex()
OWNERS = ["release-governance", "platform-oncall", "sre-primary", "sre-secondary"]


@dataclass
class Phase:
    name: str
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    bodies: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0

    def line(self) -> str:
        lat = sorted(self.latencies)
        p50 = statistics.median(lat) * 1000
        p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000
        return (f"{self.name:<10} {len(lat):>6} req  {len(lat) / self.seconds:>8.1f} req/s  "
                f"p50 {p50:>7.1f} ms  p99 {p99:>7.1f} ms  statuses {dict(self.statuses)}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_files(tmp: Path, receiver_url: str) -> dict[str, str]:
    schedule = json.loads((ROOT / "examples" / "schedule.json").read_text())
    schedule.update(next_due_at=(datetime.now(UTC) - timedelta(days=2)).isoformat(), owners=OWNERS,
                    notification_providers=["webhook"], owner_routes={})
    (tmp / "schedule.json").write_text(json.dumps(schedule))
    (tmp / "connectors.json").write_text(json.dumps({"connectors": {"webhook": {"url": receiver_url}},
                                                     "api": {"token": TOKEN}}))
    return {**os.environ, "CAVRA_GO_BACKEND_MODE": "promoted",
            "CAVRA_GO_ROLLBACK_DRILL_SCHEDULE": str(tmp / "schedule.json"),
            "CAVRA_GO_ROLLBACK_DRILL_HISTORY": str(ROOT / "examples" / "history.json"),
            "CAVRA_CONNECTOR_CONFIG": str(tmp / "connectors.json"), "CAVRA_EVIDENCE_DB": str(tmp / "evidence.db")}


def start_server(env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    argv = [sys.executable, "-c", "from cavra_notify.cli import main; raise SystemExit(main())",
            "serve", "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    server = subprocess.Popen(argv, env=env)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            time.sleep(0.1)
    server.terminate()
    raise SystemExit("the API server did not come up within 20 s")


async def run_phase(phase: Phase, base: str, count: int, concurrency: int, max_seconds: float,
                    request: dict[str, Any]) -> Phase:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(count):
        queue.put_nowait(i)
    stop_at = time.monotonic() + max_seconds

    async def worker(client: httpx.AsyncClient) -> None:
        while not queue.empty() and time.monotonic() < stop_at:
            queue.get_nowait()
            began = time.perf_counter()
            response = await client.request(**request)
            phase.latencies.append(time.perf_counter() - began)
            phase.statuses[response.status_code] += 1
            if request["method"] == "POST":
                phase.bodies.append(response.json())

    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60) as client:
        began = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
        phase.seconds = time.perf_counter() - began
    return phase


def main() -> int:
    from cavra_notify_webhook.fake import FakeWebhookReceiver

    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--schedule-requests", type=int, default=2000)
    parser.add_argument("--deliver-requests", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--max-seconds", type=float, default=60.0)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp, FakeWebhookReceiver() as receiver:
        env = write_files(Path(tmp), receiver.url)
        port = free_port()
        server = start_server(env, port)
        base = f"http://127.0.0.1:{port}"
        try:
            schedule = asyncio.run(run_phase(
                Phase("schedule"), base, args.schedule_requests, args.concurrency, args.max_seconds,
                {"method": "GET", "url": "/runtime/go-pilot/rollback-drill-schedule"}))
            deliver = asyncio.run(run_phase(
                Phase("deliver"), base, args.deliver_requests, args.concurrency, args.max_seconds,
                {"method": "POST", "url": "/runtime/go-pilot/rollback-drill-notifications/deliver",
                 "json": {"provider": "webhook", "retries": 0, "force": True},
                 "headers": {"Authorization": f"Bearer {TOKEN}"}}))
        finally:
            server.terminate()
            server.wait(timeout=20)
        store = open_store(env["CAVRA_EVIDENCE_DB"])
        try:
            board = build_dashboard(store, datetime.now(UTC))
        finally:
            store.close()

    reported = sum(len(b["deliveries"]) for b in deliver.bodies)
    delivered = sum(b["delivered_count"] for b in deliver.bodies)
    skipped = Counter(s["skipped"] for b in deliver.bodies for s in b["skipped"])
    print(schedule.line())
    print(deliver.line())
    print(f"deliveries: {delivered} delivered of {reported} attempted ({len(OWNERS)} routes per request), "
          f"skipped {dict(skipped)}; receiver got {len(receiver.events)}; store has "
          f"{board['deliveries']['total']} delivery records {board['deliveries']['by_outcome']}, "
          f"{board['pending_intents']} pending intents, {board['plans']} plans")
    problems = []
    if set(schedule.statuses) != {200} or set(deliver.statuses) != {200}:
        problems.append("non-200 answers")
    if not (delivered == reported == len(receiver.events) == board["deliveries"]["total"]):
        problems.append("store, API and receiver disagree on the number of deliveries")
    if board["pending_intents"]:
        problems.append("intents left in 'sending'")
    if len(schedule.latencies) < args.schedule_requests or len(deliver.latencies) < args.deliver_requests:
        problems.append(f"stopped at the {args.max_seconds:.0f} s bound before all requests were sent")
    print("consistent: yes" if not problems else "PROBLEMS: " + "; ".join(problems))
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
