"""Hostile callers and hostile metadata: browsers posting to an unauthenticated loopback server, weak
API tokens, secrets and private names in keys, terminal escapes in a schedule id."""

from __future__ import annotations

import json
import threading
import types
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict

pytest.importorskip("fastapi")

from fastapi.testclient import TestClient  # noqa: E402

from cavra_notify import hookimpl  # noqa: E402
from cavra_notify.api import create_app  # noqa: E402
from cavra_notify.cli import main  # noqa: E402
from cavra_notify.errors import ConfigError  # noqa: E402
from cavra_notify.plugins import PluginInfo, Registry, reset_registry  # noqa: E402
from cavra_notify.provider import DeliveryRequest, Provider, Receipt  # noqa: E402

from .conftest import NOW_ISO, ROOT  # noqa: E402

N = "/runtime/go-pilot/rollback-drill-notifications"
SCHEDULE = "/runtime/go-pilot/rollback-drill-schedule"


def canary(prefix: str) -> str:
    return prefix + "canary" + uuid.uuid4().hex


class CountSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Sent:
    def __init__(self) -> None:
        self.count = 0
        self.lock = threading.Lock()

    def deliver(self, request: DeliveryRequest) -> Receipt:
        with self.lock:
            self.count += 1
        return Receipt(200)


@pytest.fixture
def sent() -> Iterator[Sent]:
    state = Sent()

    @hookimpl
    def cavra_register_providers(register: Callable[[Provider], None]) -> None:
        register(Provider("counting", CountSettings, state.deliver))

    registry = Registry()
    registry.add(types.SimpleNamespace(cavra_register_providers=cavra_register_providers),
                 PluginInfo("counting", "counting"))
    reset_registry(registry)
    yield state
    reset_registry(None)


def write(path: Path, document: Any) -> str:
    path.write_text(document if isinstance(document, str) else json.dumps(document))
    return str(path)


def environment(tmp_path: Path, config: dict[str, Any], schedule: dict[str, Any] | None = None) -> dict[str, str]:
    if schedule is None:
        schedule = json.loads((ROOT / "examples" / "schedule.json").read_text())
        schedule.update(notification_providers=["counting"], owner_routes={})
    return {"CAVRA_GO_BACKEND_MODE": "promoted",
            "CAVRA_GO_ROLLBACK_DRILL_HISTORY": str(ROOT / "examples" / "history.json"),
            "CAVRA_GO_ROLLBACK_DRILL_SCHEDULE": write(tmp_path / "schedule.json", schedule),
            "CAVRA_CONNECTOR_CONFIG": write(tmp_path / "connectors.json", config)}


@pytest.fixture
def open_loopback(tmp_path: Path, sent: Sent) -> Iterator[TestClient]:
    """``cavra serve --allow-unauthenticated-loopback`` without a token, called from 127.0.0.1."""
    env = environment(tmp_path, {"connectors": {"counting": {}}})
    app = create_app(env, str(tmp_path / "evidence.db"), allow_unauthenticated_loopback=True)
    with TestClient(app, client=("127.0.0.1", 51000)) as client:
        yield client


BODY = json.dumps({"provider": "all", "now": NOW_ISO}).encode()


@pytest.mark.parametrize("headers", [
    {"content-type": "text/plain", "origin": "https://evil.example"},
    {"content-type": "text/plain"},
    {"content-type": "application/x-www-form-urlencoded", "origin": "https://evil.example"},
    {},
], ids=["cross-origin-text-plain", "text-plain", "form", "no-content-type"])
def test_a_simple_cross_site_request_never_delivers(open_loopback: TestClient, sent: Sent,
                                                    headers: dict[str, str]) -> None:
    response = open_loopback.post(f"{N}/deliver", content=BODY, headers=headers)
    assert response.status_code == 415 and "application/json" in response.json()["error"]
    assert sent.count == 0


@pytest.mark.parametrize("origin", ["https://evil.example", "http://rebound.example:8000", "null",
                                    "http://127.0.0.1.evil.example"])
def test_a_foreign_origin_never_delivers(open_loopback: TestClient, sent: Sent, origin: str) -> None:
    response = open_loopback.post(f"{N}/deliver", content=BODY,
                                  headers={"content-type": "application/json", "origin": origin})
    assert response.status_code == 403 and "cross-origin" in response.json()["error"]
    assert sent.count == 0


@pytest.mark.parametrize("origin", [None, "http://127.0.0.1:8000", "http://localhost:8000", "http://[::1]:8000"])
def test_loopback_json_requests_still_deliver(open_loopback: TestClient, sent: Sent, origin: str | None) -> None:
    headers = {"content-type": "application/json", **({"origin": origin} if origin else {})}
    response = open_loopback.post(f"{N}/deliver", content=BODY, headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["outcome"] == "delivered" and sent.count == 2  # two owners


@pytest.mark.parametrize("token", ["0", "true", "2026", 2026, "a" * 40, "passwordpasswordpassword"])
def test_serve_refuses_a_short_or_guessable_api_token(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str], token: object) -> None:
    import uvicorn

    started: list[object] = []
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: started.append(args))
    for name, value in environment(tmp_path, {"connectors": {}, "api": {"token": token}}).items():
        monkeypatch.setenv(name, value)

    assert main(["serve", "--port", "8765"]) == 2
    out, err = capsys.readouterr()
    assert started == [] and out == ""
    assert err.count("\n") == 1 and err.startswith("cavra: error: api.token in ") and "long random" in err
    assert f" {token}" not in err.replace("api.token in", "")
    with pytest.raises(ConfigError):
        create_app({"CAVRA_CONNECTOR_CONFIG": str(tmp_path / "connectors.json")})


def test_a_long_random_token_is_accepted_and_scrubbed_from_responses(tmp_path: Path) -> None:
    token = canary("api-")
    env = environment(tmp_path, {"connectors": {}, "api": {"token": token}})
    with TestClient(create_app(env, str(tmp_path / "evidence.db"))) as client:
        echoed = client.post(f"{N}/plan", json={"now": NOW_ISO, "provider": token},
                             headers={"Authorization": f"Bearer {token}"})
    assert echoed.status_code in (400, 422) and token not in echoed.text and "[REDACTED]" in echoed.text


def test_public_routes_never_echo_a_rejected_key_or_a_deny_listed_name(tmp_path: Path, sent: Sent) -> None:
    slack = "xox" + "b-" + uuid.uuid4().hex
    schedule = json.loads((ROOT / "examples" / "schedule.json").read_text())
    schedule["owner_routes"] = {slack: {"providers": ["counting"], "notes": "Bearer abcdef"},
                                "Globex Oncall": {"providers": ["counting"], "host": "db01.corp.internal"}}
    env = environment(tmp_path, {"connectors": {"counting": {}}, "customer_denylist": ["Globex"]}, schedule)
    with TestClient(create_app(env, str(tmp_path / "evidence.db"))) as client:
        texts = [client.get(SCHEDULE, params={"now": NOW_ISO}).text,
                 client.get("/deployment/production-readiness", params={"now": NOW_ISO}).text]
    assert all("not public-safe" in text for text in texts), texts
    for text in texts:
        assert slack not in text and "globex" not in text.lower()
        assert "[<rejected key #1>]" in text and "[<rejected key #2>]" in text


def test_terminal_escapes_in_a_schedule_id_never_reach_the_terminal(tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    schedule = json.loads((ROOT / "examples" / "schedule.json").read_text())
    schedule["schedule_id"] = "drill\x1b[2J\x1b]0;owned\x07\r\x9b31m-red"
    argv = ["runtime", "go-rollback-drill-schedule", "--mode", "promoted",
            "--rollback-drill-schedule-path", write(tmp_path / "schedule.json", schedule),
            "--rollback-drill-history-path", str(ROOT / "examples" / "history.json"), "--now", NOW_ISO]
    main(argv)
    main([*argv, "--json"])
    out, err = capsys.readouterr()
    assert out + err, "something was printed"
    assert not any(ch in out + err for ch in "\x1b\x07\r\x9b")
