from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterator
from typing import Any

import cavra_notify_slack
import pytest
from cavra_notify_slack import PROVIDER, SlackSettings
from cavra_notify_slack.conformance import cases
from cavra_notify_slack.fake import FakeSlack
from pydantic import ValidationError

from cavra_notify.provider import DeliveryFailure, FailureClass, Receipt, secret_field_names
from cavra_notify.testkit import (
    Response,
    assert_no_secret_leak,
    closed_port,
    deliver_once,
    make_request,
)
from cavra_notify.testkit.conformance import check_conformance

CHANNEL = "#release-governance"


@pytest.fixture
def token() -> str:
    return "xoxb-" + "canary" + uuid.uuid4().hex


@pytest.fixture
def slack(token: str) -> Iterator[FakeSlack]:
    with FakeSlack(token, webhook_secret="canary" + uuid.uuid4().hex) as fake:
        yield fake


def bot_settings(slack: FakeSlack, token: str, channel: str = CHANNEL) -> dict[str, Any]:
    return {"token": token, "channel": channel, "base_url": slack.api_base}


def failure_of(settings: dict[str, Any], timeout: float = 5.0) -> DeliveryFailure:
    with pytest.raises(DeliveryFailure) as info:
        deliver_once(PROVIDER, make_request(PROVIDER, settings, timeout=timeout))
    assert info.value.__cause__ is None
    assert info.value.__suppress_context__ or info.value.__context__ is None
    return info.value


def test_secret_fields_are_declared() -> None:
    assert set(secret_field_names(SlackSettings)) == {"token", "webhook_url", "proxy_password", "client_key_password"}


def test_bot_mode_posts_block_kit_message(slack: FakeSlack, token: str) -> None:
    receipt = deliver_once(PROVIDER, make_request(PROVIDER, bot_settings(slack, token)))

    assert isinstance(receipt, Receipt)
    assert receipt.outcome == "delivered" and receipt.status_code == 200
    assert receipt.details == {"channel": "C0CAVRA0001", "ts": slack.messages[0]["ts"]}
    sent = slack.receiver.requests_to("/api/chat.postMessage")[0]
    assert sent.header("Authorization") == f"Bearer {token}"
    body = sent.json()
    assert body["channel"] == CHANNEL
    assert "CAVRA Go rollback drill schedule critical" in body["text"]
    header, section, context = body["blocks"]
    assert header == {
        "type": "header",
        "text": {"type": "plain_text", "text": "CAVRA Go rollback drill schedule critical"},
    }
    assert "needs_attention" in section["text"]["text"]
    fields = [field["text"] for field in section["fields"]]
    assert fields[:3] == ["*Status*\nneeds_attention", "*Next due*\n2026-06-20T15:40:00Z",
                          "*Owner*\nrelease-governance"]
    assert context["elements"][0]["text"] == "Runbook: `docs/go-backend-rollback-drill-scheduling.md`"


def test_webhook_mode_posts_blocks_and_returns_status(slack: FakeSlack) -> None:
    receipt = deliver_once(PROVIDER, make_request(PROVIDER, {"webhook_url": slack.webhook_url}))

    assert receipt.details == {"status": 200}
    sent = slack.receiver.requests_to(slack.webhook_path)[0].json()
    assert sent["blocks"][0]["text"]["text"] == "CAVRA Go rollback drill schedule critical"
    assert "release-governance" in sent["text"]


def test_channel_not_found_is_client_error(slack: FakeSlack, token: str) -> None:
    failure = failure_of(bot_settings(slack, token, channel="#nowhere"))
    assert failure.failure_class is FailureClass.CLIENT_ERROR
    assert "channel_not_found" in failure.message


def test_invalid_auth_is_auth(slack: FakeSlack, token: str) -> None:
    failure = failure_of(bot_settings(slack, token + "-revoked"))
    assert failure.failure_class is FailureClass.AUTH
    assert "invalid_auth" in failure.message


def test_token_revoked_answer_is_auth(slack: FakeSlack, token: str) -> None:
    slack.enqueue(Response(200, {"ok": False, "error": "token_revoked"}))
    failure = failure_of(bot_settings(slack, token))
    assert failure.failure_class is FailureClass.AUTH
    assert "token_revoked" in failure.message


def test_wrong_webhook_secret_is_auth(slack: FakeSlack) -> None:
    wrong = slack.webhook_url.rsplit("/", 1)[0] + "/canary" + uuid.uuid4().hex
    failure = failure_of({"webhook_url": wrong})
    assert failure.failure_class is FailureClass.AUTH
    assert failure.status_code == 403 and "invalid_token" in failure.message


def test_rate_limited_with_retry_after(slack: FakeSlack, token: str) -> None:
    slack.enqueue(Response(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "7"}))
    failure = failure_of(bot_settings(slack, token))
    assert failure.failure_class is FailureClass.RATE_LIMITED
    assert failure.retry_after == 7.0 and failure.status_code == 429
    assert len(slack.requests) == 1, "the plugin must not retry by itself"


def test_webhook_rate_limited_with_retry_after(slack: FakeSlack) -> None:
    slack.enqueue(Response(429, "rate_limited", {"Retry-After": "3"}))
    failure = failure_of({"webhook_url": slack.webhook_url})
    assert failure.failure_class is FailureClass.RATE_LIMITED and failure.retry_after == 3.0


@pytest.mark.parametrize("status", [500, 503])
def test_server_error(slack: FakeSlack, token: str, status: int) -> None:
    slack.enqueue(Response(status, "upstream trouble"))
    failure = failure_of(bot_settings(slack, token))
    assert failure.failure_class is FailureClass.SERVER_ERROR and failure.status_code == status
    assert len(slack.requests) == 1


def test_webhook_server_error(slack: FakeSlack) -> None:
    slack.enqueue(Response(500, "rollup_error"))
    failure = failure_of({"webhook_url": slack.webhook_url})
    assert failure.failure_class is FailureClass.SERVER_ERROR and "rollup_error" in failure.message


def test_slow_answer_times_out(slack: FakeSlack, token: str) -> None:
    slack.enqueue(Response(200, {"ok": True, "channel": "C0CAVRA0001", "ts": "1.0"}, delay=1.5))
    started = time.monotonic()
    failure = failure_of(bot_settings(slack, token), timeout=0.3)
    assert time.monotonic() - started < 1.0
    assert failure.failure_class is FailureClass.TIMEOUT


def test_connection_refused(token: str) -> None:
    settings = {"token": token, "channel": CHANNEL, "base_url": f"http://127.0.0.1:{closed_port()}/api/"}
    assert failure_of(settings).failure_class is FailureClass.CONNECTION
    webhook = f"http://127.0.0.1:{closed_port()}/services/T0/B0/canary{uuid.uuid4().hex}"
    assert failure_of({"webhook_url": webhook}).failure_class is FailureClass.CONNECTION


def test_malformed_answer_is_a_clear_failure(slack: FakeSlack, token: str) -> None:
    slack.enqueue(Response(200, b"<html>not json</html>"))
    failure = failure_of(bot_settings(slack, token))
    assert failure.failure_class is FailureClass.CLIENT_ERROR
    assert "unknown_error" in failure.message


CANARY = "xoxb-" + "canary" + uuid.uuid4().hex


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        ({}, "'token'"),
        ({"token": CANARY, "channel": "C", "webhook_url": "http://127.0.0.1/services/" + CANARY}, "not both"),
        ({"token": CANARY}, "'channel'"),
        ({"webhook_url": "http://127.0.0.1/services/" + CANARY, "channel": "C"}, "'channel'"),
        ({"webhook_url": "not-a-url-" + CANARY}, "webhook_url"),
        ({"token": CANARY, "channel": "C", "surprise": 1}, "surprise"),
        ({"token": CANARY, "channel": "C", "base_url": "file:///etc/" + CANARY}, "base_url"),
    ],
)
def test_settings_errors_name_the_field(settings: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as info:
        SlackSettings.model_validate(settings)
    assert field in str(info.value)
    assert_no_secret_leak([CANARY], info.value, str(info.value), info.value.errors(include_input=False))


def test_target_hides_webhook_path(slack: FakeSlack, token: str) -> None:
    settings = SlackSettings.model_validate({"webhook_url": slack.webhook_url})
    assert PROVIDER.target(settings) == "http://127.0.0.1"
    assert PROVIDER.target(SlackSettings.model_validate(bot_settings(slack, token))) == slack.api_base


def test_no_secret_leaks_anywhere(
    slack: FakeSlack, token: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    secrets = [token, slack.webhook_url, slack.webhook_path]
    outputs: list[Any] = []
    scripted = [
        None,
        Response(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "1"}),
        Response(500, "boom"),
        Response(200, {"ok": False, "error": "invalid_auth"}),
        Response(200, b"garbage"),
    ]
    for settings in (bot_settings(slack, token), {"webhook_url": slack.webhook_url}):
        for answer in scripted:
            if answer is not None:
                slack.enqueue(answer)
            try:
                outputs.append(deliver_once(PROVIDER, make_request(PROVIDER, settings)))
            except DeliveryFailure as exc:
                outputs.extend([exc, exc.message])
        slack.enqueue(Response(200, {"ok": True}, delay=1.0))
        try:
            deliver_once(PROVIDER, make_request(PROVIDER, settings, timeout=0.2))
        except DeliveryFailure as exc:
            outputs.append(exc)
    assert any(isinstance(output, Receipt) for output in outputs)
    assert any(isinstance(output, DeliveryFailure) for output in outputs)
    assert any("chat.postMessage" in record.getMessage() or "Sending a request" in record.getMessage()
               for record in caplog.records), "slack-sdk debug logs were expected at DEBUG"
    assert_no_secret_leak(secrets, *outputs, *caplog.records, caplog.text)


def test_registers_through_hook() -> None:
    registered: list[Any] = []
    cavra_notify_slack.cavra_register_providers(registered.append)
    assert registered == [PROVIDER] and PROVIDER.name == "slack"


@pytest.mark.parametrize("number", range(2))
def test_conformance(number: int) -> None:
    """The cases `cavra plugins check slack` runs."""
    check_conformance(cases()[number])
