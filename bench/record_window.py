"""Record-window benchmark: how long after a provider's answer is its outcome durable, and what does
group commit cost in throughput against the batching it replaced?

Run: ``python bench/record_window.py [--routes 10 1000] [--rounds 10]``. Loopback only.

The receiver of ``bench/delivery.py`` (raw asyncio, ``200 ok``, its own process) answers; each
measurement is a fresh child process that plans and delivers N routes through the real webhook
plugin into a real SQLite store (``synchronous = FULL``), as ``bench/delivery.py`` does. Two
recorders take turns, interleaved round by round:

* **group** — today's :class:`cavra_notify.recorder.Recorder`: a group is written 10 ms after its
  first record, in a worker thread, the next group as soon as the previous one is stored;
* **batch-1s** — the recorder it replaced (kept below): a batch is written on the event loop once
  256 routes are waiting or one second after the oldest finished, and at the end.

Each child makes two runs. The **throughput** run delivers the N routes as fast as it can; its
routes per second are judged by the fastest round (the minimum time is the least disturbed by the
rest of the machine). The **window** run is the same with one straggler (its answer comes 1.5 s
late), so the others are recorded while the run goes on, as in a real run with one slow service,
rather than by the flush at its end. For every route the child notes the moment the webhook plugin
returned the service's answer and the moment the transaction holding its outcome committed; the
difference is that route's **window** (what a SIGKILL in between costs: the route is sent again,
with the same delivery key, after its lease). The report gives min / median / max of the windows
over all rounds.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import multiprocessing
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
MODES = ("group", "batch-1s")
STRAGGLER, STRAGGLE = "owner-00000", 1.5
_spec = importlib.util.spec_from_file_location("bench_delivery", ROOT / "bench" / "delivery.py")
assert _spec is not None and _spec.loader is not None
delivery_bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(delivery_bench)


class BatchRecorder:
    """The recorder before group commit, for comparison: on-loop batches of 256 or every second."""

    def __init__(self, store: Any, registry: Any, *, deadline: float, batch: int = 256, every: float = 1.0) -> None:
        self.store, self.registry, self.batch, self.every = store, registry, batch, every
        self._pending: list[Any] = []
        self._timer: asyncio.TimerHandle | None = None
        self._error: Exception | None = None

    def add(self, evidence: Any) -> None:
        self._pending.append(evidence)
        if len(self._pending) >= self.batch:
            self._flush()
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self.every, self._flush)

    def _flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._error is not None or not self._pending:
            return
        batch, self._pending = [e.to_json() for e in self._pending], []
        try:
            self.store.record_deliveries(batch)
        except Exception as exc:
            self._error = exc
            return
        for evidence in batch:
            self.registry.delivery_recorded(evidence)

    @property
    def failed(self) -> bool:
        return self._error is not None

    async def finish(self) -> None:
        self._flush()
        if self._error is not None:
            raise self._error


def child(mode: str, routes: int, port: int, window: float) -> dict[str, Any]:
    import dataclasses
    from datetime import datetime

    import cavra_notify_webhook  # type: ignore[import-not-found,unused-ignore]

    from cavra_notify import delivery, recorder, service, settings
    from cavra_notify.hookspecs import hookimpl
    from cavra_notify.plugins import PluginInfo, Registry, reset_registry
    from cavra_notify.provider import DeliveryRequest, Receipt
    from cavra_notify.store import SQLiteStore

    answered: dict[str, float] = {}
    durable: dict[str, float] = {}
    straggle = [False]

    async def timed(request: DeliveryRequest) -> Receipt:
        if straggle[0] and request.route.owner == STRAGGLER:
            await asyncio.sleep(STRAGGLE)
        receipt = await cavra_notify_webhook.deliver(request)
        answered[request.delivery_key] = time.monotonic()
        return receipt

    class TimedStore(SQLiteStore):
        def record_deliveries(self, evidences: Any) -> None:
            super().record_deliveries(evidences)
            now = time.monotonic()
            durable.update((e["delivery_key"], now) for e in evidences)

    @hookimpl
    def cavra_register_providers(register: Any) -> None:
        register(dataclasses.replace(cavra_notify_webhook.PROVIDER, deliver=timed))

    registry = Registry()
    registry.add(type("Timed", (), {"cavra_register_providers": staticmethod(cavra_register_providers)}),
                 PluginInfo("timed-webhook"))
    reset_registry(registry)
    if mode == "batch-1s":
        delivery.Recorder = BatchRecorder  # type: ignore[misc,assignment]
    else:
        recorder.WINDOW = window
    def run() -> float:
        with tempfile.TemporaryDirectory() as tmp:
            files = delivery_bench.write_inputs(Path(tmp), routes, port)
            resolved = settings.resolve(mode="promoted", schedule_path=files["schedule"],
                                        history_path=files["history"], connector_config_path=files["connectors"],
                                        env={})
            ctx = service.context(resolved, datetime.fromisoformat(delivery_bench.NOW))
            report = service.schedule_report(ctx)
            store = TimedStore(Path(tmp) / "evidence.db")
            started = time.perf_counter()
            result = service.deliver(ctx, report, None, store=store,
                                     options=delivery.Options(retries=0, timeout=30))
            elapsed = time.perf_counter() - started
            store.close()
        if result.outcome != "delivered" or len(durable) != routes:
            raise SystemExit(f"{mode}: {result.outcome}, {len(durable)} of {routes} recorded")
        return elapsed

    elapsed = run()
    answered.clear()
    durable.clear()
    straggle[0] = True
    run()
    windows = [(durable[key] - answered[key]) * 1000 for key in answered]
    return {"elapsed": elapsed, "windows_ms": windows}


def measure(mode: str, routes: int, port: int, window: float) -> dict[str, Any]:
    done = subprocess.run([sys.executable, __file__, "--child", mode, "--routes", str(routes), "--port", str(port),
                           "--window", str(window)],
                          capture_output=True, text=True, timeout=600, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{mode} run failed:\n{done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--routes", type=int, nargs="+", default=[10, 1000])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--window", type=float, default=0.01,
                        help="group commit's window in seconds (default 0.01, the recorder's own)")
    parser.add_argument("--child", choices=MODES, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.routes[0], args.port, args.window)))
        return
    if any(n < 1 or n > 10_000 for n in args.routes) or not 1 <= args.rounds <= 50:
        raise SystemExit("--routes must be 1..10000 and --rounds 1..50")

    ports: Any = multiprocessing.Queue()
    receiver = multiprocessing.Process(target=delivery_bench.serve, args=(ports,), daemon=True)
    receiver.start()
    port = int(ports.get(timeout=10))
    runs: dict[tuple[int, str], list[dict[str, Any]]] = {}
    try:
        for routes in args.routes:
            for round_ in range(args.rounds):
                order = MODES if round_ % 2 == 0 else MODES[::-1]  # interleaved, alternating who goes first
                for mode in order:
                    runs.setdefault((routes, mode), []).append(measure(mode, routes, port, args.window))
    finally:
        receiver.terminate()
        receiver.join(5)

    print(f"record window: {args.rounds} interleaved rounds per size, group window {args.window * 1000:g} ms, "
          f"python {sys.version.split()[0]}")
    header = ("routes", "recorder", "window min ms", "median ms", "max ms", "fastest s", "routes/s (fastest)")
    lines = [header]
    for (routes, mode), results in runs.items():
        windows = [w for r in results for w in r["windows_ms"]]
        fastest = min(r["elapsed"] for r in results)
        lines.append((str(routes), mode, f"{min(windows):.1f}", f"{statistics.median(windows):.1f}",
                      f"{max(windows):.1f}", f"{fastest:.3f}", f"{routes / fastest:,.0f}"))
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    for index, line in enumerate(lines):
        print("  ".join(cell.rjust(w) for cell, w in zip(line, widths, strict=True)))
        if index == 0:
            print("  ".join("-" * w for w in widths))
    for routes in args.routes:
        group = min(r["elapsed"] for r in runs[(routes, "group")])
        batch = min(r["elapsed"] for r in runs[(routes, "batch-1s")])
        print(f"{routes} routes: group commit takes {group / batch:.2f}x the time of 1 s batching (fastest rounds)")


if __name__ == "__main__":
    main()
