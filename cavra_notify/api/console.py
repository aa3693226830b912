"""The evidence console: ``/console`` (one static page, its script and stylesheet, shipped in the
package) and the read-only per-schedule overview it renders."""

from __future__ import annotations

from importlib import resources

from fastapi import APIRouter, Request
from fastapi.responses import Response

from .app import reply
from .routes import Now, _cavra, _doc

router = APIRouter()
JS = "text/javascript; charset=utf-8"
ASSETS = {"dom.js": JS, "console.js": JS, "retries.js": JS, "console.css": "text/css; charset=utf-8"}
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                               "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; "
                               "frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


def _asset(name: str, media_type: str) -> Response:
    body = (resources.files("cavra_notify") / "console" / name).read_bytes()
    return Response(body, media_type=media_type, headers=SECURITY_HEADERS)


@router.get("/console", include_in_schema=False)
def console() -> Response:
    return _asset("index.html", "text/html; charset=utf-8")


@router.get("/console/{name}", include_in_schema=False)
def console_asset(name: str) -> Response:
    if name not in ASSETS:
        return Response('{"error": "not found", "detail": null}', status_code=404, media_type="application/json")
    return _asset(name, ASSETS[name])


@router.get("/runtime/go-pilot/rollback-drill-overview", **_doc("per-schedule overview for the evidence console"))
def overview(request: Request, now: Now = None) -> Response:
    return reply(request, _cavra(request).overview(now))
