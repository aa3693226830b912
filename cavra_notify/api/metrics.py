"""``GET /metrics``: the Prometheus text format of :mod:`cavra_notify.metrics` (read only, no secret)."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST

from ..facade import Cavra


def install(app: FastAPI) -> None:
    """Count deliveries from now on and serve ``/metrics`` (the store gauges from the app's store)."""
    Cavra.enable_metrics()

    @app.get("/metrics", include_in_schema=False)
    def scrape(request: Request) -> Response:
        cavra: Cavra = request.app.state.cavra.cavra
        return Response(cavra.metrics_text(), media_type=CONTENT_TYPE_LATEST)
