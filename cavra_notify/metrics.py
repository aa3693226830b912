"""Prometheus metrics of delivery health: ``/metrics`` on ``cavra serve``, a text file for the sweep.

Counters and the attempt histogram count what this process delivered (every stored delivery record
passes :meth:`Metrics.observe`); the gauges are read from the evidence store when the metrics are
collected, so they hold across processes sharing one store. Labels are connector and provider names
(keys of the private config), outcomes, failure classes, schedule ids and statuses: never a secret,
never a URL.

| metric | type | labels |
|---|---|---|
| ``cavra_deliveries_total`` | counter | connector, provider, outcome, failure_class |
| ``cavra_delivery_attempt_seconds`` | histogram | provider, result (``ok`` or a failure class) |
| ``cavra_delivery_retries_total`` | counter | connector, provider |
| ``cavra_claims_in_flight`` | gauge | |
| ``cavra_acknowledgements_outstanding`` / ``_breached`` | gauge | |
| ``cavra_schedule_status`` | gauge (1 for the current status) | schedule_id, status |
| ``cavra_sweep_duration_seconds`` | gauge | |
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest, write_to_textfile
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from . import plugins
from .errors import SettingsError
from .timeutil import utcnow

log = logging.getLogger("cavra_notify.metrics")
BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class _StoreGauges(Collector):
    """Claims in flight, acknowledgements and schedule statuses, read from the store at collection."""

    def __init__(self) -> None:
        self.store: Callable[[], Any] | None = None

    def collect(self) -> Iterator[Metric]:
        if self.store is None:
            return
        try:
            from .dashboard import build_dashboard

            store = self.store()
            dashboard = build_dashboard(store, utcnow())
            plans = store.latest_plans()
        except Exception as exc:  # a store that cannot answer costs these gauges, never the scrape
            log.warning("metrics: the evidence store did not answer (%s)", type(exc).__name__)
            return
        for name, value, text in (
            ("cavra_claims_in_flight", dashboard["pending_intents"], "routes claimed for sending, not yet recorded"),
            ("cavra_acknowledgements_outstanding", dashboard["outstanding_route_count"],
             "delivered routes waiting for an acknowledgement"),
            ("cavra_acknowledgements_breached", dashboard["breached_route_count"],
             "routes whose acknowledgement window has passed"),
        ):
            yield GaugeMetricFamily(name, text, value=value)
        status = GaugeMetricFamily("cavra_schedule_status", "the latest planned status of each schedule (1)",
                                   labels=["schedule_id", "status"])
        for plan in plans:
            status.add_metric([str(plan.get("schedule_id")), str(plan.get("status"))], 1)
        yield status


class Metrics:
    """One process's metrics registry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.deliveries = Counter("cavra_deliveries", "delivery records by connector, outcome and failure class",
                                  ["connector", "provider", "outcome", "failure_class"], registry=self.registry)
        self.attempts = Histogram("cavra_delivery_attempt_seconds", "the duration of each delivery attempt",
                                  ["provider", "result"], buckets=BUCKETS, registry=self.registry)
        self.retries = Counter("cavra_delivery_retries", "attempts after the first, by connector",
                               ["connector", "provider"], registry=self.registry)
        self.sweep_seconds = Gauge("cavra_sweep_duration_seconds", "how long the last sweep took",
                                   registry=self.registry)
        self._store = _StoreGauges()
        self.registry.register(self._store)

    def use_store(self, store: Callable[[], Any]) -> None:
        """Read the store gauges through ``store()`` (called at each collection)."""
        self._store.store = store

    def observe(self, evidence: Mapping[str, Any]) -> None:
        """Count one stored delivery record."""
        connector, provider = str(evidence.get("connector")), str(evidence.get("provider"))
        self.deliveries.labels(connector, provider, str(evidence.get("outcome")),
                               str(evidence.get("failure_class") or "none")).inc()
        attempts = [a for a in evidence.get("attempts") or [] if isinstance(a, Mapping)]
        for attempt in attempts:
            duration = attempt.get("duration_ms")
            if isinstance(duration, int | float) and duration >= 0:
                self.attempts.labels(provider, str(attempt.get("class"))).observe(duration / 1000)
        if len(attempts) > 1:
            self.retries.labels(connector, provider).inc(len(attempts) - 1)

    def text(self) -> bytes:
        return generate_latest(self.registry)

    def write_textfile(self, path: str) -> None:
        """Write the metrics for node-exporter's textfile collector (atomically: a temp file renamed)."""
        write_to_textfile(path, self.registry)


_metrics: Metrics | None = None
_lock = threading.Lock()


def enable() -> Metrics:
    """The process's metrics, created once; from then on every stored delivery record is counted."""
    global _metrics
    with _lock:
        if _metrics is None:
            _metrics = Metrics()
            plugins.add_recorder(_metrics.observe)
        return _metrics


class SweepMetrics:
    """``--metrics-textfile`` for the sweep: times it and writes the file when it ends."""

    def __init__(self, path: str) -> None:
        self.path, self.metrics, self.started = path, enable(), time.monotonic()

    def write(self, store: Any) -> None:
        self.metrics.sweep_seconds.set(time.monotonic() - self.started)
        self.metrics.use_store(lambda: store)
        self.metrics.write_textfile(self.path)


def sweep_metrics(path: str | None) -> SweepMetrics | None:
    """Metrics for a sweep writing ``path`` (``None``: none); a folder that cannot take it is refused now."""
    if not path:
        return None
    folder = Path(path).resolve().parent
    if not folder.is_dir() or not os.access(folder, os.W_OK):
        raise SettingsError(f"--metrics-textfile {path}: its folder does not exist or is not writable")
    return SweepMetrics(path)
