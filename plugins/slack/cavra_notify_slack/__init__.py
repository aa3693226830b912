"""Slack provider: ``chat.postMessage`` with a bot token, or an incoming webhook, through slack-sdk."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import AfterValidator, ConfigDict, SecretStr, model_validator
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from cavra_notify import (
    DeliveryFailure,
    DeliveryRequest,
    FailureClass,
    HttpUrl,
    NetworkSettings,
    Provider,
    Receipt,
    SecretHttpUrl,
    check_response,
    classify_exception,
    error_code,
    expect_success,
    header,
    hookimpl,
    network_secrets,
    parse_retry_after,
    proxy_for,
    ssl_context,
)
from cavra_notify.redact import SecretLogFilter
from cavra_notify.redact import install_log_filter as install

from .blocks import render_blocks, render_text

__all__ = ["PROVIDER", "SlackSettings", "deliver"]

DEFAULT_BASE_URL = "https://slack.com/api/"
SDK_LOGGER = "cavra_notify_slack.sdk"

AUTH_ERRORS = frozenset({"invalid_auth", "not_authed", "account_inactive", "token_revoked",
                         "token_expired", "no_permission", "missing_scope", "not_allowed_token_type",
                         "ekm_access_denied", "team_access_not_granted"})
SERVER_ERRORS = frozenset({"internal_error", "fatal_error", "service_unavailable", "request_timeout"})

_log_filter = SecretLogFilter()
install(_log_filter, [SDK_LOGGER])


class SlackSettings(NetworkSettings):
    """Either ``token`` + ``channel`` (bot mode) or ``webhook_url`` (incoming webhook), not both; plus the
    core's network settings."""

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    token: SecretStr | None = None
    channel: str | None = None
    webhook_url: SecretHttpUrl | None = None
    base_url: Annotated[HttpUrl, AfterValidator(lambda url: url if url.endswith("/") else url + "/")] = (
        DEFAULT_BASE_URL
    )

    @model_validator(mode="after")
    def _one_mode(self) -> SlackSettings:
        if self.token is not None and self.webhook_url is not None:
            raise ValueError("configure either 'token' (with 'channel') or 'webhook_url', not both")
        if self.token is None and self.webhook_url is None:
            raise ValueError("one of 'token' (with 'channel') or 'webhook_url' is required")
        if self.token is not None and not self.channel:
            raise ValueError("'channel' is required with 'token'")
        if self.webhook_url is not None and self.channel:
            raise ValueError("'channel' is only used with 'token'; an incoming webhook posts to its own channel")
        return self


def target(settings: SlackSettings) -> str:
    if settings.webhook_url is not None:
        parts = urlsplit(settings.webhook_url.get_secret_value())
        return f"{parts.scheme}://{parts.hostname}"
    return settings.base_url


async def deliver(request: DeliveryRequest) -> Receipt:
    """One call through slack-sdk's aiohttp clients (which read no proxy from the environment: the
    core's network settings decide)."""
    settings: SlackSettings = request.settings
    secrets = [s.get_secret_value() for s in (settings.token, settings.webhook_url) if s is not None]
    if settings.webhook_url is not None:
        secrets.append(urlsplit(settings.webhook_url.get_secret_value()).path)
    with _log_filter.active([*secrets, *network_secrets(settings)]):
        try:
            if settings.webhook_url is not None:
                return await _send_webhook(request, settings, settings.webhook_url.get_secret_value())
            return await _post_message(request, settings)
        except SlackApiError as exc:
            raise _api_failure(exc.response.status_code, exc.response.headers, exc.response.data) from None
        except Exception as exc:
            raise classify_exception(exc) from None


async def _post_message(request: DeliveryRequest, settings: SlackSettings) -> Receipt:
    assert settings.token is not None and settings.channel is not None
    client = AsyncWebClient(
        token=settings.token.get_secret_value(),
        base_url=settings.base_url,
        timeout=request.timeout,  # type: ignore[arg-type]  # aiohttp accepts float seconds
        ssl=ssl_context(settings),
        logger=logging.getLogger(SDK_LOGGER),
        retry_handlers=[],
    )
    client.proxy = proxy_for(settings, settings.base_url)  # set after: the constructor reads the environment
    response = await client.chat_postMessage(
        channel=settings.channel, text=render_text(request), blocks=render_blocks(request)
    )
    data = response.data if isinstance(response.data, dict) else {}
    return Receipt(
        status_code=response.status_code,
        outcome="delivered",
        details={"channel": str(data.get("channel", "")), "ts": str(data.get("ts", ""))},
    )


async def _send_webhook(request: DeliveryRequest, settings: SlackSettings, url: str) -> Receipt:
    client = AsyncWebhookClient(
        url,
        timeout=request.timeout,  # type: ignore[arg-type]  # aiohttp accepts float seconds
        ssl=ssl_context(settings),
        logger=logging.getLogger(SDK_LOGGER),
        retry_handlers=[],
    )
    client.proxy = proxy_for(settings, url)  # set after: the constructor reads the environment
    response = await client.send(text=render_text(request), blocks=render_blocks(request))
    expect_success(response.status_code, _str_headers(response.headers), "Slack incoming webhook",
                   body=response.body, ok={200})
    return Receipt(status_code=200, outcome="delivered", details={"status": 200})


def _api_failure(status: int, headers: Mapping[str, Any], data: Any) -> DeliveryFailure:
    error = error_code(data) or "unknown_error"
    what = f"Slack chat.postMessage ({error})"
    try:
        check_response(status, _str_headers(headers), what)
    except DeliveryFailure as failure:
        return failure
    retry_after = parse_retry_after(header(_str_headers(headers), "Retry-After"))
    if error == "ratelimited":
        failure_class = FailureClass.RATE_LIMITED
    elif error in AUTH_ERRORS:
        failure_class = FailureClass.AUTH
    elif error in SERVER_ERRORS:
        failure_class = FailureClass.SERVER_ERROR
    else:
        failure_class = FailureClass.CLIENT_ERROR
    return DeliveryFailure(
        failure_class, f"{what} failed: ok=false", status_code=status, retry_after=retry_after
    )


def _str_headers(headers: Mapping[str, Any] | None) -> dict[str, str]:
    result: dict[str, str] = {}
    for key, value in (headers or {}).items():
        result[str(key)] = str(value[0] if isinstance(value, list) and value else value)
    return result


PROVIDER = Provider(
    name="slack",
    settings_model=SlackSettings,
    deliver=deliver,
    target=target,
    description="Slack chat.postMessage (bot token) or incoming webhook, through slack-sdk",
)


@hookimpl
def cavra_register_providers(register: Callable[[Provider], None]) -> None:
    register(PROVIDER)


@hookimpl
def cavra_conformance_cases() -> list[Any]:
    from .conformance import cases  # the test kit loads only for `cavra plugins check`

    return cases()
