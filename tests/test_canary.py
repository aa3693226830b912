"""Canary secrets in every connector never surface: evidence, stdout, stderr, logs, the store file.

Every secret is built at runtime and unique per test. Connectors: two real webhook connectors (URL
path token + HMAC signing secret, one URL read from a ``{"file": ...}`` ref) and a toy provider
whose token comes from ``{"env": ...}`` and which echoes it in its log records, its failure
messages and its exceptions. Scenarios cover success, failure, retry and exceptions.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
import types
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote

import cavra_notify_webhook
import pytest
from pydantic import BaseModel, ConfigDict, SecretStr

from cavra_notify import hookimpl
from cavra_notify.cli import main
from cavra_notify.plugins import PluginInfo, Registry, reset_registry
from cavra_notify.provider import DeliveryFailure, DeliveryRequest, FailureClass, Provider, Receipt
from cavra_notify.testkit import FakeReceiver, Request, Response, assert_no_secret_leak

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
TOKEN_VAR = "CAVRA_TEST_CANARY_TOY_TOKEN"
log = logging.getLogger("leaky_toy_sdk")


def canary(prefix: str) -> str:
    return prefix + "canary" + uuid.uuid4().hex


class LeakySettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    token: SecretStr
    mode: str = "retry-then-ok"


def leaky(request: DeliveryRequest) -> Receipt:
    """A badly behaved SDK wrapper: logs its token and puts it in every error it raises."""
    token = request.settings.token.get_secret_value()
    log.debug("connecting with token=%s", token)
    log.warning("Authorization: Bearer %s", token)
    try:
        raise ConnectionError(f"handshake failed for {token}")
    except ConnectionError:
        log.exception("SDK retry hint for %s", request.route.owner)
    mode = request.settings.mode
    if mode == "retry-then-ok" and request.attempt == 1:
        raise DeliveryFailure(FailureClass.SERVER_ERROR, f"server rejected key {token}", status_code=503)
    if mode == "raise":
        raise RuntimeError(f"SDK echo: bad token {token} ({quote(token, safe='')})")
    return Receipt(200, details={"echo": f"accepted {token}"})


def registry() -> Registry:
    @hookimpl
    def cavra_register_providers(register: Callable[[Provider], None]) -> None:
        register(Provider("leaky", LeakySettings, leaky))

    reg = Registry()
    reg.add(cavra_notify_webhook, PluginInfo("webhook", "cavra-notify-webhook", "0.1.0"))
    reg.add(types.SimpleNamespace(cavra_register_providers=cavra_register_providers), PluginInfo("leaky", "leaky"))
    return reg


@pytest.fixture(autouse=True)
def _registry() -> Iterator[None]:
    reset_registry(registry())
    yield
    reset_registry(None)


class Answers:
    """Answers the n-th attempt of each route (by its Idempotency-Key) with ``statuses[n]`` (last repeats)."""

    def __init__(self, *statuses: int) -> None:
        self.statuses, self.seen, self.lock = statuses, Counter[str](), threading.Lock()

    def __call__(self, request: Request) -> Response:
        with self.lock:
            key = request.header("Idempotency-Key") or ""
            status = self.statuses[min(self.seen[key], len(self.statuses) - 1)]
            self.seen[key] += 1
        return Response(status, {"error": "scripted"} if status >= 400 else {"ok": True})


class World:
    """The files of one run and every canary planted in them."""

    def __init__(self, tmp: Path, monkeypatch: pytest.MonkeyPatch, hook: FakeReceiver, hook_file: FakeReceiver,
                 leaky_mode: str) -> None:
        self.tmp = tmp
        path_token, file_path_token = canary("tok"), canary("tokf")
        signing, toy_token = canary("whsec-"), canary("toy-")
        url_file = tmp / "hook-url.secret"
        url_file.write_text(f"{hook_file.url}/hooks/{file_path_token}\n")
        monkeypatch.setenv(TOKEN_VAR, toy_token)
        self.secrets = [path_token, file_path_token, signing, toy_token]
        self.connectors = {
            "hook": {"provider": "webhook", "url": f"{hook.url}/hooks/{path_token}", "signing_secret": signing},
            "hook_file": {"provider": "webhook", "url": {"file": str(url_file)}},
            "leaky": {"provider": "leaky", "token": {"env": TOKEN_VAR}, "mode": leaky_mode},
        }
        schedule = json.loads((EXAMPLES / "schedule.json").read_text())
        schedule.update(notification_providers=list(self.connectors), owner_routes={})
        (tmp / "schedule.json").write_text(json.dumps(schedule))
        (tmp / "connectors.json").write_text(json.dumps({"connectors": self.connectors}))
        self.db = tmp / "evidence.db"

    def deliver_argv(self) -> list[str]:
        return ["runtime", "go-rollback-drill-notification-deliver", "--mode", "promoted",
                "--rollback-drill-schedule-path", str(self.tmp / "schedule.json"),
                "--rollback-drill-history-path", str(EXAMPLES / "history.json"),
                "--connector-config", str(self.tmp / "connectors.json"), "--evidence-db", str(self.db),
                "--now", "2026-12-20T00:00:00Z", "--retries", "1", "--timeout-seconds", "2", "--json"]

    def forms(self) -> list[str]:
        """Each canary as planted, URL-encoded and base64-encoded."""
        return [f for s in self.secrets for f in (s, quote(s, safe=""), base64.b64encode(s.encode()).decode())]

    def store_bytes(self) -> bytes:
        return b"".join(p.read_bytes() for p in self.tmp.glob("evidence.db*"))


@pytest.mark.parametrize(("hook_statuses", "leaky_mode", "outcome"), [
    ((200,), "ok", "delivered"),
    ((503, 200), "retry-then-ok", "delivered"),
    ((401,), "raise", "failed"),
    ((500,), "raise", "failed"),
], ids=["success", "retry", "auth-failure-and-exception", "server-failure-and-exception"])
def test_no_canary_anywhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
                            caplog: pytest.LogCaptureFixture, hook_statuses: tuple[int, ...], leaky_mode: str,
                            outcome: str) -> None:
    caplog.set_level(logging.DEBUG)
    with FakeReceiver(Answers(*hook_statuses)) as hook, FakeReceiver(Answers(*hook_statuses)) as hook_file:
        world = World(tmp_path, monkeypatch, hook, hook_file, leaky_mode)
        code = main(world.deliver_argv())
        delivered_paths = {r.path for r in hook.requests + hook_file.requests}
    out, err = capsys.readouterr()

    payload = json.loads(out)
    assert payload["outcome"] == outcome and code == {"delivered": 0, "failed": 4}[outcome]
    assert len(payload["deliveries"]) == 6  # 2 owners x 3 connectors
    assert any(world.secrets[0] in p for p in delivered_paths)  # the canary URL really was used
    if leaky_mode == "retry-then-ok":
        assert {len(e["attempts"]) for e in payload["deliveries"]} == {2}
    assert any(r.name == "leaky_toy_sdk" for r in caplog.records)

    assert main(["evidence", "list", "--json", "--evidence-db", str(world.db)]) == 0
    assert main(["evidence", "export", "go_backend_python_fallback_monthly", "--evidence-db", str(world.db)]) == 0
    listed, list_err = capsys.readouterr()
    messages = [r.getMessage() for r in caplog.records]
    assert_no_secret_leak(world.forms(), out, err, caplog.text, messages, listed, list_err, world.store_bytes())


def test_connectors_check_never_prints_a_secret(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    with FakeReceiver() as hook, FakeReceiver() as hook_file:
        world = World(tmp_path, monkeypatch, hook, hook_file, "ok")
    config = str(tmp_path / "connectors.json")

    assert main(["connectors", "check", "--json", "--connector-config", config]) == 0
    assert main(["connectors", "check", "--connector-config", config]) == 0
    out, err = capsys.readouterr()
    report = json.loads(out[: out.index("\n}\n") + 2])
    assert {c["connector"]: c["valid"] for c in report["connectors"]} == {"hook": True, "hook_file": True,
                                                                         "leaky": True}
    assert {c["connector"]: c["secret_fields"] for c in report["connectors"]}["hook"] == ["url", "signing_secret"]
    assert_no_secret_leak(world.forms(), out, err)


def test_a_missing_env_secret_names_connector_and_field(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    with FakeReceiver() as hook, FakeReceiver() as hook_file:
        world = World(tmp_path, monkeypatch, hook, hook_file, "ok")
        monkeypatch.delenv(TOKEN_VAR)
        config = str(tmp_path / "connectors.json")

        assert main(["connectors", "check", "--json", "--connector-config", config]) == 2
        out, err = capsys.readouterr()
        rows = {c["connector"]: c for c in json.loads(out)["connectors"]}
        assert rows["leaky"]["valid"] is False and rows["hook"]["valid"] is True
        problem = f"connector 'leaky' field 'token': environment variable {TOKEN_VAR} is not set"
        assert rows["leaky"]["problem"] == problem

        assert main(world.deliver_argv()) == 2
        out2, err2 = capsys.readouterr()
        assert hook.requests == [] and hook_file.requests == []
    assert out2 == ""
    assert err2 == f"cavra: error: {problem}\n"
    assert_no_secret_leak(world.forms(), out, err, out2, err2)
