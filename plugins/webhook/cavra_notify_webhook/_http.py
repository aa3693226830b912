"""One shared ``httpx.AsyncClient`` per running event loop, closed when that loop shuts down.

Connections are reused across the concurrent deliveries of one run, through the plugin's own small
keep-alive transport (:mod:`._transport`), which keeps at most the provider's concurrency bound of
idle connections per origin. A client is never shared
between event loops: it is created inside the loop that uses it and closed by the loop's
``shutdown_asyncgens`` step (which ``asyncio.run`` performs), or explicitly with :func:`aclose`.

httpx logs every request URL at INFO; webhook URLs are secrets, so a filter on the ``httpx``
logger reduces the URLs this plugin sent to to scheme and host, like the core's redaction.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import AsyncGenerator
from typing import Any

import httpx

from cavra_notify.redact import MASK, redact_url

from ._transport import Transport

CONCURRENCY = 32

_clients: weakref.WeakKeyDictionary[
    asyncio.AbstractEventLoop, tuple[httpx.AsyncClient, AsyncGenerator[None, None]]
] = weakref.WeakKeyDictionary()


async def _closer(http: httpx.AsyncClient) -> AsyncGenerator[None, None]:
    try:
        yield
    finally:
        for loop, (cached, _) in list(_clients.items()):
            if cached is http:
                _clients.pop(loop, None)
        await http.aclose()


async def client() -> httpx.AsyncClient:
    """The running loop's client, created on first use."""
    loop = asyncio.get_running_loop()
    entry = _clients.get(loop)
    if entry is not None and not entry[0].is_closed:
        return entry[0]
    http = httpx.AsyncClient(transport=Transport(max_idle=CONCURRENCY), follow_redirects=False, trust_env=False)
    closer = _closer(http)
    _clients[loop] = (http, closer)
    await closer.__anext__()  # registers with the loop, so shutdown_asyncgens closes the client
    return http


async def aclose() -> None:
    """Close the running loop's client now (a later delivery opens a new one)."""
    entry = _clients.pop(asyncio.get_running_loop(), None)
    if entry is not None:
        await entry[1].aclose()


class _RedactSentUrls(logging.Filter):
    def __init__(self) -> None:
        super().__init__()
        self.urls: set[str] = set()
        self._parsed: dict[str, httpx.URL] = {}

    def parse(self, url: str) -> httpx.URL:
        """``url`` parsed (once per URL), remembered as sent-to so the log filter redacts it."""
        parsed = self._parsed.get(url)
        if parsed is None:
            parsed = self._parsed[url] = httpx.URL(url)
            self.urls.add(str(parsed))
        return parsed

    def filter(self, record: logging.LogRecord) -> bool:
        if self.urls and isinstance(record.args, tuple):
            record.args = tuple(_redact(arg) if str(arg) in self.urls else arg for arg in record.args)
        return True


def _redact(url: Any) -> str:
    return f"{redact_url(str(url))}/{MASK}"


sent_urls = _RedactSentUrls()
logging.getLogger("httpx").addFilter(sent_urls)
