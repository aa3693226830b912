"""One classification mechanism shared by every provider: HTTP status and exceptions to classes."""

from __future__ import annotations

import email.utils
import json
import math
import re
import time
from collections.abc import Container, Mapping

from .provider import MAX_RETRY_AFTER, DeliveryFailure, FailureClass


def classify_status(status: int) -> FailureClass | None:
    """``None`` for success (2xx/3xx), else the failure class of an HTTP status code."""
    if status < 400:
        return None
    if status == 429:
        return FailureClass.RATE_LIMITED
    if status in (401, 403, 407):  # 407: the proxy refused its credentials
        return FailureClass.AUTH
    if status in (408, 504):
        return FailureClass.TIMEOUT
    if status >= 500:
        return FailureClass.SERVER_ERROR
    return FailureClass.CLIENT_ERROR


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds or an HTTP date.

    Unparseable or non-finite values (``inf``, ``nan``, ``1e999``) are ignored (``None``); a past
    date is 0; anything above :data:`MAX_RETRY_AFTER` is capped to it.
    """
    if not isinstance(value, str):
        return None
    value = value.strip()
    seconds: float | None
    try:
        seconds = float(value)
    except ValueError:
        seconds = _seconds_until(value, now)
    if seconds is None or not math.isfinite(seconds):
        return None
    return min(max(0.0, seconds), MAX_RETRY_AFTER)


def _seconds_until(value: str, now: float | None) -> float | None:
    try:
        when = email.utils.parsedate_to_datetime(value)
        if when is None or when.tzinfo is None:
            return None
        return when.timestamp() - (time.time() if now is None else now)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def header(headers: Mapping[str, str] | None, name: str) -> str | None:
    """Case-insensitive header lookup over any mapping."""
    if not headers:
        return None
    for key, value in headers.items():
        if key.lower() == name.lower():
            return value
    return None


def check_response(
    status: int, headers: Mapping[str, str] | None = None, what: str = "request"
) -> None:
    """Raise a classified :class:`DeliveryFailure` for a failing HTTP status (4xx/5xx); return otherwise."""
    failure_class = classify_status(status)
    if failure_class is None:
        return
    retry_after = parse_retry_after(header(headers, "Retry-After"))
    raise DeliveryFailure(
        failure_class, f"{what} failed with HTTP {status}", status_code=status, retry_after=retry_after
    )


def expect_success(
    status: int,
    headers: Mapping[str, str] | None = None,
    what: str = "request",
    *,
    body: object = None,
    ok: Container[int] | None = None,
) -> None:
    """Return when ``status`` is a success (2xx, or one of ``ok``); raise a classified failure otherwise.

    4xx/5xx are classified as :func:`check_response` does; anything else that is not a success (1xx,
    a redirect, which is never followed) is ``client_error``. When ``body`` holds a short error code
    (see :func:`error_code`), the message names it; nothing else from the body is kept.
    """
    if (200 <= status < 300) if ok is None else status in ok:
        return
    code = error_code(body)
    what = f"{what} ({code})" if code else what
    check_response(status, headers, what)
    raise DeliveryFailure(FailureClass.CLIENT_ERROR, f"{what} answered HTTP {status}; only 2xx counts "
                          "(redirects are not followed)", status_code=status)


_ERROR_CODE = re.compile(r"^[A-Za-z0-9_.]{1,64}$")


def error_code(body: object) -> str | None:
    """A service's short error code from an answer body, or ``None``.

    Recognises a bare code (``channel_not_found``), JSON ``{"error": "code"}`` and JSON
    ``{"error": {"code": "Code"}}``. Only a plain token of at most 64 characters is returned, so
    nothing the service echoed back (which could hold a secret) reaches the message.
    """
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    if isinstance(body, str):
        text = body.strip()
        if _ERROR_CODE.match(text):
            return text
        try:
            body = json.loads(text)
        except ValueError:
            return None
    error = body.get("error") if isinstance(body, Mapping) else None
    if isinstance(error, Mapping):
        error = error.get("code")
    return error if isinstance(error, str) and _ERROR_CODE.match(error) else None


_TIMEOUT_NAMES = {"TimeoutException", "Timeout", "ReadTimeout", "ConnectTimeout", "TimeoutError",
                  "ReadTimeoutError", "ConnectTimeoutError", "WriteTimeout", "PoolTimeout"}
_CONNECTION_NAMES = {"ConnectError", "ConnectionError", "NewConnectionError", "ConnectionRefusedError",
                     "RemoteProtocolError", "NetworkError", "MaxRetryError", "ProtocolError",
                     "URLError", "ConnectionResetError", "ClientConnectionError", "ClientPayloadError",
                     "SSLError", "CertificateError", "ProxyError", "ClientProxyConnectionError"}


def classify_exception(exc: BaseException) -> DeliveryFailure:
    """Classify any exception raised by an SDK or transport, without importing the SDK.

    Timeouts and connection failures are recognised by class name across httpx, requests, urllib3
    and the standard library; a :class:`DeliveryFailure` passes through; everything else is a
    ``plugin_error``. The message names only the exception type: SDK messages may echo secrets.
    """
    if isinstance(exc, DeliveryFailure):
        return exc
    names = {cls.__name__ for cls in type(exc).__mro__}
    status = _status_of(exc)
    if status is not None and classify_status(status) is not None:
        headers = getattr(getattr(exc, "response", None), "headers", None)
        retry_after = parse_retry_after(header(headers, "Retry-After"))
        return DeliveryFailure(
            classify_status(status) or FailureClass.CLIENT_ERROR,
            f"{type(exc).__name__}: HTTP {status}",
            status_code=status,
            retry_after=retry_after,
        )
    if names & _TIMEOUT_NAMES:
        return DeliveryFailure(FailureClass.TIMEOUT, f"{type(exc).__name__}: timed out")
    if names & _CONNECTION_NAMES:
        return DeliveryFailure(FailureClass.CONNECTION, f"{type(exc).__name__}: connection failed")
    return DeliveryFailure(FailureClass.PLUGIN_ERROR, f"unexpected {type(exc).__name__}")


def _status_of(exc: BaseException) -> int | None:
    for attr in ("status_code", "status"):
        value = getattr(exc, attr, None)
        if isinstance(value, int):
            return value
    response = getattr(exc, "response", None)
    value = getattr(response, "status_code", None)
    return value if isinstance(value, int) else None
