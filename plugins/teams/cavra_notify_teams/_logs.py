"""Keep connector secrets out of SDK log records.

SDKs and transports (httpx at INFO, urllib3 at DEBUG) log request URLs, and a Teams webhook URL is
itself the secret. Deliveries register their secrets for the duration of a call; the filter replaces any
registered value in a record's message and formatted traceback.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

REDACTED = "[redacted]"


class SecretLogFilter(logging.Filter):
    def __init__(self) -> None:
        super().__init__()
        self._secrets: Counter[str] = Counter()
        self._lock = threading.Lock()

    @contextmanager
    def active(self, secrets: Iterable[str]) -> Iterator[None]:
        values = [s for s in secrets if s]
        with self._lock:
            self._secrets.update(values)
        try:
            yield
        finally:
            with self._lock:
                self._secrets.subtract(values)
                self._secrets += Counter()

    def scrub(self, text: str) -> str:
        with self._lock:
            secrets = sorted(self._secrets, key=len, reverse=True)
        for secret in secrets:
            text = text.replace(secret, REDACTED)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        scrubbed = self.scrub(message)
        if scrubbed != message:
            record.msg, record.args = scrubbed, ()
        if record.exc_info:
            text = logging.Formatter().formatException(record.exc_info)
            record.exc_text = self.scrub(text)
        return True


def install(filter_: SecretLogFilter, logger_names: Iterable[str]) -> None:
    for name in logger_names:
        logger = logging.getLogger(name)
        if filter_ not in logger.filters:
            logger.addFilter(filter_)
