"""``create_app``: settings from the server's environment, one evidence store, JSON errors only."""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException

from ..errors import CavraError, ConfigError, ForbiddenError, StoreError, UnroutableError
from ..facade import Cavra
from ..redact import process_redactor
from .security import Auth, RequestGuard

NON_FINITE = "the response holds a non-finite number (NaN or Infinity), which JSON cannot carry"
STATUS_OF_ERROR: tuple[tuple[type[CavraError], int], ...] = (
    (StoreError, 503), (ConfigError, 409), (UnroutableError, 409), (ForbiddenError, 403))


class ApiState:
    """What every request shares: the facade (resolved settings, one lazily opened store) and the token."""

    def __init__(self, env: Mapping[str, str], evidence_db: str | None, token: str | None) -> None:
        self.env = env
        self.cavra = Cavra.from_flags(env=env, evidence_db=evidence_db or Cavra.default_evidence_db(env),
                                      generated_by="cavra api")
        self.settings = self.cavra.settings
        self.token = token
        self.identities_configured = False

    def close(self) -> None:
        self.cavra.close()


def reply(request: Request, payload: Any, status: int = 200) -> Response:
    """A JSON response, scrubbed by the process redactor (connector secrets, URL parts, API token)."""
    try:
        text = json.dumps(payload, default=str, allow_nan=False)
    except ValueError:  # strict JSON only: a non-finite number is an error of its own, never bare NaN
        text, status = json.dumps({"error": NON_FINITE, "detail": None}), 400
    body = process_redactor().scrub(text)
    return Response(body, status_code=status, media_type="application/json")


def _error(request: Request, status: int, error: str, detail: Any = None, **headers: str) -> Response:
    response = reply(request, {"error": error, "detail": detail}, status)
    response.headers.update(headers)
    return response


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(CavraError)
    async def cavra_error(request: Request, exc: CavraError) -> Response:
        status = next((code for kind, code in STATUS_OF_ERROR if isinstance(exc, kind)), 400)
        return _error(request, status, str(exc))

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        detail = [{"loc": list(e.get("loc", ())), "msg": e.get("msg"), "type": e.get("type")} for e in exc.errors()]
        return _error(request, 422, "invalid request: " + "; ".join(
            f"{'.'.join(str(p) for p in d['loc'])}: {d['msg']}" for d in detail[:5]), detail)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        return _error(request, exc.status_code, str(exc.detail), None, **(exc.headers or {}))

    @app.exception_handler(Exception)
    async def bug(request: Request, exc: Exception) -> Response:
        return _error(request, 500, "internal error (a bug: please report it)", type(exc).__name__)


def create_app(settings_env: Mapping[str, str] | None = None, evidence_db: str | None = None, *,
               allow_unauthenticated_loopback: bool = False) -> FastAPI:
    """The API app. Settings and the API token come from ``settings_env`` (default: ``os.environ``)
    and the private connector config it names; invalid settings raise :class:`CavraError` here."""
    env = dict(os.environ if settings_env is None else settings_env)
    state = ApiState(env, evidence_db, None)
    state.token = state.cavra.api_token()
    identities = state.cavra.identities()
    state.identities_configured = identities.configured

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        state.close()

    from .. import __version__
    from .console import router as console_router
    from .metrics import install as install_metrics
    from .retries import router as retries_router
    from .routes import router

    app = FastAPI(title="cavra-notify", version=__version__, lifespan=lifespan, docs_url=None, redoc_url=None,
                  description="CAVRA rollback drill schedules, notification plans, delivery, acknowledgements "
                              "and escalation. Mutating routes need `Authorization: Bearer <token>`.")
    app.state.cavra = state
    _install_error_handlers(app)
    app.include_router(router)
    app.include_router(console_router)
    app.include_router(retries_router)
    install_metrics(app)  # GET /metrics
    auth = Auth(identities.resolve, identities.configured, allow_unauthenticated_loopback)
    app.add_middleware(RequestGuard, auth=auth)  # type: ignore[arg-type]
    return app
