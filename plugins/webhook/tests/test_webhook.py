"""The webhook provider through real aiohttp against the loopback fake receiver."""

from __future__ import annotations

import asyncio
import base64
import email.utils
import json
import logging
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import cavra_notify_webhook
import pluggy
import pytest
from aiohttp import ClientSession
from cavra_notify_webhook import PROVIDER, WebhookSettings, sign, verify_signature
from cavra_notify_webhook import _session as session_cache
from cavra_notify_webhook.conformance import cases
from cavra_notify_webhook.fake import FakeWebhookReceiver
from pydantic import ValidationError

from cavra_notify import hookspecs
from cavra_notify.provider import DeliveryFailure, FailureClass, Receipt
from cavra_notify.testkit import (
    Response,
    assert_no_secret_leak,
    check_conformance,
    closed_port,
    deliver_once,
    make_request,
)


def canary(prefix: str) -> str:
    return prefix + "canary" + uuid.uuid4().hex


@pytest.fixture
def secret() -> str:
    return canary("whsec-")


@pytest.fixture
def fake(secret: str) -> Iterator[FakeWebhookReceiver]:
    with FakeWebhookReceiver(secret, path="/hooks/" + canary("tok-")) as receiver:
        yield receiver


def settings(fake: FakeWebhookReceiver, secret: str | None, **extra: Any) -> dict[str, Any]:
    values: dict[str, Any] = {"url": fake.url, **extra}
    if secret is not None:
        values["signing_secret"] = secret
    return values


def failure_of(settings_dict: dict[str, Any], timeout: float = 2.0) -> DeliveryFailure:
    with pytest.raises(DeliveryFailure) as raised:
        deliver_once(PROVIDER, make_request(PROVIDER, settings_dict, timeout=timeout))
    return raised.value


def test_success_sends_signed_compact_json_with_idempotency_key(fake: FakeWebhookReceiver, secret: str) -> None:
    request = make_request(
        PROVIDER, settings(fake, secret, headers={"X-Team": "release-governance"}), delivery_key="dk-42"
    )
    receipt = deliver_once(PROVIDER, request)

    assert receipt == Receipt(status_code=200, outcome="delivered", details={"status": 200})
    [received] = fake.events
    assert received.signature_verified is True
    assert received.event == request.event_json()
    assert received.body == json.dumps(request.event_json(), separators=(",", ":"), sort_keys=True).encode()
    assert received.idempotency_key == "dk-42"
    sent = fake.requests[0]
    assert sent.method == "POST"
    assert sent.header("Content-Type") == "application/json"
    assert sent.header("X-Team") == "release-governance"
    assert abs(int(sent.header("X-Cavra-Timestamp") or 0) - time.time()) < 5
    assert sent.header("X-Cavra-Signature") == sign(secret, sent.header("X-Cavra-Timestamp") or "", sent.body)


def test_custom_signature_header_names(secret: str) -> None:
    with FakeWebhookReceiver(secret, signature_header="X-Sig", timestamp_header="X-Ts") as fake:
        values = settings(fake, secret, signature_header="X-Sig", timestamp_header="X-Ts")
        deliver_once(PROVIDER, make_request(PROVIDER, values))
        assert fake.events[0].signature_verified is True
        assert fake.requests[0].header("X-Cavra-Signature") is None


def test_unsigned_when_no_signing_secret() -> None:
    with FakeWebhookReceiver() as fake:
        receipt = deliver_once(PROVIDER, make_request(PROVIDER, settings(fake, None)))
        assert receipt.details == {"status": 200}
        sent = fake.requests[0]
        assert sent.header("X-Cavra-Signature") is None and sent.header("X-Cavra-Timestamp") is None
        assert fake.events[0].signature_verified is None


def test_202_is_accepted(fake: FakeWebhookReceiver, secret: str) -> None:
    fake.enqueue(Response(202, {"queued": True}))
    receipt = deliver_once(PROVIDER, make_request(PROVIDER, settings(fake, secret)))
    assert (receipt.status_code, receipt.outcome, receipt.details) == (202, "accepted", {"status": 202})


def test_tampered_body_and_wrong_inputs_fail_verification(secret: str) -> None:
    body = b'{"event_id":"evt-1"}'
    now = 1_760_000_000
    header = sign(secret, now, body)
    assert verify_signature(secret, str(now), body, header, now=now + 10)
    assert not verify_signature(secret, now, b'{"event_id":"evt-2"}', header, now=now)
    assert not verify_signature(secret + "x", now, body, header, now=now)
    assert not verify_signature(secret, now + 1, body, header, now=now)
    assert not verify_signature(secret, now, body, header, now=now + 301)
    assert verify_signature(secret, now, body, header, tolerance_seconds=None, now=now + 10_000)
    assert verify_signature(secret, now, body, "v1=" + "0" * 64 + ", " + header, now=now)
    assert not verify_signature(secret, "12a", body, header, now=now)
    assert not verify_signature(secret, None, body, header)
    assert not verify_signature(secret, now, body, None, now=now)
    assert not verify_signature(secret, now, body, header.removeprefix("v1="), now=now)


def test_receiver_rejects_a_wrong_signing_secret_as_auth(fake: FakeWebhookReceiver) -> None:
    failure = failure_of(settings(fake, canary("other-")))
    assert (failure.failure_class, failure.status_code) == (FailureClass.AUTH, 401)
    assert fake.events == []


def test_429_with_retry_after_seconds(fake: FakeWebhookReceiver, secret: str) -> None:
    fake.enqueue(Response(429, {"error": "slow_down"}, {"Retry-After": "7"}))
    failure = failure_of(settings(fake, secret))
    assert (failure.failure_class, failure.status_code, failure.retry_after) == (
        FailureClass.RATE_LIMITED,
        429,
        7.0,
    )


def test_429_with_retry_after_http_date(fake: FakeWebhookReceiver, secret: str) -> None:
    when = email.utils.formatdate(time.time() + 30, usegmt=True)
    fake.enqueue(Response(429, {"error": "slow_down"}, {"Retry-After": when}))
    failure = failure_of(settings(fake, secret))
    assert failure.failure_class is FailureClass.RATE_LIMITED
    assert failure.retry_after is not None and 27 <= failure.retry_after <= 31


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (500, FailureClass.SERVER_ERROR),
        (503, FailureClass.SERVER_ERROR),
        (400, FailureClass.CLIENT_ERROR),
        (401, FailureClass.AUTH),
        (403, FailureClass.AUTH),
        (404, FailureClass.CLIENT_ERROR),
    ],
)
def test_failing_status_is_classified(
    fake: FakeWebhookReceiver, secret: str, status: int, expected: FailureClass
) -> None:
    fake.enqueue(Response(status, {"error": "scripted"}))
    failure = failure_of(settings(fake, secret))
    assert (failure.failure_class, failure.status_code) == (expected, status)
    assert failure.retry_after is None


def test_redirect_is_not_followed(fake: FakeWebhookReceiver, secret: str) -> None:
    fake.enqueue(Response(302, "", {"Location": fake.url + "/elsewhere"}))
    failure = failure_of(settings(fake, secret))
    assert (failure.failure_class, failure.status_code) == (FailureClass.CLIENT_ERROR, 302)
    assert len(fake.requests) == 1


def test_timeout_is_honoured(fake: FakeWebhookReceiver, secret: str) -> None:
    fake.enqueue(Response(200, {"received": True}, delay=2.0))
    started = time.monotonic()
    failure = failure_of(settings(fake, secret), timeout=0.3)
    assert failure.failure_class is FailureClass.TIMEOUT
    assert time.monotonic() - started < 1.0


def test_connection_refused() -> None:
    failure = failure_of({"url": f"http://127.0.0.1:{closed_port()}/hooks/x"})
    assert failure.failure_class is FailureClass.CONNECTION


@pytest.mark.parametrize("number", range(1))
def test_conformance(number: int) -> None:
    """The cases `cavra plugins check webhook` runs."""
    check_conformance(cases()[number])


class Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def test_no_secret_in_receipts_errors_or_logs(
    fake: FakeWebhookReceiver, secret: str, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    caplog.set_level(logging.DEBUG)
    client_logger = logging.getLogger("aiohttp")
    monkeypatch.setattr(client_logger, "disabled", False)
    raw = Collect()  # on the client's logger itself: sees records before any root handler's filter
    client_logger.addHandler(raw)
    try:
        values = settings(fake, secret)
        outputs: list[Any] = [deliver_once(PROVIDER, make_request(PROVIDER, values))]
        fake.enqueue(Response(500, {"error": "boom"}), Response(200, {}, delay=1.0))
        for _ in range(2):
            with pytest.raises(DeliveryFailure) as raised:
                deliver_once(PROVIDER, make_request(PROVIDER, values, timeout=0.3))
            outputs.append(raised.value)
    finally:
        client_logger.removeHandler(raw)
    url_token = fake.path.rsplit("/", 1)[1]
    messages = [record.getMessage() for record in caplog.records]
    assert_no_secret_leak([url_token, secret], *outputs, caplog.text, messages, raw.messages)
    assert len(fake.events) == 1


def test_settings_errors_are_clear_and_never_echo_the_url() -> None:
    token = canary("tok-")
    with pytest.raises(ValidationError) as bad_scheme:
        WebhookSettings.model_validate({"url": f"ftp://127.0.0.1/{token}"})
    assert "http:// or https://" in str(bad_scheme.value)
    assert token not in str(bad_scheme.value)
    with pytest.raises(ValidationError, match="credential in a non-secret field"):
        WebhookSettings.model_validate({"url": "http://127.0.0.1/h", "headers": {"Authorization": "x"}})
    with pytest.raises(ValidationError, match="set by the plugin"):
        WebhookSettings.model_validate({"url": "http://127.0.0.1/h", "headers": {"idempotency-key": "x"}})
    with pytest.raises(ValidationError, match="must differ"):
        WebhookSettings.model_validate({"url": "http://127.0.0.1/h", "timestamp_header": "X-Cavra-Signature"})
    with pytest.raises(ValidationError, match="not a valid HTTP header name"):
        WebhookSettings.model_validate({"url": "http://127.0.0.1/h", "headers": {"Bad Name": "x"}})
    with pytest.raises(ValidationError, match="must not be empty"):
        WebhookSettings.model_validate({"url": "http://127.0.0.1/h", "signing_secret": ""})
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        WebhookSettings.model_validate({"url": "http://127.0.0.1/h", "token": "x"})


def test_target_is_the_url_for_the_core_to_redact() -> None:
    url = "https://127.0.0.1:8443/hooks/abc?sig=1"
    assert PROVIDER.target(WebhookSettings.model_validate({"url": url})) == url


def test_one_session_per_loop_reused_and_closed_with_the_loop(fake: FakeWebhookReceiver, secret: str) -> None:
    async def fan_out(count: int) -> ClientSession:
        bound = asyncio.Semaphore(4)  # the core bounds concurrency; the fake's listen backlog is small

        async def one(index: int) -> Receipt:
            async with bound:
                request = make_request(PROVIDER, settings(fake, secret), delivery_key=f"dk-{index}")
                return await cavra_notify_webhook.deliver(request)

        await one(-1)
        shared = await session_cache.session()
        receipts = await asyncio.gather(*(one(index) for index in range(count)))
        assert {receipt.status_code for receipt in receipts} == {200}
        assert await session_cache.session() is shared
        return shared

    first = asyncio.run(fan_out(100))
    assert first.closed
    assert first not in [session for session, _ in session_cache._sessions.values()]
    assert len(fake.events) == 101
    assert {event.idempotency_key for event in fake.events} == {f"dk-{index}" for index in range(-1, 100)}
    assert all(event.signature_verified for event in fake.events)

    second = asyncio.run(fan_out(1))
    assert second is not first and second.closed


def test_sessions_are_not_shared_between_concurrent_loops(fake: FakeWebhookReceiver, secret: str) -> None:
    transports: dict[int, ClientSession] = {}
    both_running = threading.Barrier(2)

    async def run(worker: int) -> None:
        await cavra_notify_webhook.deliver(make_request(PROVIDER, settings(fake, secret)))
        transports[worker] = await session_cache.session()
        await asyncio.to_thread(both_running.wait, 5)
        await cavra_notify_webhook.deliver(make_request(PROVIDER, settings(fake, secret)))
        assert await session_cache.session() is transports[worker]

    threads = [threading.Thread(target=asyncio.run, args=(run(worker),)) for worker in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert len(fake.events) == 4
    assert transports[0] is not transports[1]
    assert transports[0].closed and transports[1].closed


def test_aclose_closes_the_running_loops_session(fake: FakeWebhookReceiver, secret: str) -> None:
    async def run() -> tuple[ClientSession, ClientSession]:
        await cavra_notify_webhook.deliver(make_request(PROVIDER, settings(fake, secret)))
        before = await session_cache.session()
        await cavra_notify_webhook.aclose()
        assert before.closed
        await cavra_notify_webhook.deliver(make_request(PROVIDER, settings(fake, secret)))
        return before, await session_cache.session()

    before, after = asyncio.run(run())
    assert before is not after and after.closed
    assert len(fake.events) == 2


def test_credentials_in_the_url_are_sent_as_basic_auth(
    fake: FakeWebhookReceiver, secret: str
) -> None:
    password = canary("pw-")
    url = fake.url.replace("http://", f"http://hook-user:{password}@")
    receipt = deliver_once(PROVIDER, make_request(PROVIDER, settings(fake, secret, url=url)))
    assert receipt.status_code == 200
    (event,) = fake.events
    headers = {name.lower(): value for name, value in event.headers.items()}
    sent = base64.b64decode(headers["authorization"].removeprefix("Basic ")).decode()
    assert sent == f"hook-user:{password}" and event.signature_verified
    assert_no_secret_leak([password], receipt)


def test_registered_through_the_entry_point_hook() -> None:
    manager = pluggy.PluginManager(hookspecs.PROJECT)
    manager.add_hookspecs(hookspecs)
    assert manager.load_setuptools_entrypoints(hookspecs.PROJECT, name="webhook") == 1
    registered: list[Any] = []
    manager.hook.cavra_register_providers(register=registered.append)
    assert registered == [PROVIDER]
