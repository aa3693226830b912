"""The ServiceNow provider through the real ``pysnow`` SDK against the local Table API fake."""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from cavra_notify_servicenow import PROVIDER, ServiceNowSettings, correlation_id
from cavra_notify_servicenow.conformance import cases
from cavra_notify_servicenow.fake import FakeServiceNow, error
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from cavra_notify.provider import DeliveryFailure, FailureClass, Receipt
from cavra_notify.testkit import Response, assert_no_secret_leak, closed_port, deliver_once, make_request
from cavra_notify.testkit.conformance import check_conformance

USER = "cavra.bot"
ROUTE_KEY = "go_backend_python_fallback_monthly:release-governance:sample"
INCIDENTS = "/api/now/table/incident"


@pytest.fixture
def password() -> str:
    return "snow-" + "canary" + uuid.uuid4().hex


@pytest.fixture
def fake(password: str) -> Iterator[FakeServiceNow]:
    with FakeServiceNow(user=USER, password=password) as snow:
        yield snow


def settings(url: str, password: str, **extra: Any) -> dict[str, Any]:
    return {"instance_url": url, "user": USER, "password": password, **extra}


def deliver(url: str, password: str, *, timeout: float = 5.0, **extra: Any) -> Receipt:
    request = make_request(PROVIDER, settings(url, password, **extra), route_key=ROUTE_KEY, timeout=timeout)
    receipt = deliver_once(PROVIDER, request)
    assert isinstance(receipt, Receipt)
    return receipt


def failure_of(url: str, password: str, *, timeout: float = 5.0, **extra: Any) -> DeliveryFailure:
    with pytest.raises(DeliveryFailure) as info:
        deliver(url, password, timeout=timeout, **extra)
    return info.value


def test_creates_an_incident_with_correlation_id(fake: FakeServiceNow, password: str) -> None:
    receipt = deliver(fake.url, password, assignment_group="Platform Operations",
                      extra_fields={"urgency": "2", "category": "software"})

    (record,) = fake.in_table("incident")
    assert receipt.status_code == 201
    assert dict(receipt.details) == {"sys_id": record.sys_id, "number": "INC0010001", "action": "created"}
    assert re.fullmatch(r"[0-9a-f]{32}", record.sys_id)
    fields = record.fields
    assert fields["correlation_id"] == ROUTE_KEY
    assert fields["correlation_display"] == "cavra-notify"
    assert fields["short_description"] == "CAVRA Go rollback drill schedule critical (release-governance)"
    assert "Runbook: docs/go-backend-rollback-drill-scheduling.md" in fields["description"]
    assert "- next_due_at: 2026-06-20T15:40:00Z" in fields["description"]
    assert fields["assignment_group"] == "Platform Operations"
    assert (fields["urgency"], fields["category"]) == ("2", "software")
    (query,) = [r for r in fake.requests if r.method == "GET"]
    assert query.query["sysparm_query"] == [f"active=true^correlation_id={ROUTE_KEY}^ORDERBYDESCsys_created_on"]
    (create,) = [r for r in fake.requests if r.method == "POST"]
    assert "sysparm_query" not in create.query, "the create must not carry the lookup's parameters"


def test_second_delivery_reuses_the_record_with_a_work_note(fake: FakeServiceNow, password: str) -> None:
    first = deliver(fake.url, password)
    second = deliver(fake.url, password)

    assert dict(second.details) == {**first.details, "action": "reused"}
    assert second.status_code == 200
    (record,) = fake.in_table("incident")
    assert len(record.work_notes) == 1
    assert record.work_notes[0].startswith("Repeated notification: CAVRA Go rollback drill schedule critical")
    assert [r.method for r in fake.requests if r.path.startswith(INCIDENTS + "/")] == ["PATCH"]


def test_existing_active_record_is_reused(fake: FakeServiceNow, password: str) -> None:
    existing = fake.add_record(correlation_id=ROUTE_KEY, short_description="opened by hand")
    fake.add_record(correlation_id="another-route")

    receipt = deliver(fake.url, password)

    assert receipt.details["sys_id"] == existing.sys_id
    assert receipt.details["action"] == "reused"
    assert len(fake.in_table("incident")) == 2
    assert existing.work_notes


def test_closed_record_is_not_reused(fake: FakeServiceNow, password: str) -> None:
    first = deliver(fake.url, password)
    fake.close_record(str(first.details["sys_id"]))

    second = deliver(fake.url, password)

    assert second.details["action"] == "created"
    assert second.details["number"] == "INC0010002"
    assert len(fake.in_table("incident")) == 2


def test_configured_table(fake: FakeServiceNow, password: str) -> None:
    receipt = deliver(fake.url, password, table="problem")
    assert receipt.details["number"] == "PRB0010001"
    assert fake.in_table("problem") and not fake.in_table("incident")


def test_unknown_table_is_a_client_error_with_servicenow_message(fake: FakeServiceNow, password: str) -> None:
    failure = failure_of(fake.url, password, table="u_no_such_table")
    assert failure.failure_class is FailureClass.CLIENT_ERROR
    assert failure.status_code == 400
    assert "Invalid table u_no_such_table" in failure.message


def test_forbidden_with_servicenow_error_body_is_auth(fake: FakeServiceNow, password: str) -> None:
    denied = error(403, "Operation Failed", "ACL Exception Insert Failed due to security constraints")
    fake.script("POST", INCIDENTS, denied)
    failure = failure_of(fake.url, password)
    assert failure.failure_class is FailureClass.AUTH
    assert failure.status_code == 403
    assert "ACL Exception Insert Failed" in failure.message
    assert fake.records == {}


def test_wrong_password_is_auth(fake: FakeServiceNow, password: str) -> None:
    wrong = "snow-" + "canary" + uuid.uuid4().hex
    failure = failure_of(fake.url, wrong)
    assert failure.failure_class is FailureClass.AUTH
    assert failure.status_code == 401
    assert "User Not Authenticated" in failure.message
    assert_no_secret_leak([wrong, password], failure)


def test_rate_limited_with_retry_after(fake: FakeServiceNow, password: str) -> None:
    fake.script("GET", INCIDENTS, Response(429, {"error": {"message": "Too many requests"}, "status": "failure"},
                                           headers={"Retry-After": "12"}))
    started = time.monotonic()
    failure = failure_of(fake.url, password)
    assert failure.failure_class is FailureClass.RATE_LIMITED
    assert failure.retry_after == 12
    assert time.monotonic() - started < 2
    assert len(fake.receiver.requests_to(INCIDENTS)) == 1, "no retry inside the transport"


def test_server_error_then_success_on_the_next_attempt(fake: FakeServiceNow, password: str) -> None:
    fake.script("POST", INCIDENTS, Response(503, "<html>Service Unavailable</html>"))
    failure = failure_of(fake.url, password)
    assert failure.failure_class is FailureClass.SERVER_ERROR
    assert failure.status_code == 503
    assert fake.records == {}

    receipt = deliver(fake.url, password)
    assert receipt.details["action"] == "created"
    assert len(fake.in_table("incident")) == 1


def test_slow_answer_is_a_timeout(fake: FakeServiceNow, password: str) -> None:
    fake.script("GET", INCIDENTS, Response(200, {"result": []}, delay=1.5))
    started = time.monotonic()
    failure = failure_of(fake.url, password, timeout=0.3)
    assert failure.failure_class is FailureClass.TIMEOUT
    assert time.monotonic() - started < 1.2


def test_create_that_timed_out_is_reused_on_the_next_attempt(fake: FakeServiceNow, password: str) -> None:
    fake.delay_next("POST", INCIDENTS, 1.5)
    failure = failure_of(fake.url, password, timeout=0.5)
    assert failure.failure_class is FailureClass.TIMEOUT
    time.sleep(1.2)  # the fake stored the record; only the answer was lost

    receipt = deliver(fake.url, password)
    assert receipt.details["action"] == "reused"
    assert len(fake.in_table("incident")) == 1


def test_connection_refused(password: str) -> None:
    failure = failure_of(f"http://127.0.0.1:{closed_port()}", password)
    assert failure.failure_class is FailureClass.CONNECTION


def test_hibernating_instance_html_is_a_server_error(fake: FakeServiceNow, password: str) -> None:
    fake.script("GET", INCIDENTS, Response(200, "<html><body>Your instance is hibernating</body></html>"))
    failure = failure_of(fake.url, password)
    assert failure.failure_class is FailureClass.SERVER_ERROR
    assert "unexpected body" in failure.message


def test_record_without_sys_id_is_a_server_error(fake: FakeServiceNow, password: str) -> None:
    fake.script("POST", INCIDENTS, Response(201, {"result": {"number": "INC0000001"}}))
    failure = failure_of(fake.url, password)
    assert failure.failure_class is FailureClass.SERVER_ERROR


def test_failures_do_not_chain_transport_exceptions(fake: FakeServiceNow, password: str) -> None:
    fake.script("GET", INCIDENTS, Response(500, {"error": {"message": "boom"}, "status": "failure"}))
    failure = failure_of(fake.url, password)
    assert failure.__cause__ is None and failure.__context__ is None


def test_no_secret_in_receipts_errors_or_logs(
    fake: FakeServiceNow, password: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    outputs: list[Any] = [deliver(fake.url, password), deliver(fake.url, password)]
    scenarios: list[Callable[[], None]] = [
        lambda: fake.script("GET", INCIDENTS, error(403, "Operation Failed", "ACL")),
        lambda: fake.script("GET", INCIDENTS, Response(429, {}, headers={"Retry-After": "2"})),
        lambda: fake.script("PATCH", INCIDENTS + "/" + str(outputs[0].details["sys_id"]), Response(502, "bad")),
        lambda: fake.script("GET", INCIDENTS, Response(200, {"result": []}, delay=1.0)),
        lambda: fake.script("GET", INCIDENTS, Response(200, "not json")),
    ]
    for arrange in scenarios:
        arrange()
        outputs.append(failure_of(fake.url, password, timeout=0.3))
    outputs.append(failure_of(f"http://127.0.0.1:{closed_port()}", password))
    outputs.append(failure_of(fake.url, "snow-" + "canary" + uuid.uuid4().hex))

    assert any(r.name.startswith("pysnow") for r in caplog.records), "pysnow logs at DEBUG"
    assert_no_secret_leak([password], *outputs, *caplog.records)


def test_settings_parse_the_instance_url(password: str) -> None:
    parsed = ServiceNowSettings.model_validate(settings("https://acme.service-now.com/", password))
    assert (parsed.host, parsed.use_ssl) == ("acme.service-now.com", True)
    local = ServiceNowSettings.model_validate(settings("http://127.0.0.1:8443", password))
    assert (local.host, local.use_ssl) == ("127.0.0.1:8443", False)
    assert PROVIDER.target(parsed) == "https://acme.service-now.com"


@pytest.mark.parametrize(
    "url", ["acme.service-now.com", "https://acme.service-now.com/api/now", "https://user:{pw}@acme.service-now.com"]
)
def test_settings_reject_bad_instance_urls_without_echoing_secrets(url: str, password: str) -> None:
    with pytest.raises(ValidationError) as info:
        ServiceNowSettings.model_validate(settings(url.format(pw=password), password))
    assert "instance_url" in str(info.value)
    assert_no_secret_leak([password], str(info.value))


def test_settings_reject_extra_fields_that_the_plugin_owns(password: str) -> None:
    with pytest.raises(ValidationError, match="correlation_id"):
        ServiceNowSettings.model_validate(
            settings("https://acme.service-now.com", password, extra_fields={"correlation_id": "x"})
        )


def test_settings_reject_odd_table_names(password: str) -> None:
    with pytest.raises(ValidationError, match="table"):
        ServiceNowSettings.model_validate(settings("https://acme.service-now.com", password, table="../sys_user"))


@given(st.text(min_size=1, max_size=300))
def test_correlation_ids_fit_and_are_deterministic(key: str) -> None:
    value = correlation_id(key)
    assert value == correlation_id(key)
    assert 0 < len(value) <= 100
    assert re.fullmatch(r"[A-Za-z0-9_.:-]+", value)


@given(st.text(min_size=1, max_size=200), st.text(min_size=1, max_size=200))
def test_different_route_keys_get_different_correlation_ids(a: str, b: str) -> None:
    if a != b:
        assert correlation_id(a) != correlation_id(b)


def test_plain_route_key_is_the_correlation_id() -> None:
    assert correlation_id(ROUTE_KEY) == ROUTE_KEY


def test_entry_point_registers_the_provider() -> None:
    from importlib.metadata import entry_points

    import cavra_notify_servicenow

    (entry,) = [e for e in entry_points(group="cavra_notify") if e.name == "servicenow"]
    assert entry.load() is cavra_notify_servicenow
    registered: list[Any] = []
    cavra_notify_servicenow.cavra_register_providers(register=registered.append)
    assert registered == [PROVIDER]


@pytest.mark.parametrize("number", range(1))
def test_conformance(number: int) -> None:
    """The cases `cavra plugins check servicenow` runs."""
    check_conformance(cases()[number])
