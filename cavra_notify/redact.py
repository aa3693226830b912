"""One redaction mechanism for evidence, errors, logs, CLI output and API responses."""

from __future__ import annotations

import base64
import logging
import re
import threading
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import quote, quote_plus, urlsplit

MASK = "[REDACTED]"
MIN_SECRET_LENGTH = 4
_URL = re.compile(r"\b([a-zA-Z][a-zA-Z0-9+.-]*)://([^\s\"'<>]+)")
_AUTH = re.compile(r"\b(Bearer|Basic|token)\s+[A-Za-z0-9._~+/=-]{6,}", re.I)
_SHORTEST_AUTH = len("token") + 1 + 6
_SEEN_MAX, _SEEN_LONGEST = 4096, 256
_PLAIN = frozenset({int, float, bool})  # nothing to redact in these (their subclasses go the long way)


def redact_url(url: str) -> str:
    """Keep scheme and host (and port); drop user-info, path, query and fragment."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return MASK
    if not parts.scheme or not host:
        return MASK if url else ""
    return f"{parts.scheme}://{host}{port}"


class Redactor:
    """Scrubs every registered secret value (and its URL/base64 encodings) and reduces URLs."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        self._seen: dict[str, str] = {}
        self.add(secrets)

    def add(self, secrets: Iterable[str]) -> None:
        for secret in secrets:
            if secret and len(secret) >= MIN_SECRET_LENGTH:
                self._secrets.update({secret, quote(secret, safe=""), quote_plus(secret)})
                self._secrets.update(_base64_forms(secret.encode()))
        if self._secrets:
            ordered = sorted(self._secrets, key=len, reverse=True)
            self._pattern = re.compile("|".join(re.escape(s) for s in ordered))
        self._seen.clear()

    def text(self, value: str) -> str:
        if len(value) > _SEEN_LONGEST:
            return self._text(value)
        done = self._seen.get(value)
        if done is None:  # evidence repeats the same ids and names in every record: remember them
            if len(self._seen) >= _SEEN_MAX:
                self._seen.clear()
            done = self._seen[value] = self._text(value)
        return done

    def _text(self, value: str) -> str:
        if self._pattern is not None:
            value = self._pattern.sub(MASK, value)
        if len(value) >= _SHORTEST_AUTH:
            value = _AUTH.sub(lambda m: f"{m.group(1)} {MASK}", value)
        if "://" in value:
            value = _URL.sub(lambda m: _reduce(m.group(0)), value)
        return value

    def value(self, data: Any) -> Any:
        """Redact strings anywhere inside dicts, lists and tuples (keys included)."""
        if isinstance(data, str):
            return self._seen.get(data) or self.text(data)
        if isinstance(data, dict):
            seen, value = self._seen, self.value
            return {seen.get(k) or self.text(str(k)): v if v is None or type(v) in _PLAIN else value(v)
                    for k, v in data.items()}
        if isinstance(data, list | tuple):
            return [v if v is None or type(v) in _PLAIN else self.value(v) for v in data]
        return data

    def __call__(self, value: str) -> str:
        return self.text(value)


def _base64_forms(raw: bytes) -> set[str]:
    """The secret as standard and URL-safe base64, alone and at any byte offset inside a longer value.

    Inside a longer value (``Basic base64("user:" + token)``) only the 4-character groups made of
    secret bytes alone are stable, so those are what is matched; 8 characters at least.
    """
    forms: set[str] = set()
    for encode in (base64.b64encode, base64.urlsafe_b64encode):
        whole = encode(raw).decode()
        forms.update({whole, whole.rstrip("=")})
        for shift in range(3):
            data = b"\0" * shift + raw
            core = encode(data).decode()[4 if shift else 0: len(data) // 3 * 4]
            if len(core) >= 8:
                forms.add(core)
    return forms


def _reduce(url: str) -> str:
    reduced = redact_url(url)
    return reduced if reduced == url else (reduced + "/" + MASK if reduced != MASK else MASK)


class RedactingFilter(logging.Filter):
    """A logging filter that redacts the formatted message of every record passing through."""

    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self.redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self.redactor.text(record.getMessage())
        record.args = None
        if record.exc_info and not record.exc_text:  # formatters reuse exc_text: SDK exceptions echo secrets
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redactor.text(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redactor.text(record.stack_info)
        return True


class SecretLogFilter(logging.Filter):
    """For plugins: scrub the secrets of the deliveries in progress from their SDKs' log records.

    SDKs log request URLs (a webhook URL is itself a secret) and response details. A plugin installs
    one filter on its SDK loggers with :func:`install_log_filter` and wraps each call in
    ``with log_filter.active(secrets):``.
    """

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
            secrets = list(self._secrets)
        return Redactor(secrets).text(text) if secrets else text

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        scrubbed = self.scrub(message)
        if scrubbed != message:
            record.msg, record.args = scrubbed, ()
        if record.exc_info:
            record.exc_text = self.scrub(logging.Formatter().formatException(record.exc_info))
        return True


def install_log_filter(filter_: SecretLogFilter, logger_names: Iterable[str]) -> None:
    for name in logger_names:
        logger = logging.getLogger(name)
        if filter_ not in logger.filters:
            logger.addFilter(filter_)
