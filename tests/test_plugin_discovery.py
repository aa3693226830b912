"""Plugin discovery end to end: a throwaway third-party package with only an entry point.

The package lives in ``tmp_path/site`` (a module plus a ``*.dist-info`` folder with ``METADATA`` and
``entry_points.txt``), which is exactly what an installed wheel leaves behind; subprocesses see it
through ``PYTHONPATH``. Nothing in the core names it.
"""

from __future__ import annotations

import importlib
import inspect
import json
import os
import re
import subprocess
import sys
import textwrap
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cavra_notify import hookspecs
from cavra_notify.errors import PluginError
from cavra_notify.plugins import discover
from cavra_notify.testkit import FakeReceiver

ROOT = Path(__file__).resolve().parents[1]
CAVRA = [str(Path(sys.executable).parent / "cavra")]  # the console script installed beside this interpreter

THIRDPARTY = '''
"""A third-party provider: POSTs the route owner and title as JSON with a bearer token."""
import json
import urllib.error
import urllib.request

from pydantic import BaseModel, ConfigDict, SecretStr

from cavra_notify import hookimpl
from cavra_notify.failures import check_response
from cavra_notify.provider import Provider, Receipt


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: str
    token: SecretStr


def deliver(request):
    body = json.dumps({"owner": request.route.owner, "title": request.message.title,
                       "key": request.delivery_key}).encode()
    headers = {"Content-Type": "application/json",
               "Authorization": "Bearer " + request.settings.token.get_secret_value()}
    try:
        with urllib.request.urlopen(urllib.request.Request(request.settings.url, body, headers),
                                    timeout=request.timeout) as answer:
            return Receipt(status_code=answer.status, details={"status": answer.status})
    except urllib.error.HTTPError as exc:
        check_response(exc.code, dict(exc.headers), "thirdparty POST")
        raise


@hookimpl
def cavra_register_providers(register):
    register(Provider("thirdparty", Settings, deliver, target=lambda s: s.url, concurrency=4))
'''


def make_dist(site: Path, dist: str, module: str, source: str, entry: str | None = None) -> None:
    """Write ``module`` and a ``<dist>-0.1.dist-info`` declaring one ``cavra_notify`` entry point."""
    (site / module).mkdir(parents=True)
    (site / module / "__init__.py").write_text(textwrap.dedent(source))
    info = site / f"{dist.replace('-', '_')}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[cavra_notify]\n{entry or module} = {module}\n")


@pytest.fixture
def site(tmp_path: Path) -> Path:
    folder = tmp_path / "site"
    folder.mkdir()
    make_dist(folder, "thirdparty-cavra", "thirdparty_cavra", THIRDPARTY, "thirdparty")
    return folder


@pytest.fixture
def broken_site(site: Path) -> Path:
    make_dist(site, "broken-cavra", "broken_cavra", "import cavra_notify_no_such_dependency\n", "broken")
    return site


def run(site: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("CAVRA_")}
    environ.update(PYTHONPATH=str(site), **env)
    return subprocess.run([*CAVRA, *args], capture_output=True, text=True, env=environ, timeout=60, check=False)


@pytest.fixture
def on_path(site: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The throwaway site importable in this process too (for in-process ``discover``)."""
    monkeypatch.syspath_prepend(str(site))
    importlib.invalidate_caches()
    yield site
    for name in ("thirdparty_cavra", "broken_cavra"):
        sys.modules.pop(name, None)


# --- discovery and listing -------------------------------------------------------------------

def test_cavra_plugins_lists_the_third_party_plugin(site: Path) -> None:
    done = run(site, "plugins", "--json")
    assert done.returncode == 0, done.stderr
    plugins = {p["name"]: p for p in json.loads(done.stdout)}
    third = plugins["thirdparty"]
    assert third["loaded"] is True and third["error"] is None
    assert third["distribution"] == "thirdparty-cavra" and third["version"] == "0.1"
    assert third["providers"] == ["thirdparty"]
    assert "cavra_register_providers" in third["hooks"]
    assert plugins["webhook"]["loaded"] is True


def test_third_party_plugin_delivers_through_the_cli(site: Path, tmp_path: Path) -> None:
    examples = ROOT / "examples"
    schedule = json.loads((examples / "schedule.json").read_text())
    schedule.update(notification_providers=["thirdparty"], owner_routes={})
    (tmp_path / "schedule.json").write_text(json.dumps(schedule))
    with FakeReceiver() as rx:
        token = "tp-" + "canary" + os.urandom(8).hex()
        config = {"connectors": {"thirdparty": {"url": rx.url + "/inbox", "token": token}}}
        (tmp_path / "connectors.json").write_text(json.dumps(config))
        done = run(site, "runtime", "go-rollback-drill-notification-deliver", "--mode", "promoted",
                   "--rollback-drill-schedule-path", str(tmp_path / "schedule.json"),
                   "--rollback-drill-history-path", str(examples / "history.json"),
                   "--connector-config", str(tmp_path / "connectors.json"),
                   "--evidence-db", str(tmp_path / "evidence.db"), "--now", "2026-12-20T00:00:00Z", "--json")
        requests = rx.requests_to("/inbox")

    assert done.returncode == 0, done.stderr
    payload = json.loads(done.stdout)
    assert payload["outcome"] == "delivered"
    assert {e["provider"] for e in payload["deliveries"]} == {"thirdparty"}
    assert {e["receipt"]["status"] for e in payload["deliveries"]} == {200}
    assert sorted(r.json()["owner"] for r in requests) == ["platform-oncall", "release-governance"]
    assert all(r.header("Authorization") == "Bearer " + token for r in requests)
    assert token not in done.stdout + done.stderr


def test_a_plugin_that_fails_to_import_is_skipped_with_a_warning(broken_site: Path) -> None:
    done = run(broken_site, "plugins", "--json")
    assert done.returncode == 0
    plugins = {p["name"]: p for p in json.loads(done.stdout)}
    assert plugins["broken"]["loaded"] is False
    assert "broken-cavra" in plugins["broken"]["error"] and "ModuleNotFoundError" in plugins["broken"]["error"]
    assert plugins["thirdparty"]["loaded"] is True and plugins["webhook"]["loaded"] is True
    warning = [line for line in done.stderr.splitlines() if "broken" in line]
    assert warning and "broken-cavra" in warning[0] and "Traceback" not in done.stderr


def test_strict_mode_turns_a_broken_plugin_into_a_clear_error(broken_site: Path) -> None:
    done = run(broken_site, "plugins", "--json", CAVRA_PLUGINS_STRICT="1")
    assert done.returncode == 2
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("cavra: error: plugin broken (broken-cavra)")
    assert "Traceback" not in done.stderr


def test_load_and_disable_lists_choose_the_plugins(on_path: Path) -> None:
    only = discover(env={"CAVRA_LOAD_PLUGINS": "thirdparty"})
    assert list(only.plugins) == ["thirdparty"] and list(only.providers) == ["thirdparty"]

    both = discover(env={"CAVRA_LOAD_PLUGINS": " thirdparty , webhook "})
    assert sorted(both.providers) == ["thirdparty", "webhook"]

    without = discover(env={"CAVRA_DISABLE_PLUGINS": "thirdparty,webhook"})
    assert "thirdparty" not in without.plugins and "webhook" not in without.providers
    assert "slack" in without.plugins


def test_disabling_a_broken_plugin_silences_it(broken_site: Path, on_path: Path,
                                              caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("WARNING", logger="cavra_notify.plugins")
    registry = discover(env={"CAVRA_DISABLE_PLUGINS": "broken", "CAVRA_PLUGINS_STRICT": "1"})
    assert "broken" not in registry.plugins and registry.plugins["thirdparty"].loaded
    assert not caplog.records

    with pytest.raises(PluginError, match=r"broken-cavra"):
        discover(env={"CAVRA_PLUGINS_STRICT": "1"})


def test_a_register_hook_that_raises_is_isolated(caplog: pytest.LogCaptureFixture) -> None:
    from cavra_notify import hookimpl
    from cavra_notify.plugins import PluginInfo, Registry

    @hookimpl
    def cavra_register_providers(register: Any) -> None:
        raise RuntimeError("cannot reach the SDK")

    registry = Registry()
    registry.add(types.SimpleNamespace(cavra_register_providers=cavra_register_providers),
                 PluginInfo("bad", "bad-dist", "1.0"))
    info = registry.plugins["bad"]
    assert info.loaded is False and "bad-dist" in (info.error or "") and "RuntimeError" in (info.error or "")
    assert "bad-dist" in caplog.text


# --- hookspecs are documented ----------------------------------------------------------------

def hookspec_problems(module: Any) -> list[str]:
    """Every hookspec needs a docstring with ``:param <name>:`` for each parameter and ``:return:``."""
    marker = f"{hookspecs.PROJECT}_spec"
    problems = []
    specs = [(name, fn) for name, fn in vars(module).items() if callable(fn) and hasattr(fn, marker)]
    for name, fn in specs:
        doc = inspect.getdoc(fn) or ""
        if not doc.strip():
            problems.append(f"{name}: no docstring")
            continue
        for param in inspect.signature(fn).parameters:
            if not re.search(rf":param {param}:\s*\S", doc):
                problems.append(f"{name}: parameter {param!r} undocumented")
        if not re.search(r":return:\s*\S", doc):
            problems.append(f"{name}: no :return: documentation")
    return problems if specs else ["no hookspecs found"]


def test_every_hookspec_is_documented() -> None:
    assert hookspec_problems(hookspecs) == []


def test_the_hookspec_check_catches_an_undocumented_hook() -> None:
    def cavra_documented(evidence: Any) -> None:
        """Fine.

        :param evidence: the record.
        :return: nothing.
        """

    def cavra_bare(evidence: Any) -> None: ...

    def cavra_half(evidence: Any, extra: Any) -> None:
        """Half documented.

        :param evidence: the record.
        """

    fake = types.SimpleNamespace(**{f.__name__: hookspecs.hookspec(f)
                                    for f in (cavra_documented, cavra_bare, cavra_half)})
    assert hookspec_problems(fake) == [
        "cavra_bare: no docstring",
        "cavra_half: parameter 'extra' undocumented",
        "cavra_half: no :return: documentation",
    ]


def test_a_half_registered_plugin_leaves_nothing_behind() -> None:
    from pydantic import BaseModel

    from cavra_notify import hookimpl
    from cavra_notify.plugins import PluginInfo, Registry
    from cavra_notify.provider import Provider, Receipt

    class Empty(BaseModel):
        pass

    @hookimpl
    def cavra_register_providers(register: Any) -> None:
        register(Provider("half", Empty, lambda request: Receipt(200)))
        raise RuntimeError("second provider failed")

    observed: list[Any] = []

    @hookimpl
    def cavra_delivery_recorded(evidence: Any) -> None:
        observed.append(evidence)

    registry = Registry()
    plugin = types.SimpleNamespace(cavra_register_providers=cavra_register_providers,
                                   cavra_delivery_recorded=cavra_delivery_recorded)
    registry.add(plugin, PluginInfo("half", "half-dist"))
    assert "half" not in registry.providers and registry.plugins["half"].providers == []
    registry.delivery_recorded({"route_key": "r"})
    assert observed == []


# --- hostile plugins at import (issue 15) ----------------------------------------------------

def test_a_plugin_that_exits_at_import_is_that_plugins_load_failure(site: Path) -> None:
    make_dist(site, "exiting-cavra", "exiting_cavra", "import sys\nsys.exit(0)\n", "exiting")
    done = run(site, "plugins", "--json")
    assert done.returncode == 0, done.stderr
    plugins = {p["name"]: p for p in json.loads(done.stdout)}
    assert plugins["exiting"]["loaded"] is False and "SystemExit" in plugins["exiting"]["error"]
    assert "exiting-cavra" in plugins["exiting"]["error"]
    assert plugins["thirdparty"]["loaded"] is True and plugins["webhook"]["loaded"] is True


def test_a_plugin_that_exits_in_its_register_hook_is_isolated(site: Path) -> None:
    source = "import sys\nfrom cavra_notify import hookimpl\n\n@hookimpl\ndef cavra_register_providers(register):\n" \
             "    raise SystemExit(3)\n"
    make_dist(site, "quitter-cavra", "quitter_cavra", source, "quitter")
    done = run(site, "plugins", "--json")
    assert done.returncode == 0, done.stderr
    plugins = {p["name"]: p for p in json.loads(done.stdout)}
    assert plugins["quitter"]["loaded"] is False and "SystemExit" in plugins["quitter"]["error"]


def test_a_hung_import_becomes_a_clear_error_naming_the_distribution(site: Path) -> None:
    make_dist(site, "hanging-cavra", "hanging_cavra", "import time\ntime.sleep(3600)\n", "hanging")
    done = run(site, "plugins", "--json", CAVRA_PLUGIN_IMPORT_TIMEOUT="1")
    assert done.returncode == 0, done.stderr
    plugins = {p["name"]: p for p in json.loads(done.stdout)}
    error = plugins["hanging"]["error"]
    assert plugins["hanging"]["loaded"] is False and "hanging-cavra" in error and "did not finish within 1s" in error
    assert plugins["thirdparty"]["loaded"] is True

    strict = run(site, "plugins", "--json", CAVRA_PLUGIN_IMPORT_TIMEOUT="1", CAVRA_PLUGINS_STRICT="1")
    assert strict.returncode == 2 and strict.stdout == ""
    assert strict.stderr.startswith("cavra: error: plugin hanging (hanging-cavra) failed to import: TimeoutError")


@pytest.mark.parametrize("value", ["0", "-1", "nan", "inf", "soon"])
def test_a_bad_import_timeout_is_one_clear_line(site: Path, value: str) -> None:
    done = run(site, "plugins", "--json", CAVRA_PLUGIN_IMPORT_TIMEOUT=value)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith("cavra: error: CAVRA_PLUGIN_IMPORT_TIMEOUT: expected a positive number")


# --- load only the plugins a delivery uses (issue 19) ----------------------------------------

OBSERVER = '''
"""An observer-only plugin: it registers no provider and counts delivery records."""
from cavra_notify import hookimpl

SEEN = []


@hookimpl
def cavra_delivery_recorded(evidence):
    SEEN.append(evidence["route_key"])
'''

HEAVY_SDKS = ("jira", "pysnow", "slack_sdk", "pymsteams")


def test_a_webhook_only_delivery_imports_no_other_providers_sdk(tmp_path: Path) -> None:
    examples = ROOT / "examples"
    schedule = json.loads((examples / "schedule.json").read_text())
    schedule.update(notification_providers=["webhook"], owner_routes={})
    (tmp_path / "schedule.json").write_text(json.dumps(schedule))
    with FakeReceiver() as rx:
        (tmp_path / "connectors.json").write_text(json.dumps({"connectors": {"webhook": {"url": rx.url + "/h"}}}))
        script = textwrap.dedent(f"""
            import json, sys
            from cavra_notify.cli import main
            code = main(["runtime", "go-rollback-drill-notification-deliver", "--mode", "promoted",
                         "--rollback-drill-schedule-path", {str(tmp_path / "schedule.json")!r},
                         "--rollback-drill-history-path", {str(examples / "history.json")!r},
                         "--connector-config", {str(tmp_path / "connectors.json")!r},
                         "--evidence-db", {str(tmp_path / "e.db")!r}, "--now", "2026-12-20T00:00:00Z", "--json"])
            sys.stderr.write(json.dumps([code, sorted(m for m in {HEAVY_SDKS!r} if m in sys.modules)]))
        """)
        environ = {k: v for k, v in os.environ.items() if not k.startswith("CAVRA_")}
        done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=environ,
                              timeout=120, check=False)
        sent = len(rx.requests_to("/h"))
    code, imported = json.loads(done.stderr.strip().splitlines()[-1])
    assert code == 0 and sent == 2, done.stderr
    assert imported == []


def test_lookups_load_only_the_named_plugin_and_observers_still_hear_every_record(on_path: Path) -> None:
    make_dist(on_path, "observer-cavra", "observer_cavra", OBSERVER, "observer")
    importlib.invalidate_caches()
    registry = discover(env={})
    try:
        assert registry.providers.get("webhook") is not None
        assert set(registry._plugins) == {"webhook"}  # nothing else imported yet
        registry.delivery_recorded({"route_key": "r-1"})
        assert set(registry._plugins) == {"webhook", "observer"}  # the observer, not the other providers
        assert sys.modules["observer_cavra"].SEEN == ["r-1"]
        assert "thirdparty" in registry.providers and "slack" not in registry._plugins  # by its name
        assert "no-such-provider" not in registry.providers  # an unknown name: the rest load to look
        assert {"slack", "jira", "servicenow", "teams"} <= set(registry._plugins)
    finally:
        sys.modules.pop("observer_cavra", None)
