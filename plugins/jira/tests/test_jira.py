"""The Jira provider through the real ``jira`` SDK against the local Jira fake."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from cavra_notify_jira import DRILL_LABEL, PROVIDER, JiraSettings, route_label
from cavra_notify_jira.conformance import cases
from cavra_notify_jira.fake import FakeJira
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from cavra_notify.provider import DeliveryFailure, FailureClass, Receipt
from cavra_notify.testkit import Response, assert_no_secret_leak, closed_port, deliver_once, make_request
from cavra_notify.testkit.conformance import check_conformance

EMAIL = "cavra-bot@example.invalid"
ROUTE_KEY = "go_backend_python_fallback_monthly:release-governance:sample"
LABEL = route_label(ROUTE_KEY)


@pytest.fixture
def token() -> str:
    return "jira-" + "canary" + uuid.uuid4().hex


@pytest.fixture
def fake(token: str) -> Iterator[FakeJira]:
    with FakeJira(email=EMAIL, api_token=token) as jira_fake:
        yield jira_fake


def settings(server: str, token: str, **extra: Any) -> dict[str, Any]:
    return {"server": server, "email": EMAIL, "api_token": token, "project": "OPS", **extra}


def deliver(server: str, token: str, *, timeout: float = 5.0, **extra: Any) -> Receipt:
    request = make_request(PROVIDER, settings(server, token, **extra), route_key=ROUTE_KEY, timeout=timeout)
    receipt = deliver_once(PROVIDER, request)
    assert isinstance(receipt, Receipt)
    return receipt


def failure_of(server: str, token: str, *, timeout: float = 5.0, **extra: Any) -> DeliveryFailure:
    with pytest.raises(DeliveryFailure) as info:
        deliver(server, token, timeout=timeout, **extra)
    return info.value


def test_creates_issue_with_labels_summary_and_description(fake: FakeJira, token: str) -> None:
    receipt = deliver(fake.url, token, labels=["platform"])

    assert receipt.status_code == 201
    assert dict(receipt.details) == {"issue_key": "OPS-1", "action": "created"}
    issue = fake.issues["OPS-1"]
    assert issue.labels == ["platform", LABEL, DRILL_LABEL]
    assert issue.fields["issuetype"] == {"name": "Task"}
    assert issue.fields["summary"] == "CAVRA Go rollback drill schedule critical (release-governance)"
    description = issue.fields["description"]
    assert "needs_attention; next drill due 2026-06-20T15:40:00Z" in description
    assert "*Runbook:* docs/go-backend-rollback-drill-scheduling.md" in description
    assert "* schedule_id: go_backend_python_fallback_monthly" in description
    searches = [r for r in fake.requests if r.path == "/rest/api/2/search"]
    assert len(searches) == 1
    assert f'labels = "{LABEL}"' in searches[0].query["jql"][0]


def test_cloud_uses_the_search_jql_api(token: str) -> None:
    with FakeJira(email=EMAIL, api_token=token, deployment="Cloud") as cloud:
        receipt = deliver(cloud.url, token, deployment="cloud")
        paths = [r.path for r in cloud.requests]
    assert receipt.details["action"] == "created"
    assert "/rest/api/2/search/jql" in paths
    assert "/rest/api/2/search" not in paths


def test_server_mode_against_cloud_reports_the_removed_api(token: str) -> None:
    with FakeJira(email=EMAIL, api_token=token, deployment="Cloud") as cloud:
        failure = failure_of(cloud.url, token, deployment="server")
    assert failure.failure_class is FailureClass.CLIENT_ERROR
    assert failure.status_code == 410
    assert "/rest/api/3/search/jql" in failure.message


def test_second_delivery_comments_on_the_open_issue(fake: FakeJira, token: str) -> None:
    first = deliver(fake.url, token)
    second = deliver(fake.url, token)

    assert dict(second.details) == {"issue_key": first.details["issue_key"], "action": "commented"}
    assert list(fake.issues) == ["OPS-1"]
    assert len(fake.issues["OPS-1"].comments) == 1
    assert "Repeated notification" in fake.issues["OPS-1"].comments[0]


def test_existing_open_issue_with_the_label_gets_the_comment(fake: FakeJira, token: str) -> None:
    existing = fake.add_issue(labels=[LABEL, "manual"])
    other_route = fake.add_issue(labels=[route_label("another:route")])

    receipt = deliver(fake.url, token)

    assert dict(receipt.details) == {"issue_key": existing, "action": "commented"}
    assert len(fake.issues) == 2
    assert fake.issues[existing].comments and not fake.issues[other_route].comments


def test_resolved_issue_is_not_reused(fake: FakeJira, token: str) -> None:
    first = deliver(fake.url, token)
    fake.resolve(str(first.details["issue_key"]))

    second = deliver(fake.url, token)

    assert dict(second.details) == {"issue_key": "OPS-2", "action": "created"}


def test_field_errors_become_a_client_error_naming_the_fields(fake: FakeJira, token: str) -> None:
    fake.reject_next_create({"customfield_10010": "Team is required.", "priority": "Priority is invalid."})

    failure = failure_of(fake.url, token)

    assert failure.failure_class is FailureClass.CLIENT_ERROR
    assert failure.status_code == 400
    assert "customfield_10010: Team is required." in failure.message
    assert "priority: Priority is invalid." in failure.message
    assert fake.issues == {}


def test_unknown_issue_type_is_rejected_by_jira(fake: FakeJira, token: str) -> None:
    failure = failure_of(fake.url, token, issue_type="Epic Saga")
    assert failure.failure_class is FailureClass.CLIENT_ERROR
    assert "issuetype: valid issue type is required" in failure.message


def test_wrong_token_is_auth(fake: FakeJira, token: str) -> None:
    wrong = "jira-" + "canary" + uuid.uuid4().hex
    failure = failure_of(fake.url, wrong)
    assert failure.failure_class is FailureClass.AUTH
    assert failure.status_code == 401
    assert_no_secret_leak([wrong, token], failure)


def test_forbidden_is_auth(fake: FakeJira, token: str) -> None:
    fake.script("POST", "/rest/api/2/issue", Response(403, {"errorMessages": ["No permission"], "errors": {}}))
    failure = failure_of(fake.url, token)
    assert failure.failure_class is FailureClass.AUTH
    assert failure.status_code == 403


def test_rate_limited_with_retry_after_returns_at_once(fake: FakeJira, token: str) -> None:
    fake.script("GET", "/rest/api/2/search", Response(429, {"errorMessages": ["Rate limit exceeded."]},
                                                       headers={"Retry-After": "30"}))
    started = time.monotonic()
    failure = failure_of(fake.url, token)
    elapsed = time.monotonic() - started

    assert failure.failure_class is FailureClass.RATE_LIMITED
    assert failure.retry_after == 30
    assert elapsed < 2, "the SDK must not sleep and retry by itself"
    assert len(fake.receiver.requests_to("/rest/api/2/search")) == 1


def test_server_error_then_success_on_the_next_attempt(fake: FakeJira, token: str) -> None:
    fake.script("POST", "/rest/api/2/issue", Response(503, {"errorMessages": ["Service Unavailable"]},
                                                      headers={"Retry-After": "1"}))
    failure = failure_of(fake.url, token)
    assert failure.failure_class is FailureClass.SERVER_ERROR
    assert failure.status_code == 503
    assert len(fake.receiver.requests_to("/rest/api/2/issue")) == 1, "no retry inside the SDK"

    receipt = deliver(fake.url, token)
    assert dict(receipt.details) == {"issue_key": "OPS-1", "action": "created"}


def test_slow_answer_is_a_timeout(fake: FakeJira, token: str) -> None:
    fake.script("GET", "/rest/api/2/search", Response(200, {"issues": []}, delay=1.5))
    started = time.monotonic()
    failure = failure_of(fake.url, token, timeout=0.3)
    assert failure.failure_class is FailureClass.TIMEOUT
    assert time.monotonic() - started < 1.2


def test_create_that_timed_out_is_commented_on_next_attempt(fake: FakeJira, token: str) -> None:
    fake.delay_next("POST", "/rest/api/2/issue", 1.5)
    failure = failure_of(fake.url, token, timeout=0.5)
    assert failure.failure_class is FailureClass.TIMEOUT
    time.sleep(1.2)  # the fake stored the issue; only the answer was lost

    receipt = deliver(fake.url, token)
    assert dict(receipt.details) == {"issue_key": "OPS-1", "action": "commented"}
    assert list(fake.issues) == ["OPS-1"]


def test_connection_refused(token: str) -> None:
    failure = failure_of(f"http://127.0.0.1:{closed_port()}", token)
    assert failure.failure_class is FailureClass.CONNECTION


def test_malformed_success_body_is_a_server_error(fake: FakeJira, token: str) -> None:
    fake.script("GET", "/rest/api/2/search", Response(200, "<html>proxy login</html>"))
    failure = failure_of(fake.url, token)
    assert failure.failure_class is FailureClass.SERVER_ERROR


def test_failures_do_not_chain_sdk_exceptions(fake: FakeJira, token: str) -> None:
    fake.script("POST", "/rest/api/2/issue", Response(500, {"errorMessages": ["boom"]}))
    failure = failure_of(fake.url, token)
    assert failure.__cause__ is None and failure.__context__ is None


@pytest.fixture
def jira_debug_logs() -> Iterator[None]:
    jira_logger = logging.getLogger("jira")
    level = jira_logger.level
    jira_logger.setLevel(logging.DEBUG)
    yield
    jira_logger.setLevel(level)


@pytest.mark.usefixtures("jira_debug_logs")
def test_no_secret_in_receipts_errors_or_logs(
    fake: FakeJira, token: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    outputs: list[Any] = [deliver(fake.url, token), deliver(fake.url, token)]
    fake.reject_next_create({"summary": "bad"})
    fake.resolve("OPS-1")
    scenarios: list[Callable[[], None]] = [
        lambda: None,
        lambda: fake.script("GET", "/rest/api/2/search", Response(429, {}, headers={"Retry-After": "2"})),
        lambda: fake.script("POST", "/rest/api/2/issue", Response(503, {"errorMessages": ["down"]})),
        lambda: fake.script("GET", "/rest/api/2/search", Response(200, {"issues": []}, delay=1.0)),
    ]
    for arrange in scenarios:
        arrange()
        outputs.append(failure_of(fake.url, token, timeout=0.3))
    outputs.append(failure_of(f"http://127.0.0.1:{closed_port()}", token))
    outputs.append(failure_of(fake.url, "jira-" + "canary" + uuid.uuid4().hex))

    assert caplog.records, "the SDK and transport log at DEBUG; the check must see them"
    assert_no_secret_leak([token], *outputs, *caplog.records)
    assert logging.getLogger("jira").level == logging.DEBUG, "the plugin keeps the app's jira log level"


def test_settings_reject_credentials_in_the_url_without_echoing_them(token: str) -> None:
    with pytest.raises(ValidationError) as info:
        JiraSettings.model_validate(settings(f"https://bot:{token}@jira.example.invalid", token))
    assert "server" in str(info.value)
    assert_no_secret_leak([token], str(info.value))


def test_settings_reject_labels_with_spaces(token: str) -> None:
    with pytest.raises(ValidationError, match="without spaces"):
        JiraSettings.model_validate(settings("https://jira.example.invalid", token, labels=["two words"]))


def test_cloud_is_detected_from_the_host(token: str) -> None:
    cloud = JiraSettings.model_validate(settings("https://acme.atlassian.net", token))
    server = JiraSettings.model_validate(settings("https://jira.example.invalid/jira", token))
    assert cloud.is_cloud and not server.is_cloud
    assert PROVIDER.target(server) == "https://jira.example.invalid/jira"


@given(st.text(min_size=1, max_size=400))
def test_route_labels_are_valid_and_deterministic(key: str) -> None:
    label = route_label(key)
    assert label == route_label(key)
    assert 0 < len(label) <= 255
    assert not any(ch.isspace() for ch in label)


@given(st.text(min_size=1, max_size=300), st.text(min_size=1, max_size=300))
def test_different_route_keys_get_different_labels(a: str, b: str) -> None:
    if a != b:
        assert route_label(a) != route_label(b)


def test_entry_point_registers_the_provider() -> None:
    from importlib.metadata import entry_points

    import cavra_notify_jira

    (entry,) = [e for e in entry_points(group="cavra_notify") if e.name == "jira"]
    assert entry.load() is cavra_notify_jira
    registered: list[Any] = []
    cavra_notify_jira.cavra_register_providers(register=registered.append)
    assert registered == [PROVIDER]


@pytest.mark.parametrize("number", range(1))
def test_conformance(number: int) -> None:
    """The cases `cavra plugins check jira` runs."""
    check_conformance(cases()[number])
