"""Delivery benchmark: N routes through the webhook plugin vs apprise vs the receiver's own ceiling.

Run: ``python bench/delivery.py [--routes 100 1000] [--repeat 10]``. Loopback only.

A small raw-asyncio HTTP receiver runs in its own process on 127.0.0.1 and answers every POST with
``200 ok`` (keep-alive). Against it, in the same run:

* **cavra**: a schedule with N owners and one ``webhook`` provider is evaluated, planned and
  delivered by ``cavra_notify.service.deliver`` (the real planner, the real webhook plugin with an
  HMAC signing secret, the real SQLite evidence store in a temporary folder: claim before, evidence
  and outcome after every route).
* **apprise**: one ``apprise.Apprise()`` holding N ``json://127.0.0.1:PORT/...`` URLs (one per
  route), one ``notify(...)`` call with the same title and summary (apprise's default parallel mode).
* **cold**: whole processes, interpreter start and imports included: the ``cavra runtime
  go-rollback-drill-notification-deliver`` CLI against apprise's child process (its wall time).
* with ``--breakdown`` also **no-store** (the same without the evidence store) and **core** (the
  same store, but the webhook provider answers instantly without network), to show where time goes.
* **ceiling**: ``wrk`` POSTing a body of the same size at the receiver (skipped, with a note, when
  ``wrk`` is not installed).

Each cavra/apprise measurement runs in a fresh child process, so the peak RSS (``ru_maxrss``) is
that system's own; the receiver counts requests to prove every route reached it. The rounds are
interleaved (cavra, apprise, cavra CLI in each round) and the ratio to apprise is taken per round,
so the goals (at least 5x apprise warm and 4x cold at 1,000 routes) are judged on the minimum.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
KINDS = ("cavra", "apprise", "no-store", "core", "cavra-cli")
PATH = "/hooks/cavra"
NOW = "2027-03-01T00:00:00+00:00"
HISTORY = {
    "schema_version": "cavra.go-backend-rollback-drill-history.v1",
    "environment": "production-pilot",
    "drills": [{
        "drill_id": "drill-2026-11-10", "executed_at": "2026-11-10T15:40:00Z", "actor": "platform-oncall",
        "source_mode": "promoted", "target_mode": "disabled", "status": "pass", "fallback_verified": True,
        "recovery_minutes": 4, "max_recovery_minutes": 15, "runbook_ref": "docs/operators.md#rollback-drills",
        "evidence_refs": ["go-rollback-drill://production-pilot/drill-2026-11-10"],
    }],
}


# --- the receiver (child process) ------------------------------------------------------------

def serve(port_out: Any) -> None:
    """Raw HTTP/1.1 keep-alive receiver: ``POST`` → ``200 ok``; ``GET /count`` → requests so far."""
    count = 0
    ok = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok"

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal count
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line[:15].lower() == b"content-length:":
                        length = int(line[15:])
                if length:
                    await reader.readexactly(length)
                if head.startswith(b"GET /count"):
                    body = str(count).encode()
                    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
                else:
                    count += 1
                    writer.write(ok)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()

    async def main() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=2048)
        port_out.put(server.sockets[0].getsockname()[1])
        async with server:
            await server.serve_forever()

    asyncio.run(main())


def received(port: int) -> int:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/count", timeout=5) as answer:  # noqa: S310 (loopback)
        return int(answer.read())


# --- one measurement (child process) ---------------------------------------------------------

def write_inputs(folder: Path, routes: int, port: int) -> dict[str, str]:
    owners = [f"owner-{i:05d}" for i in range(routes)]
    schedule = {
        "schema_version": "cavra.go-backend-rollback-drill-schedule.v1",
        "schedule_id": "bench_delivery", "environment": "production-pilot", "status": "active",
        "interval_days": 30, "owners": owners, "notification_providers": ["webhook"],
        "owner_routes": {}, "maintenance_windows": [], "owner_calendars": {},
        "runbook_ref": "docs/operators.md#rollback-drills",
    }
    connectors = {"connectors": {"webhook": {"url": f"http://127.0.0.1:{port}{PATH}",
                                             "signing_secret": "bench-signing-secret-0123456789"}}}
    files = {"schedule": schedule, "history": HISTORY, "connectors": connectors}
    for name, document in files.items():
        (folder / f"{name}.json").write_text(json.dumps(document))
    return {name: str(folder / f"{name}.json") for name in files}


def noop_webhook_registry() -> Any:
    """The webhook provider with its network call replaced by an instant receipt: the core's own cost."""
    import dataclasses
    import types

    import cavra_notify_webhook  # type: ignore[import-not-found,unused-ignore]

    from cavra_notify.hookspecs import hookimpl
    from cavra_notify.plugins import PluginInfo, Registry
    from cavra_notify.provider import DeliveryRequest, Receipt

    async def instant(request: DeliveryRequest) -> Receipt:
        return Receipt(200, details={"status": 200})

    @hookimpl
    def cavra_register_providers(register: Any) -> None:
        register(dataclasses.replace(cavra_notify_webhook.PROVIDER, deliver=instant))

    registry = Registry()
    registry.add(types.SimpleNamespace(cavra_register_providers=cavra_register_providers), PluginInfo("noop"))
    return registry


def run_cavra(routes: int, port: int, kind: str = "cavra") -> dict[str, Any]:
    from datetime import datetime

    from cavra_notify import service, settings
    from cavra_notify.delivery import Options
    from cavra_notify.plugins import get_registry, reset_registry
    from cavra_notify.store import open_store

    if kind == "core":
        reset_registry(noop_webhook_registry())
    get_registry()
    with tempfile.TemporaryDirectory() as tmp:
        files = write_inputs(Path(tmp), routes, port)
        resolved = settings.resolve(mode="promoted", schedule_path=files["schedule"],
                                    history_path=files["history"], connector_config_path=files["connectors"],
                                    env={})
        ctx = service.context(resolved, datetime.fromisoformat(NOW))
        report = service.schedule_report(ctx)
        store = None if kind == "no-store" else open_store(Path(tmp) / "evidence.db")
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        started = time.perf_counter()
        result = service.deliver(ctx, report, None, store=store, options=Options(retries=0, timeout=30))
        elapsed = time.perf_counter() - started
        if store is not None:
            store.close()
        stored = sum(f.stat().st_size for f in Path(tmp).glob("evidence.db*"))
    delivered = sum(e.outcome == "delivered" for e in result.evidence)
    if kind == "core":
        delivered = routes  # nothing was sent: the receiver count is not expected to move
    return {"elapsed": elapsed, "sent": delivered, "outcome": result.outcome, "db_bytes": stored,
            "rss_before_kb": rss_before}


def run_apprise(routes: int, port: int) -> dict[str, Any]:
    import apprise

    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    notifier = apprise.Apprise()
    for i in range(routes):
        notifier.add(f"json://127.0.0.1:{port}{PATH}?owner=owner-{i:05d}")
    started = time.perf_counter()
    ok = notifier.notify(title="CAVRA Go rollback drill schedule critical",
                         body="Rollback drill schedule bench_delivery is needs_attention; next drill due "
                              "2026-12-10T15:40:00Z (-80.3 days).")
    elapsed = time.perf_counter() - started
    return {"elapsed": elapsed, "sent": routes if ok else -1, "outcome": "delivered" if ok else "failed",
            "rss_before_kb": rss_before}


def child(kind: str, routes: int, port: int) -> None:
    result = run_apprise(routes, port) if kind == "apprise" else run_cavra(routes, port, kind)
    result["peak_rss_kb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps(result))


def measure(kind: str, routes: int, port: int) -> dict[str, Any]:
    if kind == "cavra-cli":
        return measure_cli(routes, port)
    before = received(port)
    started = time.perf_counter()
    done = subprocess.run([sys.executable, __file__, "--child", kind, "--routes", str(routes), "--port", str(port)],
                          capture_output=True, text=True, timeout=600, check=False)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{kind} run failed:\n{done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    result["received"] = received(port) - before
    result["wall"] = wall
    return result


def measure_cli(routes: int, port: int) -> dict[str, Any]:
    """One cold ``cavra`` CLI delivery, the whole process timed."""
    with tempfile.TemporaryDirectory() as tmp:
        files = write_inputs(Path(tmp), routes, port)
        before = received(port)
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "cavra_notify", "runtime", "go-rollback-drill-notification-deliver",
             "--mode", "promoted", "--rollback-drill-schedule-path", files["schedule"],
             "--rollback-drill-history-path", files["history"], "--connector-config", files["connectors"],
             "--evidence-db", str(Path(tmp) / "evidence.db"), "--now", NOW, "--retries", "0",
             "--timeout-seconds", "30", "--json"],
            capture_output=True, text=True, timeout=600, check=False,
            env={k: v for k, v in os.environ.items() if not k.startswith("CAVRA_")})
        wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"cavra CLI run failed ({done.returncode}):\n{done.stderr[-2000:]}")
    deliveries = json.loads(done.stdout)["deliveries"]
    sent = sum(e["outcome"] == "delivered" for e in deliveries)
    return {"elapsed": wall, "wall": wall, "sent": sent, "outcome": "delivered" if sent == routes else "partial",
            "received": received(port) - before, "peak_rss_kb": 0}


# --- the receiver's ceiling ------------------------------------------------------------------

def ceiling(port: int, seconds: int, connections: int) -> float | None:
    wrk = shutil.which("wrk")
    if wrk is None:
        return None
    body = json.dumps({"event_type": "cavra.go_backend.rollback_drill.notification", "pad": "x" * 1100})
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(f'wrk.method = "POST"\nwrk.body = {json.dumps(body)}\n'
                     'wrk.headers["Content-Type"] = "application/json"\n')
    try:
        done = subprocess.run([wrk, "-t2", f"-c{connections}", f"-d{seconds}s", "-s", script.name,
                               f"http://127.0.0.1:{port}{PATH}"], capture_output=True, text=True,
                              timeout=seconds + 30, check=False)
    finally:
        os.unlink(script.name)
    for line in done.stdout.splitlines():
        if line.startswith("Requests/sec:"):
            return float(line.split(":", 1)[1])
    return None


# --- report ----------------------------------------------------------------------------------

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--routes", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--wrk-seconds", type=int, default=3)
    parser.add_argument("--child", choices=KINDS, help=argparse.SUPPRESS)
    parser.add_argument("--breakdown", action="store_true",
                        help="also run 'no-store' (webhook plugin, no evidence store) and 'core' (same store, "
                             "provider answers instantly without network) to show where the time goes")
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.routes[0], args.port)
        return
    if any(n < 1 or n > 10_000 for n in args.routes) or not 1 <= args.repeat <= 30:
        raise SystemExit("--routes must be 1..10000 and --repeat 1..30")

    ports: Any = multiprocessing.Queue()
    receiver = multiprocessing.Process(target=serve, args=(ports,), daemon=True)
    receiver.start()
    port = int(ports.get(timeout=10))
    try:
        rows = []
        for routes in args.routes:
            kinds = KINDS if args.breakdown else ("cavra", "apprise", "cavra-cli")
            runs: dict[str, list[dict[str, Any]]] = {kind: [] for kind in kinds}
            for _ in range(args.repeat):
                for kind in runs:
                    result = measure(kind, routes, port)
                    expected = 0 if kind == "core" else routes
                    if result["received"] != expected or result["sent"] != routes:
                        raise SystemExit(f"{kind}: {routes} routes but {result['received']} received, "
                                         f"{result['sent']} reported sent ({result['outcome']})")
                    runs[kind].append(result)
            rows.append((routes, runs))
        rate_ceiling = ceiling(port, args.wrk_seconds, 64)
    finally:
        receiver.terminate()
        receiver.join(5)

    print(f"delivery benchmark: loopback receiver, median of {args.repeat} runs, python {sys.version.split()[0]}, "
          f"{os.cpu_count()} CPUs")
    print("ceiling (wrk -t2 -c64, same receiver): "
          + (f"{rate_ceiling:,.0f} req/s" if rate_ceiling else "skipped: wrk not installed (apt-get install wrk)"))
    header = ("routes", "system", "median s", "routes/s", "vs apprise", "vs ceiling", "peak RSS MB")
    lines = [header]
    for routes, runs in rows:
        rates = {kind: routes / statistics.median(r["elapsed"] for r in results) for kind, results in runs.items()}
        apprise_cold = routes / statistics.median(r["wall"] for r in runs["apprise"])
        for kind, results in runs.items():
            rss = max(r["peak_rss_kb"] for r in results) / 1024
            versus = rates[kind] / (apprise_cold if kind == "cavra-cli" else rates["apprise"])
            lines.append((str(routes), kind, f"{statistics.median(r['elapsed'] for r in results):.3f}",
                          f"{rates[kind]:,.0f}", f"{versus:.1f}x",
                          f"{rates[kind] / rate_ceiling:.0%}" if rate_ceiling else "n/a",
                          f"{rss:.1f}" if rss else "n/a"))
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    for index, line in enumerate(lines):
        print("  ".join(cell.rjust(w) for cell, w in zip(line, widths, strict=True)))
        if index == 0:
            print("  ".join("-" * w for w in widths))
    for routes, runs in rows:
        warm = [a["elapsed"] / c["elapsed"] for a, c in zip(runs["apprise"], runs["cavra"], strict=True)]
        cold = [a["wall"] / c["wall"] for a, c in zip(runs["apprise"], runs["cavra-cli"], strict=True)]
        for name, ratios, goal in (("warm", warm, 5.0), ("cold whole process", cold, 4.0)):
            line = (f"{routes} routes, {name} vs apprise per round: min {min(ratios):.1f}x, "
                    f"median {statistics.median(ratios):.1f}x, max {max(ratios):.1f}x over {len(ratios)} rounds")
            if routes == 1000:
                line += f"; goal at least {goal:.0f}x as the minimum: {'met' if min(ratios) >= goal else 'NOT met'}"
            print(line)
    print("cavra = plan + webhook plugin (HMAC signed) + SQLite evidence (claim, evidence, outcome per route); "
          "cavra-cli = the same through a cold `cavra` process (its median s is the whole process's wall time, "
          "compared with apprise's whole child process); "
          "peak RSS is the whole child process (interpreter and imports included)")
    if args.breakdown:
        print("no-store = cavra without the evidence store; core = cavra with the same store but a provider "
              "that answers instantly (no network): the delivery core's own ceiling")


if __name__ == "__main__":
    main()
