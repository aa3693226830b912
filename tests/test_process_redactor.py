"""One redactor per process: two concurrent API deliveries to two connectors with different canary
secrets, whose plugins log their secrets during and after the deliveries, leak neither anywhere.

Before the process redactor, each delivery replaced the root handlers' log filter with its own
secrets: the delivery that started last hid the other's secrets from the filter, so the other's log
lines (late ones above all) went out raw.
"""

from __future__ import annotations

import json
import logging
import threading
import types
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict, SecretStr

pytest.importorskip("fastapi")

from fastapi.testclient import TestClient  # noqa: E402

from cavra_notify import hookimpl  # noqa: E402
from cavra_notify.api import create_app  # noqa: E402
from cavra_notify.cli import main  # noqa: E402
from cavra_notify.plugins import PluginInfo, Registry, reset_registry  # noqa: E402
from cavra_notify.provider import DeliveryRequest, Provider, Receipt  # noqa: E402
from cavra_notify.redact import process_redactor  # noqa: E402
from cavra_notify.testkit import assert_no_secret_leak  # noqa: E402

from .conftest import NOW_ISO, ROOT  # noqa: E402

N = "/runtime/go-pilot/rollback-drill-notifications"
BETA_VAR = "CAVRA_TEST_PROCESS_REDACTOR_BETA"
WAIT = 20.0  # a bound against hangs only: every wait below is released by an event
log = logging.getLogger("chatty_toy_sdk")


def canary(prefix: str) -> str:
    return prefix + "canary" + uuid.uuid4().hex


class ChattySettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    token: SecretStr


class Overlap:
    """Makes the two connectors' deliveries overlap, and holds their plugins' late log lines back."""

    def __init__(self) -> None:
        self.started = {"alpha": threading.Event(), "beta": threading.Event()}
        self.release_late = threading.Event()
        self.late: list[threading.Thread] = []
        self.lock = threading.Lock()

    def deliver(self, request: DeliveryRequest) -> Receipt:
        token = request.settings.token.get_secret_value()
        me = request.connector_name
        other = "beta" if me == "alpha" else "alpha"
        self.started[me].set()
        log.warning("%s: connecting with token=%s", me, token)
        assert self.started[other].wait(WAIT), "the other delivery never started"
        log.warning("%s: both deliveries in flight, Authorization: %s", me, token)

        def late() -> None:
            self.release_late.wait(WAIT)
            log.warning("%s: late retry hint for %s", me, token)
            try:
                raise ConnectionError(f"keep-alive closed for {token}")
            except ConnectionError:
                log.exception("%s: late SDK error", me)

        thread = threading.Thread(target=late, daemon=True)
        thread.start()
        with self.lock:
            self.late.append(thread)
        return Receipt(200, details={"echo": f"accepted {token}"})


@pytest.fixture
def overlap() -> Iterator[Overlap]:
    state = Overlap()

    @hookimpl
    def cavra_register_providers(register: Callable[[Provider], None]) -> None:
        register(Provider("chatty", ChattySettings, state.deliver))

    registry = Registry()
    plugin = types.SimpleNamespace(cavra_register_providers=cavra_register_providers)
    registry.add(plugin, PluginInfo("chatty", "chatty"))
    reset_registry(registry)
    yield state
    state.release_late.set()
    reset_registry(None)


def write(path: Path, document: Any) -> str:
    path.write_text(json.dumps(document))
    return str(path)


def test_two_concurrent_api_deliveries_leak_neither_canary(tmp_path: Path, overlap: Overlap,
                                                           monkeypatch: pytest.MonkeyPatch,
                                                           caplog: pytest.LogCaptureFixture,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    caplog.set_level(logging.DEBUG)
    alpha, beta, api_token = canary("alpha-"), canary("beta-"), canary("api-")
    monkeypatch.setenv(BETA_VAR, beta)
    schedule = json.loads((ROOT / "examples" / "schedule.json").read_text())
    schedule.update(notification_providers=["alpha", "beta"], owner_routes={})
    config = {"connectors": {"alpha": {"provider": "chatty", "token": alpha},
                             "beta": {"provider": "chatty", "token": {"env": BETA_VAR}}},
              "api": {"token": api_token}}
    env = {"CAVRA_GO_BACKEND_MODE": "promoted",
           "CAVRA_GO_ROLLBACK_DRILL_HISTORY": str(ROOT / "examples" / "history.json"),
           "CAVRA_GO_ROLLBACK_DRILL_SCHEDULE": write(tmp_path / "schedule.json", schedule),
           "CAVRA_CONNECTOR_CONFIG": write(tmp_path / "connectors.json", config)}
    db = tmp_path / "evidence.db"
    responses: dict[str, Any] = {}

    with TestClient(create_app(env, str(db))) as api:
        def deliver(provider: str) -> None:
            responses[provider] = api.post(f"{N}/deliver", json={"provider": provider, "now": NOW_ISO, "retries": 0},
                                           headers={"Authorization": f"Bearer {api_token}"})

        threads = [threading.Thread(target=deliver, args=(name,)) for name in ("alpha", "beta")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(WAIT)
        history = api.get(N).text
        overlap.release_late.set()
        for thread in overlap.late:
            thread.join(WAIT)

    assert {name: r.status_code for name, r in responses.items()} == {"alpha": 200, "beta": 200}
    bodies = [r.text for r in responses.values()]
    assert all(json.loads(b)["delivered_count"] == 2 for b in bodies)  # two owners per connector
    late = [r for r in caplog.records if "late" in r.getMessage()]
    assert len(late) == 8 and all(r.exc_text for r in late if "error" in r.getMessage())

    assert main(["evidence", "list", "--json", "--evidence-db", str(db)]) == 0
    assert main(["evidence", "export", schedule["schedule_id"], "--evidence-db", str(db)]) == 0
    out, err = capsys.readouterr()
    assert '"outcome": "delivered"' in out
    store = b"".join(p.read_bytes() for p in tmp_path.glob("evidence.db*"))
    messages = [r.getMessage() for r in caplog.records]
    assert_no_secret_leak([alpha, beta, api_token], *bodies, history, caplog.text, messages, caplog.records,
                          out, err, store)


def test_one_redactor_for_the_whole_process(tmp_path: Path) -> None:
    from cavra_notify.connectors import read_config

    first, second = canary("one-"), canary("two-")
    read_config(write(tmp_path / "a.json", {"connectors": {"a": {"token": {"env": "HOME"}, "x": first}}}))
    before = process_redactor()
    read_config(write(tmp_path / "b.json", {"connectors": {}, "api": {"token": second}}))
    assert process_redactor() is before
    assert second not in process_redactor().scrub(f"token {second}")


class Collect(logging.Handler):
    """A handler of the application's own, on a non-propagating logger: no root handler involved."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


def test_urllib3_debug_lines_never_show_a_configured_urls_path_or_query(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    import urllib3

    from cavra_notify.connectors import read_config
    from cavra_notify.testkit import FakeReceiver

    token, sig = canary("hook-"), canary("sig-")
    sdk_log, collect = logging.getLogger("urllib3"), Collect()
    monkeypatch.setattr(sdk_log, "propagate", False)
    monkeypatch.setattr(sdk_log, "level", logging.DEBUG)
    sdk_log.addHandler(collect)
    try:
        with FakeReceiver() as receiver:
            url = f"{receiver.url}/hooks/{token}?sig={sig}"
            read_config(write(tmp_path / "connectors.json", {"connectors": {"hook": {"provider": "webhook",
                                                                                     "url": url}}}))
            with urllib3.PoolManager() as pool:
                assert pool.request("POST", url, body=b"{}").status == 200
            assert receiver.requests[0].path.startswith(f"/hooks/{token}")  # the real URL was used
    finally:
        sdk_log.removeHandler(collect)
    posted = [line for line in collect.lines if '"POST ' in line]
    assert posted and all("[REDACTED]" in line for line in posted)
    assert_no_secret_leak([token, sig], *collect.lines)


def test_a_plugins_import_error_text_passes_through_the_redactor(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                 caplog: pytest.LogCaptureFixture,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    from importlib import metadata

    from cavra_notify import plugins

    secret = canary("toy-")
    monkeypatch.setenv(BETA_VAR, secret)
    (tmp_path / "toy_refuses_to_import.py").write_text(
        f"import os\nraise RuntimeError('cannot start: token ' + os.environ[{BETA_VAR!r}] + ' rejected')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    entry_point = metadata.EntryPoint("toy", "toy_refuses_to_import", plugins.ENTRY_POINT_GROUP)
    monkeypatch.setattr(plugins.metadata, "entry_points", lambda group: [entry_point])
    reset_registry(None)
    schedule = json.loads((ROOT / "examples" / "schedule.json").read_text())
    schedule.update(notification_providers=["toy"], owner_routes={})
    config = write(tmp_path / "connectors.json", {"connectors": {"toy": {"token": {"env": BETA_VAR}}}})
    try:
        code = main(["runtime", "go-rollback-drill-notification-deliver", "--mode", "promoted",
                     "--rollback-drill-schedule-path", write(tmp_path / "schedule.json", schedule),
                     "--rollback-drill-history-path", str(ROOT / "examples" / "history.json"),
                     "--connector-config", config, "--evidence-db", str(tmp_path / "evidence.db"),
                     "--now", "2026-12-20T00:00:00Z", "--json"])
    finally:
        reset_registry(None)
    out, err = capsys.readouterr()
    assert code == 2 and "provider plugin 'toy' is not installed" in err
    assert any("failed to import" in r.getMessage() for r in caplog.records)
    assert_no_secret_leak([secret], out, err, caplog.text, [r.getMessage() for r in caplog.records])


def test_formatters_that_read_the_arguments_keep_working(monkeypatch: pytest.MonkeyPatch) -> None:
    """uvicorn's access log formats from ``record.args``: a scrubbed record keeps its arguments."""
    from uvicorn.logging import AccessFormatter

    from cavra_notify.redact import seed

    secret = canary("path-")
    seed([secret])
    access, collect = logging.getLogger("uvicorn.access"), Collect()
    collect.setFormatter(AccessFormatter('%(client_addr)s - "%(request_line)s" %(status_code)s', use_colors=False))
    monkeypatch.setattr(access, "propagate", False)
    monkeypatch.setattr(access, "level", logging.INFO)
    access.addHandler(collect)
    try:
        for path in (f"/runtime/x?token={secret}", "/healthz"):
            access.info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "GET", path, "1.1", 200)
    finally:
        access.removeHandler(collect)
    assert collect.lines == ['127.0.0.1:5000 - "GET /runtime/x?token=[REDACTED] HTTP/1.1" 200 OK',
                             '127.0.0.1:5000 - "GET /healthz HTTP/1.1" 200 OK']


class LateLines:
    """Each connector's plugin logs its token once more when the other connector's delivery starts."""

    def __init__(self) -> None:
        self.started = {"alpha": threading.Event(), "beta": threading.Event()}
        self.late: list[threading.Thread] = []

    def deliver(self, request: DeliveryRequest) -> Receipt:
        token = request.settings.token.get_secret_value()
        me = request.connector_name
        other = "beta" if me == "alpha" else "alpha"
        self.started[me].set()
        log.warning("%s: sending with %s", me, token)

        def late() -> None:
            self.started[other].wait(WAIT)
            log.warning("%s: late line for %s", me, token)

        thread = threading.Thread(target=late, daemon=True)
        thread.start()
        self.late.append(thread)
        return Receipt(200)


def test_a_sweep_whose_plugin_logs_late_leaks_no_canary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                        caplog: pytest.LogCaptureFixture,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    caplog.set_level(logging.DEBUG)
    state = LateLines()

    @hookimpl
    def cavra_register_providers(register: Callable[[Provider], None]) -> None:
        register(Provider("chatty", ChattySettings, state.deliver))

    registry = Registry()
    registry.add(types.SimpleNamespace(cavra_register_providers=cavra_register_providers), PluginInfo("chatty"))
    reset_registry(registry)
    alpha, beta = canary("alpha-"), canary("beta-")
    monkeypatch.setenv(BETA_VAR, beta)
    folder = tmp_path / "schedules"
    folder.mkdir()
    for name in ("alpha", "beta"):
        schedule = json.loads((ROOT / "examples" / "schedule.json").read_text())
        schedule.update(schedule_id=f"sched_{name}", notification_providers=[name], owner_routes={})
        write(folder / f"{name}.json", schedule)
    config = write(tmp_path / "connectors.json", {"connectors": {
        "alpha": {"provider": "chatty", "token": alpha}, "beta": {"provider": "chatty", "token": {"env": BETA_VAR}}}})
    try:
        code = main(["runtime", "go-rollback-drill-sweep", "--schedules", str(folder), "--connector-config", config,
                     "--evidence-db", str(tmp_path / "evidence.db"), "--now", "2026-12-20T00:00:00Z", "--json"])
        for thread in state.late:
            thread.join(WAIT)
    finally:
        reset_registry(None)
    out, err = capsys.readouterr()
    assert code == 0 and [row["delivered"] for row in json.loads(out)["schedules"]] == [2, 2]
    assert len([r for r in caplog.records if "late line" in r.getMessage()]) == 4
    assert_no_secret_leak([alpha, beta], out, err, caplog.text, [r.getMessage() for r in caplog.records])
