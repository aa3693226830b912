"""The webhook plugin's keep-alive transport against a raw asyncio HTTP server on 127.0.0.1 that
counts connections and can misbehave: chunked answers, ``Connection: close``, idle connections
dropped by the server, answers that never come, oversized and malformed answers."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
import trustme
from cavra_notify_webhook._transport import MAX_BODY, Transport

from cavra_notify.failures import classify_exception
from cavra_notify.provider import FailureClass
from cavra_notify.testkit import closed_port

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
Answer = Callable[[int, asyncio.StreamWriter], Awaitable[bool]]  # (request number) -> keep the connection?


class Server:
    """Reads whole requests; ``answer`` writes the reply and says whether to keep the connection."""

    def __init__(self, answer: Answer) -> None:
        self.answer, self.connections, self.requests = answer, 0, 0
        self.bodies: list[bytes] = []

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                              if line.lower().startswith(b"content-length:"))
                self.bodies.append(await reader.readexactly(length))
                self.requests += 1
                if not await self.answer(self.requests, writer):
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


async def ok(number: int, writer: asyncio.StreamWriter) -> bool:
    writer.write(OK)
    await writer.drain()
    return True


async def run(answer: Answer, work: Callable[[httpx.AsyncClient, str], Awaitable[Any]]) -> tuple[Any, Server]:
    server = Server(answer)
    listener = await asyncio.start_server(server.handle, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    async with listener, httpx.AsyncClient(transport=Transport(max_idle=4)) as client:
        result = await work(client, f"http://127.0.0.1:{port}/hook")
    return result, server


def post(client: httpx.AsyncClient, url: str, body: bytes = b"{}") -> Awaitable[httpx.Response]:
    return client.post(url, content=body, headers={"Content-Type": "application/json"})


def test_connections_are_kept_alive_and_bounded_by_the_concurrency() -> None:
    async def work(client: httpx.AsyncClient, url: str) -> list[int]:
        bound = asyncio.Semaphore(4)

        async def one(index: int) -> int:
            async with bound:
                response = await post(client, url, b'{"n": %d}' % index)
                return response.status_code

        return await asyncio.gather(*(one(i) for i in range(60)))

    statuses, server = asyncio.run(run(ok, work))
    assert statuses == [200] * 60 and server.requests == 60
    assert server.connections <= 4
    assert sorted(server.bodies) == sorted(b'{"n": %d}' % i for i in range(60))


def test_chunked_answers_and_connection_close_are_understood() -> None:
    async def answer(number: int, writer: asyncio.StreamWriter) -> bool:
        if number == 1:
            writer.write(b"HTTP/1.1 202 Accepted\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n")
            return True
        writer.write(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 3\r\n\r\nbye")
        return False

    async def work(client: httpx.AsyncClient, url: str) -> list[tuple[int, bytes]]:
        return [(r.status_code, r.content) for r in [await post(client, url) for _ in range(3)]]

    answers, server = asyncio.run(run(answer, work))
    assert answers == [(202, b"abcde"), (200, b"bye"), (200, b"bye")]
    assert server.connections == 2, "kept after the chunked answer, not after Connection: close"


def test_an_idle_connection_the_server_dropped_is_replaced_without_an_error() -> None:
    async def answer(number: int, writer: asyncio.StreamWriter) -> bool:
        writer.write(OK)  # keep-alive promised, then closed at once: like a server's idle timeout
        await writer.drain()
        return False

    async def work(client: httpx.AsyncClient, url: str) -> list[int]:
        statuses = []
        for _ in range(3):
            statuses.append((await post(client, url)).status_code)
            await asyncio.sleep(0.05)
        return statuses

    statuses, server = asyncio.run(run(answer, work))
    assert statuses == [200, 200, 200] and server.requests == 3 and server.connections == 3


def test_a_fresh_connection_closed_without_an_answer_is_a_connection_failure() -> None:
    async def answer(number: int, writer: asyncio.StreamWriter) -> bool:
        return False

    async def work(client: httpx.AsyncClient, url: str) -> BaseException:
        with pytest.raises(httpx.RemoteProtocolError) as caught:
            await post(client, url)
        return caught.value

    error, server = asyncio.run(run(answer, work))
    assert server.requests == 1, "sent once: a fresh connection is not retried"
    assert classify_exception(error).failure_class is FailureClass.CONNECTION


def test_informational_answers_are_skipped_and_a_body_may_end_with_the_connection() -> None:
    async def answer(number: int, writer: asyncio.StreamWriter) -> bool:
        writer.write(b"HTTP/1.1 103 Early Hints\r\nLink: </x>\r\n\r\nHTTP/1.0 201 Created\r\n\r\nmade it")
        await writer.drain()
        return False

    async def work(client: httpx.AsyncClient, url: str) -> list[tuple[int, bytes]]:
        return [(r.status_code, r.content) for r in [await post(client, url) for _ in range(2)]]

    answers, server = asyncio.run(run(answer, work))
    assert answers == [(201, b"made it")] * 2 and server.connections == 2


@pytest.mark.parametrize(("reply", "match"), [
    (b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % (MAX_BODY + 1) + b"x" * (MAX_BODY + 1), "over"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + (b"8000\r\n" + b"x" * 0x8000 + b"\r\n") * 3, "over"),
    (b"HTTP/1.1 200 OK\r\nX-Big: " + b"y" * 70_000 + b"\r\n\r\n", "head over"),
    (b"SMTP ready\r\n\r\n", "status line"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", "length"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "length"),
    (b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n", "header"),
])
def test_oversized_or_malformed_answers_are_clear_errors(reply: bytes, match: str) -> None:
    async def answer(number: int, writer: asyncio.StreamWriter) -> bool:
        writer.write(reply)
        await writer.drain()
        return True

    async def work(client: httpx.AsyncClient, url: str) -> str:
        with pytest.raises(httpx.RemoteProtocolError, match=match) as caught:
            await post(client, url)
        return str(caught.value)

    asyncio.run(run(answer, work))


def test_a_cancelled_exchange_never_returns_its_connection_to_the_pool() -> None:
    async def answer(number: int, writer: asyncio.StreamWriter) -> bool:
        if number == 1:
            await asyncio.sleep(0.5)  # the client gives up first
        writer.write(OK)
        await writer.drain()
        return True

    async def work(client: httpx.AsyncClient, url: str) -> tuple[int, bytes]:
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.1):
                await post(client, url)
        response = await post(client, url)
        return response.status_code, response.content

    (status, content), server = asyncio.run(run(answer, work))
    assert (status, content) == (200, b"ok"), "the late answer to the first request was not read as this one's"
    assert server.connections == 2


def test_connection_refused_is_a_connect_error() -> None:
    async def work() -> BaseException:
        async with httpx.AsyncClient(transport=Transport()) as client:
            with pytest.raises(httpx.ConnectError) as caught:
                await post(client, f"http://127.0.0.1:{closed_port()}/hook")
        return caught.value

    error = asyncio.run(work())
    assert classify_exception(error).failure_class is FailureClass.CONNECTION


def test_https_with_a_trusted_certificate_and_a_clear_error_for_an_untrusted_one() -> None:
    ca = trustme.CA()
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_tls)
    client_tls = ssl.create_default_context()
    ca.configure_trust(client_tls)
    server = Server(ok)

    async def work() -> tuple[list[int], BaseException]:
        listener = await asyncio.start_server(server.handle, "127.0.0.1", 0, ssl=server_tls)
        url = f"https://127.0.0.1:{listener.sockets[0].getsockname()[1]}/hook"
        async with listener:
            async with httpx.AsyncClient(transport=Transport(tls=client_tls)) as client:
                statuses = [(await post(client, url)).status_code for _ in range(3)]
            async with httpx.AsyncClient(transport=Transport()) as client:  # the system's trust store
                with pytest.raises(httpx.ConnectError, match="TLS handshake failed") as caught:
                    await post(client, url)
        return statuses, caught.value

    statuses, error = asyncio.run(work())
    assert statuses == [200, 200, 200] and server.connections == 1, "one kept-alive TLS connection"
    assert classify_exception(error).failure_class is FailureClass.CONNECTION
