"""A loopback HTTP proxy for tests: forwards absolute-URI requests, tunnels ``CONNECT``, records both.

Point a connector's ``proxy`` at :attr:`FakeProxy.url` and check :attr:`FakeProxy.seen` to prove a
plugin's traffic went through it (plain ``http://`` targets arrive as forwarded requests, ``https://``
targets as ``CONNECT host:port`` tunnels). With ``credentials`` it answers ``407`` unless the client
sends them as ``Proxy-Authorization: Basic``. Upstreams must be loopback addresses.
"""

from __future__ import annotations

import base64
import contextlib
import socket
import socketserver
import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from .receiver import LOOPBACK

_MAX_HEAD = 64 * 1024


@dataclass(frozen=True)
class Proxied:
    """One request the proxy saw: ``CONNECT host:port`` or a forwarded ``METHOD absolute-URL``."""

    method: str
    target: str
    authorized: bool


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client or upstream hanging up mid-tunnel is not the proxy's error: stay quiet."""


class FakeProxy:
    def __init__(self, credentials: tuple[str, str] | None = None, host: str = LOOPBACK, port: int = 0) -> None:
        if not host.startswith("127."):
            raise ValueError("FakeProxy binds to loopback addresses only")
        self.seen: list[Proxied] = []
        self._lock = threading.Lock()
        expected = None
        if credentials is not None:
            expected = "Basic " + base64.b64encode(":".join(credentials).encode()).decode()
        self._server = _Server((host, port), self._make_handler(expected))
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> FakeProxy:
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> FakeProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _record(self, seen: Proxied) -> None:
        with self._lock:
            self.seen.append(seen)

    def _make_handler(self, expected: str | None) -> type[socketserver.BaseRequestHandler]:
        proxy = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                client: socket.socket = self.request
                head, rest = _read_head(client)
                if head is None:
                    return
                lines = head.decode("latin-1").split("\r\n")
                method, target, version = (lines[0].split(" ") + ["", ""])[:3]
                headers = dict(line.split(":", 1) for line in lines[1:] if ":" in line)
                given = next((v.strip() for k, v in headers.items() if k.lower() == "proxy-authorization"), None)
                authorized = expected is None or given == expected
                proxy._record(Proxied(method, target, authorized))
                if not authorized:
                    client.sendall(b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic "
                                   b'realm="fake"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n')
                    return
                if method == "CONNECT":
                    host, _, port = target.rpartition(":")
                    upstream = _connect(host, int(port))
                    client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
                    _pipe(client, upstream, rest)
                    return
                url = urlsplit(target)
                upstream = _connect(url.hostname or "", url.port or 80)
                path = (url.path or "/") + (f"?{url.query}" if url.query else "")
                kept = [line for line in lines[1:] if line and line.split(":", 1)[0].lower() not in
                        ("proxy-authorization", "proxy-connection", "connection")]
                forwarded = "\r\n".join([f"{method} {path} {version}", *kept, "Connection: close", "", ""])
                _pipe(client, upstream, forwarded.encode("latin-1") + rest, close_answers=True)

        return Handler


def _read_head(sock: socket.socket) -> tuple[bytes | None, bytes]:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk or len(data) > _MAX_HEAD:
            return None, b""
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    return head, rest


def _connect(host: str, port: int) -> socket.socket:
    if not (host.startswith("127.") or host in ("localhost", "[::1]", "::1")):
        raise ValueError("FakeProxy only reaches loopback upstreams")
    return socket.create_connection((host.strip("[]"), port), timeout=30)


def _pipe(client: socket.socket, upstream: socket.socket, first: bytes, close_answers: bool = False) -> None:
    """Copy both ways until either side is done; with ``close_answers`` the answer's head gets
    ``Connection: close`` (the forwarded connection ends with the answer)."""

    def copy(source: socket.socket, target: socket.socket, rewrite: bool) -> None:
        with contextlib.suppress(OSError):
            pending = b""
            while chunk := source.recv(65536):
                if rewrite:
                    pending += chunk
                    if b"\r\n\r\n" not in pending:
                        continue
                    head, _, body = pending.partition(b"\r\n\r\n")
                    chunk, rewrite = head + b"\r\nConnection: close\r\n\r\n" + body, False
                target.sendall(chunk)
        with contextlib.suppress(OSError):
            target.shutdown(socket.SHUT_WR)

    with contextlib.suppress(OSError):
        if first:
            upstream.sendall(first)
    back = threading.Thread(target=copy, args=(upstream, client, close_answers), daemon=True)
    back.start()
    copy(client, upstream, False)
    back.join(30)
    upstream.close()
