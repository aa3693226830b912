"""One shared keep-alive aiohttp session per running event loop, closed when that loop shuts down.

Connections are reused across the concurrent deliveries of one run (at most ``CONCURRENCY`` per
origin, the provider's own bound). The session never reads the environment (``trust_env`` off: the
core's network settings decide proxy and trust store per request), keeps no cookies, does not
decompress and follows no redirect. A session is never shared between event loops: it is created
inside the loop that uses it and closed by the loop's ``shutdown_asyncgens`` step (which
``asyncio.run`` performs), or explicitly with :func:`aclose`. Nothing here logs a URL.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncGenerator

import aiohttp

CONCURRENCY = 32

_sessions: weakref.WeakKeyDictionary[
    asyncio.AbstractEventLoop, tuple[aiohttp.ClientSession, AsyncGenerator[None, None]]
] = weakref.WeakKeyDictionary()


async def _closer(session: aiohttp.ClientSession) -> AsyncGenerator[None, None]:
    try:
        yield
    finally:
        for loop, (cached, _) in list(_sessions.items()):
            if cached is session:
                _sessions.pop(loop, None)
        await session.close()


async def session() -> aiohttp.ClientSession:
    """The running loop's session, created on first use."""
    loop = asyncio.get_running_loop()
    entry = _sessions.get(loop)
    if entry is not None and not entry[0].closed:
        return entry[0]
    created = aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=0, limit_per_host=CONCURRENCY),
        timeout=aiohttp.ClientTimeout(total=None),  # the caller bounds each request with asyncio.timeout
        trust_env=False,
        cookie_jar=aiohttp.DummyCookieJar(),
        auto_decompress=False,
        skip_auto_headers=("Accept-Encoding",),
    )
    closer = _closer(created)
    _sessions[loop] = (created, closer)
    await closer.__anext__()  # registers with the loop, so shutdown_asyncgens closes the session
    return created


async def aclose() -> None:
    """Close the running loop's session now (a later delivery opens a new one)."""
    entry = _sessions.pop(asyncio.get_running_loop(), None)
    if entry is not None:
        await entry[1].aclose()
