"""Bearer-token check for mutating requests and the request size limit, as one ASGI middleware.

It runs before routing and body parsing, so an unauthenticated caller learns nothing from the body
validator, and a body larger than the limit is refused without being read past the limit. The token
is resolved to a verified actor through the facade (:mod:`cavra_notify.actors`); each mutating route
needs one role (:func:`required_role`), and the actor is handed to the route in the request scope.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from ..errors import AuthError
from ..records import Actor

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

MAX_BODY_BYTES = 1024 * 1024
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
ACTOR_KEY = "cavra_actor"  # where the verified actor is put in the request scope's state
NOTIFICATIONS = "/runtime/go-pilot/rollback-drill-notifications"
# the role each mutating route needs (by path ending); any other mutating path needs admin
ROLE_OF_PATH = (("/acknowledgements", "acknowledge"), (f"{NOTIFICATIONS}/deliver", "deliver"),
                (f"{NOTIFICATIONS}/escalations", "deliver"), (f"{NOTIFICATIONS}/plan", "read"),
                (f"{NOTIFICATIONS}/escalation-plan", "read"), ("/runtime/go-pilot/evaluate", "approve"),
                # failed notifications (docs/retries.md): the facade's require_role checks approve again
                ("/rollback-drill-retries/plan", "read"), ("/rollback-drill-retries/decisions", "approve"),
                ("/rollback-drill-retries/worker", "deliver"), ("/connector-recovery/playbook", "read"),
                ("/connector-recovery/closures", "approve"), ("/test", "deliver"))


def required_role(path: str) -> str:
    return next((role for end, role in ROLE_OF_PATH if path.rstrip("/").endswith(end)), "admin")


def is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class Auth:
    """``resolve`` turns an ``Authorization`` header into a verified :class:`Actor` (or raises
    :class:`AuthError`); ``configured`` says whether any identity exists. Without one, mutating routes
    are refused unless ``allow_unauthenticated_loopback`` is set and the caller's address is loopback
    (then no actor is verified: acknowledgements record the ``acknowledged_by`` they are given)."""

    resolve: Callable[[str | None], Actor]
    configured: bool
    allow_unauthenticated_loopback: bool = False

    def actor(self, method: str, path: str, authorization: str | None,
              client_host: str | None) -> tuple[Actor | None, tuple[int, str] | None]:
        """(the verified actor, or the status and error that refuse the request)."""
        if method in SAFE_METHODS:
            if not authorization or not self.configured:
                return None, None
            try:  # a read names its actor only when asked (who am I); a bad token is not an error here
                return self.resolve(authorization), None
            except AuthError:
                return None, None
        if not self.configured:
            if self.allow_unauthenticated_loopback and is_loopback(client_host):
                return None, None
            return None, (403, "mutating routes are disabled: no API token is configured "
                               "(set api.token or api.actors in the private connector config)")
        try:
            actor = self.resolve(authorization)
        except AuthError as exc:
            return None, (401, str(exc))
        role = required_role(path)
        if not actor.may(role):
            return None, (403, f"actor '{actor.name}' lacks the '{role}' role this route needs")
        return actor, None


def browser_problem(headers: dict[str, str]) -> tuple[int, str] | None:
    """Without a token, a web page the operator visits could post to a loopback server: a cross-site
    form or ``fetch`` sends ``text/plain`` (or no type) without a CORS preflight. So unauthenticated
    mutating requests must be ``application/json`` (which a foreign page cannot send without a
    preflight this server never answers) and must not come from a foreign ``Origin`` (which also
    stops a DNS-rebinding page: its origin is its own host name, not a loopback address)."""
    media_type = headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media_type != "application/json" and not (media_type.startswith("application/") and
                                                 media_type.endswith("+json")):
        return 415, "mutating requests need Content-Type: application/json"
    origin = headers.get("origin")
    if origin is not None:
        try:
            host = urlsplit(origin).hostname
        except ValueError:
            host = None
        if not is_loopback(host):
            return 403, "cross-origin request refused: without an API token only loopback origins may post"
    return None


async def send_error(send: Send, status: int, error: str, detail: Any = None,
                     headers: list[tuple[bytes, bytes]] | None = None) -> None:
    body = json.dumps({"error": error, "detail": detail}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            *(headers or [])]})
    await send({"type": "http.response.body", "body": body})


class RequestGuard:
    """ASGI middleware: auth for every non-safe method, then a body size limit for every request."""

    def __init__(self, app: ASGIApp, auth: Auth, max_body: int = MAX_BODY_BYTES) -> None:
        self.app, self.auth, self.max_body = app, auth, max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        client = scope.get("client")
        actor, problem = self.auth.actor(scope["method"], scope.get("path", ""), headers.get("authorization"),
                                         client[0] if client else None)
        if problem is None and not self.auth.configured and scope["method"] not in SAFE_METHODS:
            problem = browser_problem(headers)  # unauthenticated loopback: refuse what a web page could send
        if problem is not None:
            extra = [(b"www-authenticate", b"Bearer")] if problem[0] == 401 else []
            await send_error(send, problem[0], problem[1], headers=extra)
            return
        scope.setdefault("state", {})[ACTOR_KEY] = actor
        length = headers.get("content-length")
        if length is not None and not length.isdigit():
            await send_error(send, 400, "invalid Content-Length header")
            return
        if length is not None and int(length) > self.max_body:
            await self._too_large(send)
            return
        body, more = bytearray(), True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                await self.app(scope, _replay(bytes(body), receive, message), send)
                return
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > self.max_body:
                await self._too_large(send)
                return
        await self.app(scope, _replay(bytes(body), receive), send)

    async def _too_large(self, send: Send) -> None:
        await send_error(send, 413, f"request body larger than the {self.max_body} byte limit")


def _replay(body: bytes, upstream: Receive, final: Message | None = None) -> Receive:
    """A ``receive`` that yields the buffered body once, then hands over to the server's ``receive``."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            if final is not None:
                return final
            return {"type": "http.request", "body": body, "more_body": False}
        return await upstream()

    return receive
