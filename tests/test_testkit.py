"""The conformance check itself: correct toy providers pass, each kind of broken one fails."""

from __future__ import annotations

import asyncio
import logging
import sys
from typing import Any

import httpx
import pytest
from pydantic import BaseModel, ConfigDict, SecretStr

from cavra_notify.failures import check_response, classify_exception
from cavra_notify.provider import DeliveryFailure, DeliveryRequest, FailureClass, Provider, Receipt
from cavra_notify.testkit import ConformanceCase, FakeReceiver, Response, check_conformance, closed_port

log = logging.getLogger("toy_provider")


class ToySettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    base_url: str
    token: SecretStr


class PlainSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    base_url: str
    token: str


def toy_provider(fault: str = "", *, use_async: bool = False) -> Provider:
    """A small correct provider; ``fault`` switches on exactly one deliberate bug."""

    def send(request: DeliveryRequest) -> Receipt:
        settings = request.settings
        token = settings.token if fault == "plain-settings" else settings.token.get_secret_value()
        if fault == "logs-secret":
            log.debug("posting with token %s", token)
        timeout = 30.0 if fault == "ignores-timeout" else request.timeout
        try:
            for _ in range(3 if fault == "retries-itself" else 1):  # the bug: a retry loop of its own
                response = httpx.post(
                    f"{settings.base_url}/api/send",
                    json=request.event_json(),
                    headers={"Authorization": f"Bearer {token}"},
                    timeout=timeout,
                )
                if response.status_code < 500:
                    break
        except httpx.HTTPError as exc:
            if fault == "raw-exception":
                raise
            raise classify_exception(exc) from None
        if fault == "500-is-client-error" and response.status_code == 500:
            raise DeliveryFailure(FailureClass.CLIENT_ERROR, "send failed with HTTP 500", status_code=500)
        if fault == "secret-in-message" and response.status_code >= 400:
            raise DeliveryFailure(
                FailureClass.CLIENT_ERROR if response.status_code < 500 else FailureClass.SERVER_ERROR,
                f"send with token {token} failed",
            )
        if fault == "drops-retry-after" and response.status_code == 429:
            raise DeliveryFailure(FailureClass.RATE_LIMITED, "rate limited", status_code=429)
        check_response(response.status_code, response.headers, "send")
        details: dict[str, Any] = {"id": response.json()["id"]}
        if fault == "secret-in-receipt":
            details["auth"] = token
        return Receipt(status_code=response.status_code, details=details)

    async def send_async(request: DeliveryRequest) -> Receipt:
        if fault == "blocks-loop":
            return send(request)  # the bug: a sync HTTP call inside async def blocks the event loop
        return await asyncio.to_thread(send, request)

    return Provider(
        name=f"toy-{fault or 'correct'}",
        settings_model=PlainSettings if fault == "plain-settings" else ToySettings,
        deliver=send_async if use_async or fault == "blocks-loop" else send,
        target=lambda settings: str(settings.base_url),
    )


def case_for(provider: Provider, **overrides: Any) -> ConformanceCase:
    options: dict[str, Any] = {
        "provider": provider,
        "settings_for": lambda base_url, canary: {"base_url": base_url, "token": "tok-" + canary},
        "success": lambda request: Response(200, {"ok": True, "id": "msg-1"}),
    }
    options.update(overrides)
    return ConformanceCase(**options)


@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
def test_correct_provider_passes(use_async: bool) -> None:
    check_conformance(case_for(toy_provider(use_async=use_async)))


@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        ("secret-in-message", "leaked in the exception"),
        ("secret-in-receipt", "[success] the secret (canary) leaked in the receipt"),
        ("logs-secret", "leaked in log records of: toy_provider"),
        ("500-is-client-error", "[500] classified as client_error, expected server_error"),
        ("drops-retry-after", "[429] retry_after is None"),
        ("ignores-timeout", "[timeout]"),
        ("raw-exception", "[connection] expected DeliveryFailure(connection) but deliver raised Connect"),
        ("plain-settings", "declares no secret field"),
        ("retries-itself", "[503] one deliver sent 3 requests to a service that fails every request"),
        ("blocks-loop", "[loop] deliver blocked its event loop for"),
    ],
)
def test_broken_provider_fails(fault: str, expected: str) -> None:
    with pytest.raises(AssertionError) as failed:
        check_conformance(case_for(toy_provider(fault)))
    assert expected in str(failed.value)
    assert f"provider 'toy-{fault}' failed" in str(failed.value)


def test_settings_without_canary_fail() -> None:
    case = case_for(
        toy_provider(), settings_for=lambda base_url, canary: {"base_url": base_url, "token": "x"}
    )
    with pytest.raises(AssertionError, match="secret field 'token' from settings_for does not contain"):
        check_conformance(case)


def test_success_answer_the_provider_cannot_read_fails() -> None:
    case = case_for(toy_provider(), success=lambda request: Response(200, {"unexpected": True}))
    with pytest.raises(AssertionError, match=r"\[success\] deliver raised KeyError"):
        check_conformance(case)


def test_failure_message_lists_every_problem() -> None:
    with pytest.raises(AssertionError) as failed:
        check_conformance(case_for(toy_provider("secret-in-message")))
    message = str(failed.value)
    for scenario in ("[429]", "[500]", "[503]", "[401]", "[400]"):
        assert f"{scenario} the secret (canary) leaked" in message
    assert "[success]" not in message


def test_leaks_through_quiet_or_non_propagating_loggers_are_found() -> None:
    isolated = logging.getLogger("toy_provider")
    isolated.propagate, isolated.level = False, logging.WARNING
    try:
        with pytest.raises(AssertionError, match="leaked in log records of: toy_provider"):
            check_conformance(case_for(toy_provider("logs-secret")))
        assert (isolated.propagate, isolated.level, isolated.handlers) == (False, logging.WARNING, [])
    finally:
        isolated.propagate, isolated.level = True, logging.NOTSET


def test_logging_is_restored_after_the_check() -> None:
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    check_conformance(case_for(toy_provider()))
    assert root.level == level
    assert root.handlers == handlers


def test_secret_leak_check_reads_log_records_with_their_exception_text() -> None:
    from cavra_notify.testkit import assert_no_secret_leak

    canary = "tok-" + "canary" + "0123456789"
    try:
        raise RuntimeError(f"SDK said {canary}")
    except RuntimeError:
        leaky = logging.LogRecord("sdk", logging.ERROR, __file__, 1, "request failed", None, sys.exc_info())
    clean = logging.LogRecord("sdk", logging.INFO, __file__, 1, "sent to %s", ("[REDACTED]",), None)
    assert_no_secret_leak([canary], clean)
    with pytest.raises(AssertionError, match="leaked in output #1"):
        assert_no_secret_leak([canary], clean, leaky)


def test_fakes_and_receivers_listen_on_the_host_and_port_given() -> None:
    from cavra_notify_jira.fake import FakeJira
    from cavra_notify_webhook.fake import FakeWebhookReceiver

    port = closed_port()
    with FakeReceiver(host="127.0.0.1", port=port) as receiver:
        assert receiver.url == f"http://127.0.0.1:{port}"
        assert httpx.get(receiver.url + "/ping").status_code == 200
    for fake_class in (FakeJira, FakeWebhookReceiver):
        port = closed_port()
        with fake_class(host="127.0.0.1", port=port) as fake:
            assert fake.url.startswith(f"http://127.0.0.1:{port}")
    with pytest.raises(ValueError, match="loopback addresses only"):
        FakeReceiver(host="0.0.0.0")
