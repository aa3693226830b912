from __future__ import annotations

import dataclasses
import logging
import time
import uuid
from collections.abc import Iterator
from typing import Any

import cavra_notify_teams
import pytest
from cavra_notify_teams import PROVIDER, TeamsSettings
from cavra_notify_teams.cards import MAX_PAYLOAD_BYTES
from cavra_notify_teams.conformance import cases
from cavra_notify_teams.fake import ADAPTIVE_CONTENT_TYPE, FakeTeams
from pydantic import ValidationError

from cavra_notify.provider import DeliveryFailure, FailureClass, Receipt, secret_field_names
from cavra_notify.testkit import (
    SAMPLE_MESSAGE,
    Response,
    assert_no_secret_leak,
    closed_port,
    deliver_once,
    make_request,
)
from cavra_notify.testkit.conformance import check_conformance

MODES = ["adaptive_card", "message_card"]


@pytest.fixture
def teams() -> Iterator[FakeTeams]:
    with FakeTeams(sig="canary" + uuid.uuid4().hex, connector_secret="canary" + uuid.uuid4().hex) as fake:
        yield fake


def settings_for(teams: FakeTeams, mode: str) -> dict[str, Any]:
    if mode == "message_card":
        return {"webhook_url": teams.connector_url, "format": "message_card"}
    return {"webhook_url": teams.workflow_url}


def failure_of(settings: dict[str, Any], timeout: float = 5.0) -> DeliveryFailure:
    with pytest.raises(DeliveryFailure) as info:
        deliver_once(PROVIDER, make_request(PROVIDER, settings, timeout=timeout))
    assert info.value.__cause__ is None
    assert info.value.__suppress_context__ or info.value.__context__ is None
    return info.value


def test_secret_fields_are_declared() -> None:
    assert secret_field_names(TeamsSettings) == ["proxy_password", "client_key_password", "webhook_url"]


def test_workflows_adaptive_card_is_accepted(teams: FakeTeams) -> None:
    receipt = deliver_once(PROVIDER, make_request(PROVIDER, settings_for(teams, "adaptive_card")))

    assert isinstance(receipt, Receipt)
    assert receipt.outcome == "accepted" and receipt.status_code == 202
    assert receipt.details == {"accepted": True, "status": 202}
    payload = teams.receiver.requests_to(teams.workflow_path)[0].json()
    assert payload["type"] == "message"
    attachment = payload["attachments"][0]
    assert attachment["contentType"] == ADAPTIVE_CONTENT_TYPE
    card = attachment["content"]
    assert card["type"] == "AdaptiveCard" and card["version"] == "1.4"
    title, summary, factset, runbook = card["body"]
    assert title["text"] == "CAVRA Go rollback drill schedule critical" and title["color"] == "Attention"
    assert "needs_attention" in summary["text"]
    facts = {fact["title"]: fact["value"] for fact in factset["facts"]}
    assert facts["owner"] == "release-governance" and facts["next_due_at"] == "2026-06-20T15:40:00Z"
    assert runbook["text"] == "Runbook: docs/go-backend-rollback-drill-scheduling.md"


def test_workflows_200_is_also_accepted(teams: FakeTeams) -> None:
    teams.enqueue(Response(200, b""))
    receipt = deliver_once(PROVIDER, make_request(PROVIDER, settings_for(teams, "adaptive_card")))
    assert receipt.details == {"accepted": True, "status": 200}


def test_legacy_message_card_through_pymsteams(teams: FakeTeams) -> None:
    receipt = deliver_once(PROVIDER, make_request(PROVIDER, settings_for(teams, "message_card")))

    assert receipt.outcome == "accepted" and receipt.details == {"accepted": True, "status": 200}
    card = teams.receiver.requests_to(teams.connector_path)[0].json()
    assert card["title"] == "CAVRA Go rollback drill schedule critical"
    assert card["themeColor"] == "E81123"
    assert "needs_attention" in card["text"]
    section = card["sections"][0]
    assert section["activityTitle"] == "Runbook: docs/go-backend-rollback-drill-scheduling.md"
    assert {"name": "owner", "value": "release-governance"} in section["facts"]


def test_wrong_sig_is_auth(teams: FakeTeams) -> None:
    wrong = teams.workflow_url.replace(teams.sig, "canary" + uuid.uuid4().hex)
    failure = failure_of({"webhook_url": wrong})
    assert failure.failure_class is FailureClass.AUTH and failure.status_code == 401
    assert "DirectApiInvalidAuthorizationSignature" in failure.message


@pytest.mark.parametrize("mode", MODES)
def test_bad_request_is_client_error(teams: FakeTeams, mode: str) -> None:
    teams.enqueue(Response(400, {"error": {"code": "InvalidRequestContent", "message": "bad card"}}))
    failure = failure_of(settings_for(teams, mode))
    assert failure.failure_class is FailureClass.CLIENT_ERROR and failure.status_code == 400


def test_unknown_connector_path_is_client_error(teams: FakeTeams) -> None:
    wrong = teams.connector_url.rsplit("/", 1)[0] + "/canary" + uuid.uuid4().hex
    failure = failure_of({"webhook_url": wrong, "format": "message_card"})
    assert failure.failure_class is FailureClass.CLIENT_ERROR and failure.status_code == 404


@pytest.mark.parametrize("mode", MODES)
def test_rate_limited_with_retry_after(teams: FakeTeams, mode: str) -> None:
    teams.enqueue(Response(429, {"error": {"code": "TooManyRequests"}}, {"Retry-After": "12"}))
    failure = failure_of(settings_for(teams, mode))
    assert failure.failure_class is FailureClass.RATE_LIMITED
    assert failure.retry_after == 12.0 and failure.status_code == 429
    assert len(teams.requests) == 1, "the plugin must not retry by itself"


def test_legacy_connector_throttling_inside_a_200(teams: FakeTeams) -> None:
    teams.enqueue(Response(200, "Webhook message delivery failed with error: Microsoft Teams endpoint "
                                "returned HTTP error 429 with ContextId tcid=0,server=msgapi,cv=x."))
    failure = failure_of(settings_for(teams, "message_card"))
    assert failure.failure_class is FailureClass.RATE_LIMITED


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("status", [500, 502])
def test_server_error(teams: FakeTeams, mode: str, status: int) -> None:
    teams.enqueue(Response(status, "upstream trouble"))
    failure = failure_of(settings_for(teams, mode))
    assert failure.failure_class is FailureClass.SERVER_ERROR and failure.status_code == status


@pytest.mark.parametrize("mode", MODES)
def test_slow_answer_times_out(teams: FakeTeams, mode: str) -> None:
    teams.enqueue(Response(202, b"", delay=1.5))
    started = time.monotonic()
    failure = failure_of(settings_for(teams, mode), timeout=0.3)
    assert time.monotonic() - started < 1.0
    assert failure.failure_class is FailureClass.TIMEOUT


@pytest.mark.parametrize("mode", MODES)
def test_connection_refused(mode: str) -> None:
    base = f"http://127.0.0.1:{closed_port()}"
    url = (f"{base}/webhookb2/x/IncomingWebhook/canary{uuid.uuid4().hex}" if mode == "message_card"
           else f"{base}/workflows/w/triggers/manual/paths/invoke?api-version=1&sig=canary{uuid.uuid4().hex}")
    failure = failure_of({"webhook_url": url, "format": mode})
    assert failure.failure_class is FailureClass.CONNECTION


@pytest.mark.parametrize("mode", MODES)
def test_huge_message_is_truncated_under_28kb(teams: FakeTeams, mode: str) -> None:
    huge = dataclasses.replace(
        SAMPLE_MESSAGE,
        summary="Rollback drill overdue. " + "ü∑ " * 40_000,
        facts={**SAMPLE_MESSAGE.facts, **{f"fact_{i}": "x" * 5_000 for i in range(50)}},
    )
    request = make_request(PROVIDER, settings_for(teams, mode), message=huge)

    receipt = deliver_once(PROVIDER, request)

    assert receipt.details["accepted"] is True
    sent = teams.requests[-1]
    assert len(sent.body) < MAX_PAYLOAD_BYTES
    body = sent.json()
    summary = (body["attachments"][0]["content"]["body"][1]["text"] if mode == "adaptive_card"
               else body["text"])
    assert summary.startswith("Rollback drill overdue.") and summary.endswith("…")


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        ({}, "webhook_url"),
        ({"webhook_url": "not-a-url-canary"}, "webhook_url"),
        ({"webhook_url": "http://127.0.0.1/workflows/x?sig=canary", "format": "html"}, "format"),
        ({"webhook_url": "http://127.0.0.1/workflows/x?sig=canary", "channel": "x"}, "channel"),
    ],
)
def test_settings_errors_name_the_field(settings: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as info:
        TeamsSettings.model_validate(settings)
    assert field in str(info.value)
    assert_no_secret_leak(["canary"], str(info.value), info.value.errors(include_input=False))


def test_target_is_scheme_and_host_only(teams: FakeTeams) -> None:
    settings = TeamsSettings.model_validate({"webhook_url": teams.workflow_url})
    assert PROVIDER.target(settings) == "http://127.0.0.1"


def test_no_secret_leaks_anywhere(teams: FakeTeams, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    secrets = [teams.workflow_url, teams.sig, teams.connector_url, teams.connector_path]
    outputs: list[Any] = []
    scripted = [None, Response(429, "slow down", {"Retry-After": "1"}), Response(500, "boom"),
                Response(401, {"error": {"code": "Unauthorized"}}), Response(202, b"", delay=1.0)]
    for mode in MODES:
        for answer in scripted:
            if answer is not None:
                teams.enqueue(answer)
            try:
                outputs.append(deliver_once(PROVIDER, make_request(PROVIDER, settings_for(teams, mode),
                                                                   timeout=0.3)))
            except DeliveryFailure as exc:
                outputs.extend([exc, exc.message])
    assert sum(isinstance(output, Receipt) for output in outputs) == 2
    assert any(isinstance(output, DeliveryFailure) for output in outputs)
    assert any(record.name == "httpx" for record in caplog.records), "httpx logs requests at INFO"
    assert_no_secret_leak(secrets, *outputs, *caplog.records, caplog.text)


def test_registers_through_hook() -> None:
    registered: list[Any] = []
    cavra_notify_teams.cavra_register_providers(registered.append)
    assert registered == [PROVIDER] and PROVIDER.name == "teams"


@pytest.mark.parametrize("number", range(2))
def test_conformance(number: int) -> None:
    """The cases `cavra plugins check teams` runs."""
    check_conformance(cases()[number])
