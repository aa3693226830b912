"""One shared keep-alive transport per running event loop, closed when that loop shuts down.

The plugin sends through httpx's transport interface (``handle_async_request`` with an
``httpx.Request``, answered by an ``httpx.Response``) rather than through ``httpx.AsyncClient``.
It needs none of the client's extras (redirects are not followed; cookies, auth flows, proxies
and event hooks are not wanted), and at a thousand routes those extras cost more CPU per request
than the rest of a delivery together. httpx's request and response models, URLs and exceptions
stay, so failures are classified as before.

Connections are reused across the concurrent deliveries of one run through the plugin's own small
keep-alive transport (:mod:`._transport`), which keeps at most the provider's concurrency bound of
idle connections per origin. A transport is never shared between event loops: it is created inside
the loop that uses it and closed by the loop's ``shutdown_asyncgens`` step (which ``asyncio.run``
performs), or explicitly with :func:`aclose`. Nothing here logs a URL.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import weakref
from collections.abc import AsyncGenerator
from typing import NamedTuple

import httpx

from ._transport import Transport

CONCURRENCY = 32

_transports: weakref.WeakKeyDictionary[
    asyncio.AbstractEventLoop, tuple[Transport, AsyncGenerator[None, None]]
] = weakref.WeakKeyDictionary()


async def _closer(transport: Transport) -> AsyncGenerator[None, None]:
    try:
        yield
    finally:
        for loop, (cached, _) in list(_transports.items()):
            if cached is transport:
                _transports.pop(loop, None)
        await transport.aclose()


async def transport() -> Transport:
    """The running loop's transport, created on first use."""
    loop = asyncio.get_running_loop()
    entry = _transports.get(loop)
    if entry is not None and not entry[0].closed:
        return entry[0]
    created = Transport(max_idle=CONCURRENCY)
    closer = _closer(created)
    _transports[loop] = (created, closer)
    await closer.__anext__()  # registers with the loop, so shutdown_asyncgens closes the transport
    return created


async def aclose() -> None:
    """Close the running loop's transport now (a later delivery opens a new one)."""
    entry = _transports.pop(asyncio.get_running_loop(), None)
    if entry is not None:
        await entry[1].aclose()


class Target(NamedTuple):
    url: httpx.URL
    host: str  # the Host header: host, and the port unless it is the scheme's default
    authorization: str | None  # Basic credentials from the URL's user-info, as httpx's client would send


@functools.lru_cache(maxsize=256)
def target(url: str) -> Target:
    """``url`` parsed once (a connector sends every route to the same URL)."""
    parsed = httpx.URL(url)
    basic = None
    if parsed.userinfo:
        credentials = f"{parsed.username}:{parsed.password}".encode()
        basic = "Basic " + base64.b64encode(credentials).decode("ascii")
    return Target(parsed.copy_with(username=None, password=None), parsed.netloc.decode("ascii"), basic)
