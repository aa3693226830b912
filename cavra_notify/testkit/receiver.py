"""A local fake HTTP service on 127.0.0.1 for provider tests.

``FakeReceiver`` answers every request through a handler (by default ``200 {"ok": true}``) unless a
scripted response is queued with :meth:`FakeReceiver.enqueue`. Every request is recorded. Use it as a
context manager; it binds only to the loopback address.
"""

from __future__ import annotations

import argparse
import json
import socket
import ssl
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit


@dataclass
class Request:
    """One request the receiver saw."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body or b"null")

    def header(self, name: str) -> str | None:
        for key, value in self.headers.items():
            if key.lower() == name.lower():
                return value
        return None


@dataclass
class Response:
    """A response to send: ``body`` may be bytes, str or anything JSON-serialisable."""

    status: int = 200
    body: Any = field(default_factory=lambda: {"ok": True})
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0

    def encoded(self) -> tuple[bytes, str]:
        if isinstance(self.body, bytes):
            return self.body, "application/octet-stream"
        if isinstance(self.body, str):
            return self.body.encode(), "text/plain; charset=utf-8"
        return json.dumps(self.body).encode(), "application/json"


Handler = Callable[[Request], Response]
LOOPBACK = "127.0.0.1"


class _Server(ThreadingHTTPServer):
    request_queue_size = 1024  # the default of 5 resets connections under concurrent delivery
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that refused our certificate or hung up is not the fake's error: stay quiet."""


class _Server6(_Server):
    address_family = socket.AF_INET6


class FakeReceiver:
    """Threaded loopback HTTP server with scripted answers and a request log."""

    def __init__(self, handler: Handler | None = None, host: str = LOOPBACK, port: int = 0, *,
                 tls: ssl.SSLContext | None = None) -> None:
        """Listen on ``host:port`` (loopback only; port 0 picks a free one); with ``tls`` (a server
        context, e.g. from trustme) it speaks HTTPS."""
        if not host.startswith("127.") and host not in ("localhost", "::1"):
            raise ValueError("FakeReceiver binds to loopback addresses only")
        self.handler: Handler = handler or (lambda request: Response())
        self.requests: list[Request] = []
        self.host = host
        self._script: deque[Response] = deque()
        self._lock = threading.Lock()
        server_class = _Server6 if ":" in host else _Server
        self._server = server_class((host, port), self._make_handler())
        if tls is not None:
            # the handshake runs in the request's own thread, so a client that fails it blocks nobody
            self._server.socket = tls.wrap_socket(self._server.socket, server_side=True,
                                                  do_handshake_on_connect=False)
        self.scheme = "https" if tls is not None else "http"
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}"

    def enqueue(self, *responses: Response) -> None:
        """Answer the next requests with these responses, in order, before the handler."""
        with self._lock:
            self._script.extend(responses)

    def requests_to(self, path: str) -> list[Request]:
        with self._lock:
            return [r for r in self.requests if r.path == path]

    def start(self) -> FakeReceiver:
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:  # shutdown() waits for serve_forever, which never ran otherwise
            self._server.shutdown()
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> FakeReceiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _respond(self, request: Request) -> Response:
        with self._lock:
            self.requests.append(request)
            scripted = self._script.popleft() if self._script else None
        return scripted or self.handler(request)

    def _make_handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def setup(self) -> None:
                if isinstance(self.request, ssl.SSLSocket):
                    self.request.do_handshake()
                super().setup()

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                request = Request(
                    method=self.command,
                    path=parts.path,
                    query=parse_qs(parts.query),
                    headers=dict(self.headers.items()),
                    body=body,
                )
                try:
                    response = receiver._respond(request)
                except Exception as exc:  # a broken handler is a 500, like a real server
                    response = Response(500, {"error": type(exc).__name__})
                if response.delay:
                    time.sleep(response.delay)
                payload, content_type = response.encoded()
                try:
                    self.send_response(response.status)
                    headers = {"Content-Type": content_type, **response.headers}
                    for key, value in headers.items():
                        self.send_header(key, value)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout test); nothing to answer

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                return

        return _Handler


@contextmanager
def fake_receiver(handler: Handler | None = None, host: str = LOOPBACK, port: int = 0, *,
                  tls: ssl.SSLContext | None = None) -> Iterator[FakeReceiver]:
    """``with fake_receiver() as rx: ...`` — a started :class:`FakeReceiver` (arguments as its own)."""
    with FakeReceiver(handler, host, port, tls=tls) as receiver:
        yield receiver


def closed_port() -> int:
    """A loopback port with nothing listening (for connection-refused tests)."""

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class FakeService:
    """Base of a plugin's fake service: the subclass sets up its state, calls ``super().__init__()`` and
    implements :meth:`handle`; this class owns the loopback receiver, its lifecycle and per-path scripts."""

    def __init__(self, host: str = LOOPBACK, port: int = 0, *, tls: ssl.SSLContext | None = None) -> None:
        self.receiver = FakeReceiver(self.handle, host, port, tls=tls)
        self._scripts: defaultdict[tuple[str, str], deque[Response]] = defaultdict(deque)
        self._delays: defaultdict[tuple[str, str], deque[float]] = defaultdict(deque)
        self._script_lock = threading.Lock()

    def handle(self, request: Request) -> Response:
        raise NotImplementedError

    def script(self, method: str, path: str, *responses: Response) -> None:
        """Answer the next requests to ``method path`` with these responses (see :meth:`scripted`)."""
        with self._script_lock:
            self._scripts[(method, path)].extend(responses)

    def delay_next(self, method: str, path: str, seconds: float) -> None:
        """Handle the next ``method path`` normally but send the answer ``seconds`` late."""
        with self._script_lock:
            self._delays[(method, path)].append(seconds)

    def scripted(self, request: Request, route: Callable[[str, str, Request], Response]) -> Response:
        """The next scripted answer for the request's method and path, else ``route(method, path,
        request)``, sent late by a pending :meth:`delay_next`. Paths compare without a trailing slash."""
        path, method = request.path.rstrip("/"), request.method
        with self._script_lock:
            scripted = self._scripts[(method, path)]
            if scripted:
                return scripted.popleft()
            delays = self._delays[(method, path)]
            delay = delays.popleft() if delays else 0.0
        response = route(method, path, request)
        response.delay = delay
        return response

    def serve(self, banner: str) -> None:
        """Run alone (a fake's ``python -m`` entry): print ``banner`` and serve until Ctrl-C."""
        with self:
            print(banner, flush=True)
            try:
                while True:
                    time.sleep(3600)
            except KeyboardInterrupt:
                pass

    @property
    def url(self) -> str:
        return self.receiver.url

    @property
    def requests(self) -> list[Request]:
        return self.receiver.requests

    def enqueue(self, *responses: Response) -> None:
        """Answer the next requests (any path) with these responses, e.g. a 429 or a slow 200."""
        self.receiver.enqueue(*responses)

    def start(self) -> Self:
        self.receiver.start()
        return self

    def stop(self) -> None:
        self.receiver.stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def add_listen_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """``--host`` (loopback, default 127.0.0.1) and ``--port`` (default 0: any free port) for a fake's CLI."""
    parser.add_argument("--host", default=LOOPBACK, help="a loopback address to listen on")
    parser.add_argument("--port", type=int, default=0, help="the port (0 picks a free one)")
    return parser
