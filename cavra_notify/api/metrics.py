"""``GET /metrics``: the Prometheus text format of :mod:`cavra_notify.metrics` (read only, no secret)."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST

from ..metrics import enable


def install(app: FastAPI) -> None:
    """Count deliveries from now on and serve ``/metrics`` (the store gauges from the app's store)."""
    metrics = enable()

    @app.get("/metrics", include_in_schema=False)
    def scrape(request: Request) -> Response:
        metrics.use_store(request.app.state.cavra.store)
        return Response(metrics.text(), media_type=CONTENT_TYPE_LATEST)
