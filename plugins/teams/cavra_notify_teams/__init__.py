"""Microsoft Teams provider: a Workflows webhook with an Adaptive Card (httpx), or a legacy
Office 365 connector MessageCard (pymsteams)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Literal
from urllib.parse import parse_qsl, urlsplit

import httpx
import pymsteams
from pydantic import BaseModel, ConfigDict, SecretStr, field_validator

from cavra_notify import hookimpl
from cavra_notify.failures import check_response, classify_exception
from cavra_notify.provider import DeliveryFailure, DeliveryRequest, FailureClass, Provider, Receipt
from cavra_notify.redact import SecretLogFilter
from cavra_notify.redact import install_log_filter as install

from .cards import adaptive_card, fit, message_card

__all__ = ["PROVIDER", "TeamsSettings", "deliver"]

TRANSPORT_LOGGERS = ("httpx", "httpcore.connection", "httpcore.http11", "urllib3.connectionpool")
_log_filter = SecretLogFilter()
install(_log_filter, TRANSPORT_LOGGERS)
_ERROR_CODE = re.compile(r"^[A-Za-z0-9_.]{1,64}$")
_LEGACY_HTTP_ERROR = re.compile(r"HTTP error (\d{3})")


class TeamsSettings(BaseModel):
    """``webhook_url`` is a Workflows webhook (default) or, with ``format: message_card``, a legacy
    Office 365 connector URL. The whole URL is secret (its ``sig`` query or path is the credential)."""

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    webhook_url: SecretStr
    format: Literal["adaptive_card", "message_card"] = "adaptive_card"

    @field_validator("webhook_url")
    @classmethod
    def _http_url(cls, value: SecretStr) -> SecretStr:
        parts = urlsplit(value.get_secret_value())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("webhook_url must be an http(s) URL")
        return value


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
    with _log_filter.active(_secrets(url)):
        try:
            if settings.format == "message_card":
                return _send_message_card(request, url)
            return _send_adaptive_card(request, url)
        except DeliveryFailure:
            raise
        except Exception as exc:
            raise _translate(exc) from None


def _send_adaptive_card(request: DeliveryRequest, url: str) -> Receipt:
    payload = fit(lambda limit: adaptive_card(request, limit))
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    with httpx.Client(timeout=request.timeout, follow_redirects=False) as client:
        response = client.post(url, content=body, headers={"Content-Type": "application/json"})
    if response.status_code not in (200, 202):
        check_response(response.status_code, response.headers, f"Teams Workflows webhook{_code(response)}")
        raise DeliveryFailure(
            FailureClass.CLIENT_ERROR,
            f"Teams Workflows webhook answered HTTP {response.status_code}",
            status_code=response.status_code,
        )
    status = response.status_code
    return Receipt(status_code=status, outcome="accepted", details={"accepted": True, "status": status})


def _send_message_card(request: DeliveryRequest, url: str) -> Receipt:
    card = pymsteams.connectorcard(url, http_timeout=request.timeout)

    def render(limit: int | None) -> dict[str, object]:
        message_card(card, request, limit)
        return dict(card.payload)

    card.payload = fit(render)
    try:
        card.send()
    except pymsteams.TeamsWebhookException:
        if card.last_http_response is None:
            raise
        rejected = card.last_http_response
    else:
        rejected = None
    if rejected is not None:
        check_response(rejected.status_code, rejected.headers, "Teams connector webhook")
        raise DeliveryFailure(
            FailureClass.CLIENT_ERROR,
            f"Teams connector webhook answered HTTP {rejected.status_code}",
            status_code=rejected.status_code,
        )
    response = card.last_http_response
    text = response.text.strip() if response is not None else "1"
    if text != "1":
        match = _LEGACY_HTTP_ERROR.search(text)
        status = int(match.group(1)) if match else 500
        check_response(status, response.headers if response is not None else None,
                       "Teams connector webhook delivery")
    status = response.status_code if response is not None else 200
    return Receipt(status_code=status, outcome="accepted", details={"accepted": True, "status": status})


def _code(response: httpx.Response) -> str:
    try:
        error = response.json().get("error", {})
        code = error.get("code") if isinstance(error, dict) else None
    except (ValueError, AttributeError):
        return ""
    return f" ({code})" if isinstance(code, str) and _ERROR_CODE.match(code) else ""


def _translate(exc: Exception) -> DeliveryFailure:
    failure = classify_exception(exc)
    if failure.failure_class is FailureClass.PLUGIN_ERROR:
        return DeliveryFailure(FailureClass.PLUGIN_ERROR, f"unexpected {type(exc).__name__} sending to Teams")
    return failure


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
