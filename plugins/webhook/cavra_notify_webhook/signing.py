"""HMAC-SHA256 request signatures: ``v1=<hex>`` over ``b"<timestamp>." + body``."""

from __future__ import annotations

import hashlib
import hmac
import re
import time

SCHEME = "v1"
_TIMESTAMP = re.compile(r"\d{1,15}", re.ASCII)


def sign(secret: str | bytes, timestamp: int | str, body: bytes) -> str:
    """The signature header value for ``body`` sent at ``timestamp`` (unix seconds)."""
    key = secret.encode() if isinstance(secret, str) else secret
    mac = hmac.new(key, f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"{SCHEME}={mac.hexdigest()}"


def verify_signature(
    secret: str | bytes,
    timestamp: str | int | None,
    body: bytes,
    header_value: str | None,
    tolerance_seconds: float | None = 300,
    now: float | None = None,
) -> bool:
    """Whether ``header_value`` is a valid signature of ``body`` for the timestamp header.

    ``body`` must be the raw request bytes (not re-serialised JSON). The timestamp must be within
    ``tolerance_seconds`` of ``now`` (default: the current time) to stop replays; pass ``None`` to
    skip that check. ``header_value`` may list several comma-separated signatures (key rotation).
    Comparison is constant-time.
    """
    if not header_value or timestamp is None:
        return False
    raw = str(timestamp).strip()
    if not _TIMESTAMP.fullmatch(raw):
        return False
    current = time.time() if now is None else now
    if tolerance_seconds is not None and abs(current - int(raw)) > tolerance_seconds:
        return False
    expected = sign(secret, raw, body).encode()
    matches = [hmac.compare_digest(expected, part.strip().encode()) for part in header_value.split(",")]
    return any(matches)
