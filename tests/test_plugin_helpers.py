"""The plugin helpers of the public contract: typed request records, URL setting types, the
"expect success" classifier, exception messages without raw text, the ticketing dedupe flow and
``cavra plugins check``."""

from __future__ import annotations

import ast
import json
import types
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, SecretStr, ValidationError

import cavra_notify
from cavra_notify import (
    DeliveryFailure,
    DeliveryRequest,
    Event,
    FailureClass,
    HttpUrl,
    Message,
    OriginUrl,
    Provider,
    Receipt,
    Route,
    SecretHttpUrl,
    ServerUrl,
    classify_exception,
    comment_or_create,
    error_code,
    expect_success,
    hookimpl,
    stable_key,
)
from cavra_notify.cli import main
from cavra_notify.plugins import PluginInfo, Registry, reset_registry
from cavra_notify.provider import secret_field_names
from cavra_notify.testkit import ConformanceCase, Response, make_request

from .conftest import NOW_ISO, ROOT

EX = ROOT / "examples"
PLUGINS = ROOT / "plugins"


def plan_json(capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    code = main(["runtime", "go-rollback-drill-notification-plan", "--mode", "promoted", "--json",
                 "--rollback-drill-history-path", str(EX / "history.json"),
                 "--rollback-drill-schedule-path", str(EX / "schedule.json"), "--now", NOW_ISO])
    assert code == 0
    plan: dict[str, Any] = json.loads(capsys.readouterr().out)
    return plan


# --- typed request records ---------------------------------------------------------------------

def test_route_message_and_event_json_are_the_plan_dicts_byte_for_byte(capsys: pytest.CaptureFixture[str]) -> None:
    plan = plan_json(capsys)
    routes = [d["route"] for d in plan["route_decisions"]]
    assert routes
    for route in routes:
        assert json.dumps(Route.from_json(route).to_json()) == json.dumps(route)
    message = Message(**plan["message"])
    assert json.dumps(message.to_json()) == json.dumps(plan["message"])
    event = {  # the event the core built for every request before it was typed
        "event_type": "cavra.go_backend.rollback_drill.notification",
        "event_id": "evt-" + plan["plan_id"].removeprefix("plan-"),
        "plan_id": plan["plan_id"], "schedule_id": plan["schedule_id"], "occurrence": plan["occurrence"],
        "status": plan["status"], "alert_level": plan["alert_level"], "next_due_at": plan["next_due_at"],
        "generated_at": plan["generated_at"], "message": plan["message"],
    }
    typed = Event.from_json(event)
    assert typed.message == message and isinstance(typed.message, Message)
    assert json.dumps(typed.to_json()) == json.dumps(event)
    request = DeliveryRequest("hook", None, message, typed, Route.from_json(routes[0]), "dk-1", 1.0)
    assert request.event_json() == {**event, "route": routes[0], "delivery_key": "dk-1"}


def test_request_records_are_frozen() -> None:
    route = Route("k", "owner", "webhook", 30, "lead")
    with pytest.raises(AttributeError):
        route.owner = "someone else"  # type: ignore[misc]


# --- URL setting types -------------------------------------------------------------------------

class Urls(BaseModel):
    plain: HttpUrl = "https://example.invalid/x"
    secret: SecretHttpUrl | None = None
    server: ServerUrl = "https://jira.example.invalid"
    origin: OriginUrl = "https://snow.example.invalid"


@pytest.mark.parametrize("field", ["plain", "secret", "server", "origin"])
@pytest.mark.parametrize("value", ["ftp://example.invalid/", "https://", "example.invalid", "http://[::1"])
def test_every_url_type_refuses_what_is_not_http_with_one_message(field: str, value: str) -> None:
    with pytest.raises(ValidationError, match="must be an http:// or https:// URL with a host"):
        Urls.model_validate({field: value})


def test_server_and_origin_urls_normalise_and_refuse_credentials() -> None:
    urls = Urls(server="https://jira.example.invalid/", origin="https://snow.example.invalid:8443/")
    assert urls.server == "https://jira.example.invalid" and urls.origin == "https://snow.example.invalid:8443"
    for field in ("server", "origin"):
        for value in ("https://u:p@h.invalid", "https://h.invalid/?q=1", "https://h.invalid/#f"):
            with pytest.raises(ValidationError, match="must not carry credentials"):
                Urls.model_validate({field: value})
    with pytest.raises(ValidationError, match="scheme and host only"):
        Urls(origin="https://snow.example.invalid/api")


def test_a_secret_url_is_a_secret_field_even_when_optional() -> None:
    assert secret_field_names(Urls) == ["secret"]
    assert isinstance(Urls(secret="https://hooks.example.invalid/T0/abc").secret, SecretStr)  # type: ignore[arg-type]


# --- expect_success, error_code, classify_exception --------------------------------------------

@pytest.mark.parametrize(("status", "ok"), [(200, None), (204, None), (202, {200, 202}), (200, {200})])
def test_expect_success_returns_on_success(status: int, ok: set[int] | None) -> None:
    expect_success(status, {}, "send", ok=ok)


@pytest.mark.parametrize(("status", "expected"), [
    (302, FailureClass.CLIENT_ERROR), (101, FailureClass.CLIENT_ERROR), (400, FailureClass.CLIENT_ERROR),
    (401, FailureClass.AUTH), (429, FailureClass.RATE_LIMITED), (503, FailureClass.SERVER_ERROR),
    (504, FailureClass.TIMEOUT),
])
def test_expect_success_classifies_everything_else(status: int, expected: FailureClass) -> None:
    with pytest.raises(DeliveryFailure) as raised:
        expect_success(status, {"retry-after": "7"}, "send")
    assert raised.value.failure_class is expected and raised.value.status_code == status
    assert f"HTTP {status}" in raised.value.message
    assert raised.value.retry_after == (7.0 if status >= 400 else None)


def test_expect_success_with_an_ok_set_refuses_other_2xx() -> None:
    with pytest.raises(DeliveryFailure) as raised:
        expect_success(204, None, "Slack incoming webhook", ok={200})
    assert raised.value.failure_class is FailureClass.CLIENT_ERROR


@pytest.mark.parametrize(("body", "code"), [
    ("channel_not_found", "channel_not_found"), (b"invalid_token\n", "invalid_token"),
    ('{"ok": false, "error": "ratelimited"}', "ratelimited"), ({"error": {"code": "BadSig"}}, "BadSig"),
    ({"error": "no spaces allowed here"}, None), ("<html>oops</html>", None), ("x" * 65, None), (None, None),
    (b"\xff\xfe", None), ([1, 2], None),
])
def test_error_code_keeps_only_a_short_token(body: Any, code: str | None) -> None:
    assert error_code(body) == code


def test_expect_success_names_the_body_code_and_nothing_else() -> None:
    secret = "sk-" + "canary" * 3
    with pytest.raises(DeliveryFailure) as raised:
        expect_success(403, None, "Teams", body={"error": {"code": "Denied", "message": f"bad key {secret}"}})
    assert raised.value.message == "Teams (Denied) failed with HTTP 403" and secret not in str(raised.value)


def test_an_unexpected_exception_is_named_by_type_only() -> None:
    failure = classify_exception(RuntimeError("token s3cr3t-canary was refused"))
    assert failure.failure_class is FailureClass.PLUGIN_ERROR
    assert failure.message == "unexpected RuntimeError" and "s3cr3t" not in str(failure)
    refused = classify_exception(ConnectionRefusedError("at s3cr3t"))
    assert refused.message == "ConnectionRefusedError: connection failed"


# --- the ticketing dedupe flow -----------------------------------------------------------------

def test_stable_key_keeps_plain_keys_and_hashes_changed_ones() -> None:
    assert stable_key("sched:owner:jira", prefix="cavra-route-", limit=255, digest_chars=12) == (
        "cavra-route-sched:owner:jira")
    spaced = stable_key("sched:a b:jira", limit=100, digest_chars=16)
    assert spaced.startswith("sched:a-b:jira-") and len(spaced) == len("sched:a-b:jira-") + 16
    long_keys = [stable_key("k" * 200 + suffix, limit=100, digest_chars=16) for suffix in ("1", "2")]
    assert all(len(key) == 100 for key in long_keys) and long_keys[0] != long_keys[1]


class Records:
    """An in-memory ticketing service for :func:`comment_or_create`."""

    def __init__(self) -> None:
        self.open: dict[str, str] = {}
        self.calls: list[tuple[str, ...]] = []

    def find_open(self, key: str) -> str | None:
        return self.open.get(key)

    def comment(self, record: str, text: str) -> Receipt:
        self.calls.append(("comment", record, text))
        return Receipt(200, details={"id": record, "action": "commented"})

    def create(self, key: str, summary: str, description: str) -> Receipt:
        self.calls.append(("create", key, summary, description))
        self.open[key] = f"REC-{len(self.open) + 1}"
        return Receipt(201, details={"id": self.open[key], "action": "created"})


def test_comment_or_create_creates_once_then_comments() -> None:
    provider = Provider("toy", Urls, lambda request: Receipt())
    request = make_request(provider, {})
    records = Records()
    first = comment_or_create(records, request, "key-1", summary_limit=20, ellipsis="…", bold=lambda t: f"*{t}*")
    second = comment_or_create(records, request, "key-1", summary_limit=20)
    assert first.details["action"] == "created" and second.details == {"id": "REC-1", "action": "commented"}
    _, key, summary, description = records.calls[0]
    assert key == "key-1" and len(summary) == 20 and summary.endswith("…")
    assert f"*Owner:* {request.route.owner}" in description and "*Facts:*" in description
    assert records.calls[1][2].startswith(f"Repeated notification: {request.message.title}\n\n")


# --- the plugins use only the public contract --------------------------------------------------

def provider_modules() -> list[Path]:
    return sorted(PLUGINS.glob("*/cavra_notify_*/*.py"))


def test_plugins_import_only_the_public_contract() -> None:
    # fakes and conformance cases use the test kit; the secret log filter moves into the core (issue 13)
    allowed = {"cavra_notify", "cavra_notify.testkit", "cavra_notify.redact"}
    for path in provider_modules():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("cavra_notify."):
                assert node.module in allowed, f"{path.relative_to(ROOT)} imports {node.module}"
                if node.module == "cavra_notify.testkit":
                    assert path.name in ("fake.py", "conformance.py"), path


def test_each_provider_plugin_module_is_under_250_lines() -> None:
    for init in sorted(PLUGINS.glob("*/cavra_notify_*/__init__.py")):
        assert len(init.read_text().splitlines()) < 250, init


def test_the_public_names_resolve_lazily() -> None:
    for name in cavra_notify.__all__:
        assert getattr(cavra_notify, name) is not None
    with pytest.raises(AttributeError):
        cavra_notify.nothing_like_this  # noqa: B018


# --- cavra plugins check -----------------------------------------------------------------------

def retrying_plugin() -> types.ModuleType:
    """A plugin whose provider retries a failing request three times on its own."""
    import httpx

    class Settings(BaseModel):
        base_url: str
        token: SecretStr

    def deliver(request: DeliveryRequest) -> Receipt:
        for _ in range(3):
            try:
                answer = httpx.post(request.settings.base_url, timeout=request.timeout)
            except httpx.HTTPError as exc:
                raise classify_exception(exc) from None
            if answer.status_code < 500:
                break
        expect_success(answer.status_code, answer.headers, "send")
        return Receipt(answer.status_code)

    provider = Provider("retrier", Settings, deliver)
    module = types.ModuleType("retrier_plugin")

    @hookimpl
    def cavra_register_providers(register: Any) -> None:
        register(provider)

    @hookimpl
    def cavra_conformance_cases() -> list[ConformanceCase]:
        return [ConformanceCase(provider, lambda url, canary: {"base_url": url, "token": canary},
                                lambda request: Response(200, {"ok": True}), timeout=0.3)]

    module.cavra_register_providers = cavra_register_providers  # type: ignore[attr-defined]
    module.cavra_conformance_cases = cavra_conformance_cases  # type: ignore[attr-defined]
    return module


def test_plugins_check_runs_the_conformance_cases_of_an_installed_plugin(
        capsys: pytest.CaptureFixture[str]) -> None:
    reset_registry(None)
    try:
        assert main(["plugins", "check", "webhook", "--json"]) == 0
        report = json.loads(capsys.readouterr().out)
        assert report == {"plugin": "webhook", "passed": True,
                          "cases": [{"provider": "webhook", "passed": True, "problems": []}]}
        assert main(["plugins", "check", "no-such-plugin"]) == 2
        assert "plugin 'no-such-plugin' is not installed" in capsys.readouterr().err
    finally:
        reset_registry(None)


def test_plugins_check_fails_a_plugin_that_retries_on_its_own(capsys: pytest.CaptureFixture[str]) -> None:
    registry = Registry()
    registry.add(retrying_plugin(), PluginInfo("retrier", "retrier-dist", "0"))
    reset_registry(registry)
    try:
        assert main(["plugins", "check", "retrier"]) == 1
    finally:
        reset_registry(None)
    out = capsys.readouterr().out
    assert "plugin retrier: FAILED" in out
    assert "[503] one deliver sent 3 requests to a service that fails every request" in out
