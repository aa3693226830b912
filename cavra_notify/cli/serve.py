"""``cavra serve`` (the HTTP API through uvicorn) and ``cavra runtime go-pilot-evaluate`` (the Go pilot gate).

FastAPI and uvicorn are imported only when ``serve`` runs, never while the parser is built.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from typing import Any

from .. import facade
from ..errors import SettingsError
from . import output


def add_commands(commands: Any) -> None:
    p = commands.add_parser("serve", help="serve the HTTP API (settings from the CAVRA_* environment)")
    p.add_argument("--host", default="127.0.0.1", help="listen address (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="listen port (default 8000)")
    p.add_argument("--evidence-db", help="evidence store (SQLite file); env CAVRA_EVIDENCE_DB")
    p.add_argument("--allow-unauthenticated-loopback", action="store_true",
                   help="with no api.token configured, accept mutating requests from loopback callers "
                        "(only with a loopback --host; never behind a reverse proxy)")
    p.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"])
    p.add_argument("--log-format", choices=["text", "json"],
                   help="text lines, or one JSON object per line for log shippers (env CAVRA_LOG_FORMAT)")
    p.set_defaults(handler=cmd_serve)


def add_gate_command(sub: Any, common: Callable[..., None]) -> None:
    p = sub.add_parser("go-pilot-evaluate", help="select the Go or Python backend for one action")
    p.add_argument("action", help="the action to evaluate, e.g. execute_command")
    p.add_argument("target", help="the action's target, e.g. 'terraform plan'")
    common(p)
    for item in facade.gate_evidence():
        p.add_argument(item.flag, dest=item.key, help=f"{item.kind} evidence; env {item.env}")
    p.set_defaults(handler=cmd_evaluate)


def check_listen(host: str, token: str | None, allow_unauthenticated_loopback: bool) -> None:
    """Refuse a non-loopback listener without a token, and the unauthenticated mode off loopback."""
    from ..api.security import is_loopback

    if is_loopback(host):
        return
    if token is None:
        raise SettingsError(f"--host {host}: refusing to listen on a non-loopback address without an API token "
                            "(set api.token in the private connector config)")
    if allow_unauthenticated_loopback:
        raise SettingsError(f"--allow-unauthenticated-loopback needs a loopback --host, not {host}")


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from ..api import create_app

    if not 0 < args.port < 65536:
        raise SettingsError(f"--port: expected 1-65535, got {args.port}")
    app = create_app(dict(os.environ), args.evidence_db,
                     allow_unauthenticated_loopback=args.allow_unauthenticated_loopback)
    check_listen(args.host, app.state.cavra.token, args.allow_unauthenticated_loopback)
    facade.configure_logging(args.log_format, args.log_level)  # uvicorn's loggers propagate to this handler
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level, log_config=None,
                proxy_headers=False, server_header=False, date_header=False)
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from .runtime import EXIT_NEEDS_ATTENTION, cavra_from

    evidence = {item.key: getattr(args, item.key) for item in facade.gate_evidence()}
    result = cavra_from(args).gate(args.action, args.target, evidence, facade.parse_time(args.now)).to_json()
    if args.json:
        output.emit_json(result)
    else:
        output.emit(f"{result['action']} {result['target']!r}: {result['selected_backend']} backend"
                    + (f" ({result['fallback_reason']})" if result["fallback_reason"] else ""))
    fell_back = result["requested_backend"] == "go" and result["selected_backend"] != "go"
    return EXIT_NEEDS_ATTENTION if fell_back else 0
