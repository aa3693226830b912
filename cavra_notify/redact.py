"""One redaction mechanism for evidence, errors, logs, CLI output and API responses."""

from __future__ import annotations

import base64
import logging
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote, urlsplit

MASK = "[REDACTED]"
MIN_SECRET_LENGTH = 4
_URL = re.compile(r"\b([a-zA-Z][a-zA-Z0-9+.-]*)://([^\s\"'<>]+)")
_AUTH = re.compile(r"\b(Bearer|Basic|token)\s+[A-Za-z0-9._~+/=-]{6,}", re.I)


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
        self.add(secrets)

    def add(self, secrets: Iterable[str]) -> None:
        for secret in secrets:
            if secret and len(secret) >= MIN_SECRET_LENGTH:
                self._secrets.update({secret, quote(secret, safe=""), base64.b64encode(secret.encode()).decode()})
        if self._secrets:
            ordered = sorted(self._secrets, key=len, reverse=True)
            self._pattern = re.compile("|".join(re.escape(s) for s in ordered))

    def text(self, value: str) -> str:
        if self._pattern is not None:
            value = self._pattern.sub(MASK, value)
        value = _AUTH.sub(lambda m: f"{m.group(1)} {MASK}", value)
        return _URL.sub(lambda m: _reduce(m.group(0)), value)

    def value(self, data: Any) -> Any:
        """Redact strings anywhere inside dicts, lists and tuples."""
        if isinstance(data, str):
            return self.text(data)
        if isinstance(data, dict):
            return {self.text(str(k)): self.value(v) for k, v in data.items()}
        if isinstance(data, list | tuple):
            return [self.value(v) for v in data]
        return data

    def __call__(self, value: str) -> str:
        return self.text(value)


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
        return True
