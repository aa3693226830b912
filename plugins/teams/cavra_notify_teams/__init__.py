"""Microsoft Teams provider: a Workflows webhook with an Adaptive Card (httpx), or a legacy
Office 365 connector MessageCard (pymsteams)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any, Literal
from urllib.parse import parse_qsl, urlsplit

import httpx
import pymsteams
from pydantic import ConfigDict

from cavra_notify import (
    DeliveryRequest,
    NetworkSettings,
    Provider,
    Receipt,
    SecretHttpUrl,
    check_response,
    classify_exception,
    expect_success,
    hookimpl,
    network_secrets,
    proxy_for,
    ssl_context,
)
from cavra_notify.redact import SecretLogFilter
from cavra_notify.redact import install_log_filter as install

from .cards import adaptive_card, fit, message_card

__all__ = ["PROVIDER", "TeamsSettings", "deliver"]

TRANSPORT_LOGGERS = ("httpx", "httpcore.connection", "httpcore.http11", "urllib3.connectionpool")
_log_filter = SecretLogFilter()
install(_log_filter, TRANSPORT_LOGGERS)
_LEGACY_HTTP_ERROR = re.compile(r"HTTP error (\d{3})")


class TeamsSettings(NetworkSettings):
    """``webhook_url`` is a Workflows webhook (default) or, with ``format: message_card``, a legacy
    Office 365 connector URL. The whole URL is secret (its ``sig`` query or path is the credential).
    Both formats are sent with httpx, with the core's network settings."""

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    webhook_url: SecretHttpUrl
    format: Literal["adaptive_card", "message_card"] = "adaptive_card"


def target(settings: TeamsSettings) -> str:
    parts = urlsplit(settings.webhook_url.get_secret_value())
    return f"{parts.scheme}://{parts.hostname}"


def _secrets(url: str) -> list[str]:
    parts = urlsplit(url)
    values = [url, parts.path, f"{parts.path}?{parts.query}"]
    values += [value for _, value in parse_qsl(parts.query) if len(value) >= 8]
    return [value for value in values if len(value) > 1]


def deliver(request: DeliveryRequest) -> Receipt:
    settings: TeamsSettings = request.settings
    url = settings.webhook_url.get_secret_value()
    with _log_filter.active([*_secrets(url), *network_secrets(settings)]):
        try:
            if settings.format == "message_card":
                return _send_message_card(request, settings, url)
            return _send_adaptive_card(request, settings, url)
        except Exception as exc:
            raise classify_exception(exc) from None


def _post(settings: TeamsSettings, url: str, payload: object, timeout: float) -> httpx.Response:
    """One JSON POST; the environment is not read (``trust_env`` off): the network settings decide."""
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    with httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False, verify=ssl_context(settings),
                      proxy=proxy_for(settings, url)) as client:
        return client.post(url, content=body, headers={"Content-Type": "application/json"})


def _send_adaptive_card(request: DeliveryRequest, settings: TeamsSettings, url: str) -> Receipt:
    response = _post(settings, url, fit(lambda limit: adaptive_card(request, limit)), request.timeout)
    expect_success(response.status_code, response.headers, "Teams Workflows webhook", body=response.content,
                   ok={200, 202})
    status = response.status_code
    return Receipt(status_code=status, outcome="accepted", details={"accepted": True, "status": status})


def _send_message_card(request: DeliveryRequest, settings: TeamsSettings, url: str) -> Receipt:
    """pymsteams builds the MessageCard; it is posted like the Adaptive Card (pymsteams' own ``send``
    would read proxies from the environment through requests)."""
    card = pymsteams.connectorcard(url, http_timeout=request.timeout)

    def render(limit: int | None) -> dict[str, object]:
        message_card(card, request, limit)
        return dict(card.payload)

    response = _post(settings, url, fit(render), request.timeout)
    expect_success(response.status_code, response.headers, "Teams connector webhook", ok={200})
    text = response.text.strip()
    if text != "1":  # the connector answers 200 with an error text when the delivery to Teams failed
        match = _LEGACY_HTTP_ERROR.search(text)
        check_response(int(match.group(1)) if match else 500, response.headers, "Teams connector webhook delivery")
    status = response.status_code
    return Receipt(status_code=status, outcome="accepted", details={"accepted": True, "status": status})


PROVIDER = Provider(
    name="teams",
    settings_model=TeamsSettings,
    deliver=deliver,
    target=target,
    description="Microsoft Teams Workflows webhook (Adaptive Card) or legacy connector (MessageCard)",
)


@hookimpl
def cavra_register_providers(register: Callable[[Provider], None]) -> None:
    register(PROVIDER)


@hookimpl
def cavra_conformance_cases() -> list[Any]:
    from .conformance import cases  # the test kit loads only for `cavra plugins check`

    return cases()
