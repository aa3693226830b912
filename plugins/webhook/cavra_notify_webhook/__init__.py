"""Generic webhook provider for cavra-notify.

POSTs the notification event as compact JSON with sorted keys, an ``Idempotency-Key`` header (the
delivery key) and, when a signing secret is configured, a timestamp header and an HMAC-SHA256
signature header ``v1=<hex>`` over ``b"<timestamp>." + body`` (see :func:`verify_signature`).
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
import ssl
import time
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import aiohttp
from pydantic import ConfigDict, Field, SecretStr, field_validator, model_validator
from yarl import URL

from cavra_notify import (
    DeliveryFailure,
    DeliveryRequest,
    FailureClass,
    NetworkSettings,
    Provider,
    Receipt,
    SecretHttpUrl,
    classify_exception,
    expect_success,
    hookimpl,
    proxy_for,
    ssl_context,
)

from . import _session
from .signing import sign, verify_signature

__all__ = ["PROVIDER", "WebhookSettings", "aclose", "deliver", "sign", "verify_signature"]

USER_AGENT = "cavra-notify-webhook"
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_MANAGED = {"content-type", "content-length", "host", "idempotency-key", "transfer-encoding"}
_CREDENTIALS = {"authorization", "proxy-authorization", "cookie"}

MAX_ANSWER = 64 * 1024  # a webhook's answer is a status, not a download: the rest is not read
aclose = _session.aclose


def _check_header_name(name: str, what: str) -> str:
    if not _TOKEN.fullmatch(name):
        raise ValueError(f"{what} {name!r} is not a valid HTTP header name")
    return name


class WebhookSettings(NetworkSettings):
    """Connector settings (plus the core's network settings). ``url`` and ``signing_secret`` are secrets."""

    model_config = ConfigDict(extra="forbid")

    url: SecretHttpUrl = Field(description="the webhook URL (secret: such URLs often embed a token)")
    signing_secret: SecretStr | None = Field(default=None, description="HMAC-SHA256 signing key")
    signature_header: str = "X-Cavra-Signature"
    timestamp_header: str = "X-Cavra-Timestamp"
    headers: dict[str, str] = Field(default_factory=dict, description="extra non-secret headers")

    @field_validator("signing_secret")
    @classmethod
    def _not_empty(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value():
            raise ValueError("must not be empty (omit it to send unsigned requests)")
        return value

    @field_validator("signature_header", "timestamp_header")
    @classmethod
    def _header_name(cls, value: str) -> str:
        return _check_header_name(value, "header name")

    @field_validator("headers")
    @classmethod
    def _extra_headers(cls, value: dict[str, str]) -> dict[str, str]:
        for name, header_value in value.items():
            _check_header_name(name, "header")
            if name.lower() in _CREDENTIALS:
                raise ValueError(
                    f"header {name!r} would carry a credential in a non-secret field; "
                    "put the token in the (secret) url or use signing_secret"
                )
            if name.lower() in _MANAGED:
                raise ValueError(f"header {name!r} is set by the plugin")
            if "\r" in header_value or "\n" in header_value:
                raise ValueError(f"header {name!r} has a line break in its value")
        return value

    @model_validator(mode="after")
    def _distinct_signature_headers(self) -> WebhookSettings:
        signature, timestamp = self.signature_header.lower(), self.timestamp_header.lower()
        if signature == timestamp:
            raise ValueError("signature_header and timestamp_header must differ")
        clashes = {signature, timestamp} & {name.lower() for name in self.headers}
        if clashes or {signature, timestamp} & _MANAGED:
            raise ValueError("headers must not repeat the signature, timestamp or managed headers")
        return self


def encode_event(event: Mapping[str, Any]) -> bytes:
    """The request body: the event as compact JSON with sorted keys."""
    try:
        return json.dumps(event, separators=(",", ":"), sort_keys=True).encode()
    except (TypeError, ValueError) as exc:
        raise DeliveryFailure(
            FailureClass.PLUGIN_ERROR, f"event is not JSON-serialisable ({type(exc).__name__})"
        ) from None


def build_headers(settings: WebhookSettings, delivery_key: str, body: bytes, now: float) -> dict[str, str]:
    headers = {
        "User-Agent": USER_AGENT,
        **settings.headers,
        "Content-Type": "application/json",
        "Idempotency-Key": delivery_key,
    }
    if settings.signing_secret is not None:
        timestamp = int(now)
        headers[settings.timestamp_header] = str(timestamp)
        headers[settings.signature_header] = sign(settings.signing_secret.get_secret_value(), timestamp, body)
    return headers


class _Target(NamedTuple):
    url: URL
    authorization: str | None  # Basic credentials from the URL's user-info
    proxy: str | None
    tls: ssl.SSLContext


_targets: dict[int, tuple[WebhookSettings, _Target]] = {}


def _target(settings: WebhookSettings) -> _Target:
    """The connector's URL, credentials, proxy and TLS context, worked out once per settings object."""
    cached = _targets.get(id(settings))
    if cached is not None and cached[0] is settings:
        return cached[1]
    url = URL(settings.url.get_secret_value())
    authorization = None
    if url.user:
        credentials = f"{url.user}:{url.password or ''}".encode()
        url, authorization = url.with_user(None), "Basic " + base64.b64encode(credentials).decode("ascii")
    target = _Target(url, authorization, proxy_for(settings, str(url)), ssl_context(settings))
    if len(_targets) > 256:
        _targets.clear()
    _targets[id(settings)] = (settings, target)
    return target


async def deliver(request: DeliveryRequest) -> Receipt:
    """One POST of the event; a 2xx answer is a receipt, anything else a classified failure."""
    settings: WebhookSettings = request.settings
    target = _target(settings)
    body = encode_event(request.event_json())
    headers = build_headers(settings, request.delivery_key, body, time.time())
    if target.authorization:
        headers["Authorization"] = target.authorization
    session = await _session.session()
    try:
        async with asyncio.timeout(request.timeout):
            async with session.post(target.url, data=body, headers=headers, allow_redirects=False,
                                    proxy=target.proxy, ssl=target.tls) as response:
                await response.content.read(MAX_ANSWER)
                status, answer_headers = response.status, response.headers
    except (aiohttp.ClientError, TimeoutError, OSError) as exc:
        raise classify_exception(exc) from None
    expect_success(status, answer_headers, "webhook POST")
    return Receipt(
        status_code=status,
        outcome="accepted" if status == 202 else "delivered",
        details={"status": status},
    )


def target(settings: WebhookSettings) -> str:
    return settings.url.get_secret_value()


PROVIDER = Provider(
    name="webhook",
    settings_model=WebhookSettings,
    deliver=deliver,
    target=target,
    description="POST the JSON event to a URL, optionally HMAC-SHA256 signed, with an Idempotency-Key",
    concurrency=_session.CONCURRENCY,
)


@hookimpl
def cavra_register_providers(register: Callable[[Provider], None]) -> None:
    register(PROVIDER)


@hookimpl
def cavra_conformance_cases() -> list[Any]:
    from .conformance import cases  # the test kit loads only for `cavra plugins check`

    return cases()
