"""A small keep-alive HTTP/1.1 httpx transport on asyncio streams (the plugin calls it directly).

httpx's default transport (httpcore on anyio) costs a few milliseconds of CPU per request and
rescans its whole pool for every queued request, so a thousand concurrent webhook POSTs spend more
time in pool bookkeeping than on the wire. A webhook needs little of it: one request per connection
at a time; answers with ``Content-Length``, chunked or delimited by close (at most ``MAX_BODY``
bytes: a webhook's answer is a status, not a download); TLS with the system's trust store. This
transport keeps idle connections per origin (at most ``max_idle`` each) and raises httpx's own
exceptions, so callers see nothing but speed.

A connection is reused only after a complete exchange; one that was cancelled (a timeout), failed
or answered with ``Connection: close`` is closed. A reused idle connection that turns out to be
closed (or reset) by the server before it answered anything is retried on a fresh one.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections import defaultdict
from functools import cache

import httpx

MAX_BODY = 64 * 1024
_READ = 64 * 1024
Origin = tuple[str, str, int]


@cache
def _tls() -> ssl.SSLContext:
    return ssl.create_default_context()


class _Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.used = False
        self.keep = False

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.writer.close()

    async def exchange(self, request: httpx.Request, body: bytes) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        self.used, self.keep = True, False
        lines = [b"%s %s HTTP/1.1" % (request.method.encode(), request.url.raw_path)]
        lines += [name + b": " + value for name, value in request.headers.raw]
        self.writer.write(b"\r\n".join(lines) + b"\r\n\r\n" + body)
        await self.writer.drain()
        status, version, headers = await self._head(first=True)
        while 100 <= status < 200:  # informational answers (103 Early Hints, a stray 100 Continue)
            status, version, headers = await self._head(first=False)
        fields = {name.lower(): value for name, value in headers}
        tokens = {t.strip().lower() for t in fields.get(b"connection", b"").split(b",")}
        close = version == b"HTTP/1.0" or b"close" in tokens
        if request.method == "HEAD" or status in (204, 304):
            content = b""
        elif b"chunked" in fields.get(b"transfer-encoding", b"").lower():
            content = await self._chunked()
        elif b"content-length" in fields:
            content = await self._exactly(_length(fields[b"content-length"]))
        else:
            content, close = await self._until_close(), True
        self.keep = not close
        return status, headers, content

    async def _head(self, *, first: bool) -> tuple[int, bytes, list[tuple[bytes, bytes]]]:
        try:
            head = await self.reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError as exc:
            if first and not exc.partial:
                raise _Dropped from None
            raise _Malformed("the connection closed in the middle of the answer's head") from None
        except asyncio.LimitOverrunError:
            raise _Malformed(f"answer head over {_READ} bytes") from None
        status_line, *header_lines = head[:-4].split(b"\r\n")
        version, _, rest = status_line.partition(b" ")
        code = rest[:3]
        if not version.startswith(b"HTTP/1.") or len(code) != 3 or not code.isdigit():
            raise _Malformed("not an HTTP/1.x status line")
        headers = []
        for line in header_lines:
            name, colon, value = line.partition(b":")
            if not colon or not name or name != name.strip():
                raise _Malformed("a header line without a name")
            headers.append((name, value.strip()))
        return int(code), version, headers

    async def _exactly(self, size: int) -> bytes:
        if size > MAX_BODY:
            raise _TooLarge
        try:
            return await self.reader.readexactly(size)
        except asyncio.IncompleteReadError:
            raise _Malformed("the connection closed in the middle of the answer's body") from None

    async def _line(self) -> bytes:
        try:
            return await self.reader.readuntil(b"\r\n")
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            raise _Malformed("a broken chunked answer") from None

    async def _chunked(self) -> bytes:
        chunks: list[bytes] = []
        size = 0
        while True:
            length = _length((await self._line()).split(b";", 1)[0], base=16)
            if length == 0:
                while await self._line() != b"\r\n":  # trailers
                    pass
                return b"".join(chunks)
            size += length
            chunks.append(await self._exactly(length if size <= MAX_BODY else MAX_BODY + 1))
            if await self._exactly(2) != b"\r\n":
                raise _Malformed("a broken chunked answer")

    async def _until_close(self) -> bytes:
        content = await self.reader.read(MAX_BODY + 1)
        while len(content) <= MAX_BODY:
            more = await self.reader.read(MAX_BODY + 1 - len(content))
            if not more:
                return content
            content += more
        raise _TooLarge

    def reusable(self) -> bool:
        return self.keep and not self.reader.at_eof()


def _length(raw: bytes, base: int = 10) -> int:
    text = raw.strip()
    try:
        if not text or text.startswith((b"-", b"+")):
            raise ValueError
        return int(text, base)
    except ValueError:
        raise _Malformed("an invalid body length") from None


class _TooLarge(Exception):
    pass


class _Dropped(Exception):
    """The server closed the connection before answering anything."""


class _Malformed(Exception):
    pass


class Transport(httpx.AsyncBaseTransport):
    """Keep-alive HTTP/1.1 for ``http://`` and ``https://`` URLs; no proxies, no HTTP/2."""

    def __init__(self, max_idle: int = 32, tls: ssl.SSLContext | None = None) -> None:
        self.max_idle, self.tls = max_idle, tls
        self.closed = False
        self._idle: defaultdict[Origin, list[_Connection]] = defaultdict(list)

    async def _connect(self, origin: Origin, request: httpx.Request) -> _Connection:
        scheme, host, port = origin
        try:
            reader, writer = await asyncio.open_connection(
                host, port, ssl=(self.tls or _tls()) if scheme == "https" else None, limit=_READ
            )
        except ssl.SSLError as exc:
            raise httpx.ConnectError(f"TLS handshake failed ({exc.reason})", request=request) from None
        except OSError as exc:
            raise httpx.ConnectError(f"connection failed ({exc.strerror or type(exc).__name__})",
                                     request=request) from None
        return _Connection(reader, writer)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        if url.scheme not in ("http", "https"):
            raise httpx.UnsupportedProtocol(f"unsupported URL scheme {url.scheme!r}", request=request)
        origin = (url.scheme, url.host, url.port or (443 if url.scheme == "https" else 80))
        body = await request.aread()
        idle = self._idle[origin]
        while True:
            connection = idle.pop() if idle else await self._connect(origin, request)
            reused = connection.used
            try:
                status, headers, content = await connection.exchange(request, body)
            except _Dropped:
                connection.close()
                if reused:
                    continue  # the server had dropped this idle keep-alive connection: try a fresh one
                raise httpx.RemoteProtocolError("server closed the connection without answering",
                                                request=request) from None
            except httpx.RemoteProtocolError:
                connection.close()
                raise
            except _TooLarge:
                connection.close()
                raise httpx.RemoteProtocolError(f"answer body over {MAX_BODY} bytes", request=request) from None
            except _Malformed as exc:
                connection.close()
                raise httpx.RemoteProtocolError(f"malformed HTTP answer: {exc}", request=request) from None
            except OSError as exc:
                connection.close()
                if reused and isinstance(exc, ConnectionResetError | BrokenPipeError):
                    continue
                raise httpx.ReadError(f"connection lost ({exc.strerror or type(exc).__name__})",
                                      request=request) from None
            except BaseException:
                connection.close()  # cancelled (a timeout) or worse: never reuse a half-used connection
                raise
            if connection.reusable() and len(idle) < self.max_idle:
                idle.append(connection)
            else:
                connection.close()
            # stream=, not content=: the same response for a fifth of the CPU (the caller reads it)
            return httpx.Response(status, headers=headers, stream=httpx.ByteStream(content), request=request)

    async def aclose(self) -> None:
        self.closed = True
        for connections in self._idle.values():
            for connection in connections:
                connection.close()
        self._idle.clear()
