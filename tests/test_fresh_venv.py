"""Each provider plugin installs alone: the core plus exactly one plugin in a fresh virtual environment.

Nothing is downloaded here. ``python3 dev.py test`` fills ``.wheelhouse/`` with the wheels of every
third-party dependency and build requirement; this module builds the core's and the plugins' wheels
from a clean copy of the current tree, creates one venv per plugin (concurrently) and installs the
core and that plugin with ``pip --no-index --find-links`` (pip config files ignored, a dead loopback
proxy so any download attempt fails). Each venv must list exactly its plugin, must not see the other
plugins or their SDKs, and must deliver through the plugin's real SDK to its bundled fake service
(started here, on 127.0.0.1) with the connector secret, a canary, read from ``{"env": ...}``.

Without a wheelhouse the module is skipped, unless ``CAVRA_REQUIRE_WHEELHOUSE`` is set (dev.py sets it).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tomllib
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cavra_notify_jira.fake import FakeJira
from cavra_notify_servicenow.fake import FakeServiceNow
from cavra_notify_slack.fake import DEFAULT_CHANNELS, FakeSlack
from cavra_notify_teams.fake import FakeTeams
from cavra_notify_webhook.fake import FakeWebhookReceiver

from cavra_notify.testkit import assert_no_secret_leak

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
WHEELHOUSE = ROOT / ".wheelhouse"
PLUGINS = sorted(p.name for p in (ROOT / "plugins").iterdir() if (p / "pyproject.toml").exists())
SDKS = {"slack": "slack_sdk", "teams": "pymsteams", "jira": "jira", "servicenow": "pysnow", "webhook": None}
SECRET_VAR = "CAVRA_FRESH_VENV_SECRET"
DEAD_PROXY = "http://127.0.0.1:9"
PROBE = ("import importlib.util, json, sys; "
         "print(json.dumps({m: importlib.util.find_spec(m) is not None for m in sys.argv[1:]}))")
NOT_SOURCES = shutil.ignore_patterns("__pycache__", "*.egg-info", "build", "dist")
NOT_PACKAGED = shutil.ignore_patterns(".*", "*.db", "*.db-*", "tests", "plugins", "bench", "docs", "examples")


# --- preparing the venvs ---------------------------------------------------------------------


def copy_project(source: Path, target: Path) -> Path:
    """A clean copy: no build leftovers, and at the top level nothing the wheel is not built from."""

    def ignore(folder: str, names: list[str]) -> set[str]:
        skipped = NOT_SOURCES(folder, names)
        return skipped | NOT_PACKAGED(folder, names) if Path(folder) == source else skipped

    return Path(shutil.copytree(source, target, ignore=ignore))


def scripts(venv: Path) -> Path:
    return venv / ("Scripts" if os.name == "nt" else "bin")


@dataclass
class FreshVenv:
    bin: Path
    error: str | None = None

    def run(self, program: str, *args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(self.bin / program), *args], capture_output=True, text=True, env=env, cwd=cwd,
                              timeout=120, check=False)


def clean_env() -> dict[str, str]:
    """The caller's environment without pip, Python, cavra or proxy settings."""
    drop = ("PIP_", "PYTHON", "CAVRA_", "VIRTUAL_ENV")
    proxies = {"http_proxy", "https_proxy", "all_proxy", "no_proxy"}
    return {k: v for k, v in os.environ.items() if not k.startswith(drop) and k.lower() not in proxies}


def pip(into: Path, command: str, *args: str, what: str) -> None:
    """This interpreter's pip acting on the venv ``into``: no config files, no index, no cache, and a dead
    loopback proxy, so the wheelhouse is the only source of packages."""
    env = {**clean_env(), "PIP_CONFIG_FILE": os.devnull, "PIP_NO_CACHE_DIR": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1",
           "PIP_NO_INPUT": "1", "http_proxy": DEAD_PROXY, "https_proxy": DEAD_PROXY}
    argv = [sys.executable, "-m", "pip", "--python", str(scripts(into) / "python"), command, "--quiet",
            "--no-index", "--find-links", str(WHEELHOUSE), *args]
    done = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=into.parent, timeout=600, check=False)
    if done.returncode:
        hint = "is .wheelhouse/ older than the manifests? `python3 dev.py test` rebuilds it"
        raise RuntimeError(f"{what} failed ({done.returncode}; {hint}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")


def builder(work: Path) -> Path:
    """A venv holding every build requirement of the manifests (from the wheelhouse): one place to build
    all the local wheels without creating an isolated build environment per wheel."""
    venv = work / "builder"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    manifests = [ROOT / "pyproject.toml", *(ROOT / "plugins" / p / "pyproject.toml" for p in PLUGINS)]
    requires = sorted({r for m in manifests for r in tomllib.loads(m.read_text())["build-system"]["requires"]})
    pip(venv, "install", *requires, what="installing the build requirements")
    return venv


def build_wheel(build: Path, source: Path) -> Path:
    out = source.parent / "dist"
    pip(build, "wheel", "--no-build-isolation", "--no-deps", "--wheel-dir", str(out), str(source),
        what=f"building a wheel of {source.parent.name}")
    (wheel,) = out.glob("*.whl")
    return wheel


def prepare(name: str, work: Path, build: Path, core: Future[Path]) -> FreshVenv:
    """Build the plugin's wheel, then install the core and this plugin (nothing else) into a new venv."""
    try:
        plugin = build_wheel(build, copy_project(ROOT / "plugins" / name, work / name / "src"))
        venv = work / name / "venv"
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
        pip(venv, "install", str(core.result()), str(plugin), what=f"installing the core and {name}")
        return FreshVenv(scripts(venv))
    except (RuntimeError, subprocess.SubprocessError) as exc:
        return FreshVenv(work / name, error=str(exc))


@pytest.fixture(scope="session")
def fresh_venvs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, FreshVenv]:
    if not (WHEELHOUSE / ".cavra-setup").exists():
        message = "no .wheelhouse/: run `python3 dev.py test` (it builds one from the manifests)"
        if os.environ.get("CAVRA_REQUIRE_WHEELHOUSE"):
            pytest.fail(message)
        pytest.skip(message)
    work = tmp_path_factory.mktemp("fresh-venvs")
    build = builder(work)
    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
        core = pool.submit(build_wheel, build, copy_project(ROOT, work / "core" / "src"))
        prepared = {name: pool.submit(prepare, name, work, build, core) for name in PLUGINS}
        return {name: future.result() for name, future in prepared.items()}


# --- per plugin: fake service, connector settings (secret from the environment), evidence check ---


Check = Callable[[list[dict[str, Any]]], None]


@dataclass
class Served:
    fake: Any
    settings: dict[str, Any]
    secret: str
    check: Check


def slack(stack: ExitStack, canary: str) -> Served:
    fake = stack.enter_context(FakeSlack("xoxb-" + canary))

    def received(deliveries: list[dict[str, Any]]) -> None:
        assert {d["receipt"]["ts"] for d in deliveries} == {m["ts"] for m in fake.messages}
        assert {d["receipt"]["channel"] for d in deliveries} == {DEFAULT_CHANNELS["#release-governance"]}

    settings = {"token": {"env": SECRET_VAR}, "channel": "#release-governance", "base_url": fake.api_base}
    return Served(fake, settings, "xoxb-" + canary, received)


def teams(stack: ExitStack, canary: str) -> Served:
    fake = stack.enter_context(FakeTeams(sig=canary))

    def received(deliveries: list[dict[str, Any]]) -> None:
        assert [d["receipt"] for d in deliveries] == [{"accepted": True, "status": 202}] * len(deliveries)
        assert {d["outcome"] for d in deliveries} == {"accepted"}
        assert len(fake.cards) == len(deliveries)

    return Served(fake, {"webhook_url": {"env": SECRET_VAR}}, fake.workflow_url, received)


def jira(stack: ExitStack, canary: str) -> Served:
    fake = stack.enter_context(FakeJira(email="cavra-bot@example.invalid", api_token=canary))

    def received(deliveries: list[dict[str, Any]]) -> None:
        assert sorted(d["receipt"]["issue_key"] for d in deliveries) == sorted(fake.issues)
        assert {d["receipt"]["action"] for d in deliveries} == {"created"}

    settings = {"server": fake.url, "email": "cavra-bot@example.invalid", "api_token": {"env": SECRET_VAR},
                "project": "OPS"}
    return Served(fake, settings, canary, received)


def servicenow(stack: ExitStack, canary: str) -> Served:
    fake = stack.enter_context(FakeServiceNow(user="cavra.bot", password=canary))

    def received(deliveries: list[dict[str, Any]]) -> None:
        records = {(r.sys_id, r.fields["number"]) for r in fake.records.values()}
        assert {(d["receipt"]["sys_id"], d["receipt"]["number"]) for d in deliveries} == records
        assert {d["receipt"]["action"] for d in deliveries} == {"created"}

    settings = {"instance_url": fake.url, "user": "cavra.bot", "password": {"env": SECRET_VAR}}
    return Served(fake, settings, canary, received)


def webhook(stack: ExitStack, canary: str) -> Served:
    fake = stack.enter_context(FakeWebhookReceiver(signing_secret=canary))

    def received(deliveries: list[dict[str, Any]]) -> None:
        assert sorted(d["delivery_key"] for d in deliveries) == sorted(str(e.idempotency_key) for e in fake.events)
        assert all(e.signature_verified for e in fake.events)
        assert [d["receipt"] for d in deliveries] == [{"status": 200}] * len(deliveries)

    return Served(fake, {"url": fake.url, "signing_secret": {"env": SECRET_VAR}}, canary, received)


CASES: dict[str, Callable[[ExitStack, str], Served]] = {
    "slack": slack, "teams": teams, "jira": jira, "servicenow": servicenow, "webhook": webhook,
}


# --- the tests -------------------------------------------------------------------------------


def test_every_plugin_in_the_repository_has_a_case() -> None:
    assert sorted(CASES) == PLUGINS == sorted(SDKS)


@pytest.fixture(params=PLUGINS)
def plugin(request: pytest.FixtureRequest, fresh_venvs: dict[str, FreshVenv]) -> tuple[str, FreshVenv]:
    venv = fresh_venvs[request.param]
    if venv.error:
        pytest.fail(venv.error, pytrace=False)
    return request.param, venv


def test_the_venv_lists_exactly_its_plugin(plugin: tuple[str, FreshVenv], tmp_path: Path) -> None:
    name, venv = plugin
    done = venv.run("cavra", "plugins", "--json", env=clean_env(), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    (listed,) = json.loads(done.stdout)
    assert listed["name"] == name and listed["loaded"] is True and listed["error"] is None
    assert listed["distribution"] == f"cavra-notify-{name}" and listed["providers"] == [name]


def test_other_plugins_and_their_sdks_are_not_importable(plugin: tuple[str, FreshVenv], tmp_path: Path) -> None:
    name, venv = plugin
    others = [p for p in PLUGINS if p != name]
    modules = [f"cavra_notify_{p}" for p in PLUGINS] + [s for s in SDKS.values() if s] + ["fastapi", "uvicorn"]
    done = venv.run("python", "-I", "-c", PROBE, *modules, env=clean_env(), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    assert found.pop(f"cavra_notify_{name}") is True
    if SDKS[name]:
        assert found.pop(str(SDKS[name])) is True
    assert set(found) >= {f"cavra_notify_{p}" for p in others}
    assert not any(found.values()), f"importable in the {name}-only venv: {[m for m, ok in found.items() if ok]}"


def test_the_venv_delivers_through_its_plugin(plugin: tuple[str, FreshVenv], tmp_path: Path) -> None:
    name, venv = plugin
    schedule = json.loads((EXAMPLES / "schedule.json").read_text())
    schedule.update(notification_providers=[name], owner_routes={})
    (tmp_path / "schedule.json").write_text(json.dumps(schedule))
    canary = "canary" + uuid.uuid4().hex
    with ExitStack() as stack:
        served = CASES[name](stack, canary)
        (tmp_path / "connectors.json").write_text(json.dumps({"connectors": {name: served.settings}}))
        done = venv.run(
            "cavra", "runtime", "go-rollback-drill-notification-deliver", "--mode", "promoted",
            "--rollback-drill-schedule-path", str(tmp_path / "schedule.json"),
            "--rollback-drill-history-path", str(EXAMPLES / "history.json"),
            "--connector-config", str(tmp_path / "connectors.json"), "--evidence-db", str(tmp_path / "evidence.db"),
            "--now", "2026-12-20T00:00:00Z", "--json", env={**clean_env(), SECRET_VAR: served.secret}, cwd=tmp_path)
        requests = served.fake.requests

    assert done.returncode == 0, done.stderr
    assert_no_secret_leak([canary, served.secret], done.stdout, done.stderr)
    payload = json.loads(done.stdout)
    deliveries = payload["deliveries"]
    assert payload["outcome"] in ("delivered", "accepted")
    assert sorted(d["owner"] for d in deliveries) == ["platform-oncall", "release-governance"]
    assert {(d["provider"], d["connector"]) for d in deliveries} == {(name, name)}
    assert {d["outcome"] for d in deliveries} <= {"delivered", "accepted"}
    assert requests, f"the fake {name} service received nothing"
    served.check(deliveries)
