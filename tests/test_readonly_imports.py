"""Read-only commands import no provider SDK, web framework, HTTP client or database driver.

The schedule and history commands go further: no pydantic model machinery (they validate with
``pydantic_core`` and the generated schema) and nothing of the delivery side, which is what keeps
their cold start near a bare ``import pydantic`` (``bench/cli_startup.py``).
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from .conftest import NOW_ISO, ROOT

FORBIDDEN = ["slack_sdk", "pymsteams", "jira", "pysnow", "fastapi", "starlette", "uvicorn", "httpx",
             "requests", "sqlite3", "_sqlite3", "psycopg", "psycopg2", "asyncio"]
LIGHT_FORBIDDEN = ["pydantic", "pluggy", "annotated_types", "importlib.metadata",
                   "cavra_notify.connectors", "cavra_notify.plugins", "cavra_notify.provider", "cavra_notify.delivery",
                   "cavra_notify.store", "cavra_notify.plan", "cavra_notify.cli.delivering", "cavra_notify.cli.admin",
                   "cavra_notify.cli.serve"]
LIGHT = ["go-rollback-drill-schedule", "go-rollback-drills"]
EX = ROOT / "examples"
PROBE = """
import sys, json
from cavra_notify.cli import main
code = main(sys.argv[1:])
sys.stdout.flush()
print("@@" + json.dumps(sorted(sys.modules)), file=sys.stderr)
"""


def imported(command: str, *extra: str) -> set[str]:
    argv = [sys.executable, "-c", PROBE, "runtime", command, "--mode", "promoted", "--json", "--now", NOW_ISO,
            "--rollback-drill-history-path", str(EX / "history.json"), *extra]
    if command != "go-rollback-drills":
        argv += ["--rollback-drill-schedule-path", str(EX / "schedule.json")]
    if command.endswith("plan"):
        argv += ["--routing-policy", str(EX / "routing-policy.json")]
    proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["schema_version"].startswith("cavra.go-backend-pilot")
    return set(json.loads(proc.stderr.split("@@", 1)[1]))


def within(modules: set[str], names: list[str]) -> list[str]:
    return sorted(m for m in modules if any(m == n or m.startswith(n + ".") for n in names))


@pytest.mark.parametrize("command", [*LIGHT, "go-rollback-drill-notification-plan"])
def test_no_heavy_imports(command: str) -> None:
    assert within(imported(command), FORBIDDEN) == []


def fast_schema_path() -> None:
    """The generated schema is used only under the pydantic-core it was generated with."""
    from pydantic_core import __version__

    from cavra_notify import _schemas

    if __version__ != _schemas.PYDANTIC_CORE_VERSION:
        pytest.skip(f"pydantic-core {__version__} is not {_schemas.PYDANTIC_CORE_VERSION}, the schema's: "
                    "run python -m cavra_notify.models")


@pytest.mark.parametrize("command", LIGHT)
def test_schedule_and_history_skip_pydantic_models_and_delivery(command: str) -> None:
    fast_schema_path()
    modules = imported(command)
    assert "pydantic_core" in modules and "cavra_notify._schemas" in modules
    assert within(modules, LIGHT_FORBIDDEN) == []


def test_the_plan_command_skips_pydantic_models_and_delivery() -> None:
    fast_schema_path()
    modules = imported("go-rollback-drill-notification-plan")
    heavy = ["pydantic", "pluggy", "annotated_types", "importlib.metadata", "cavra_notify.plugins",
             "cavra_notify.delivery", "cavra_notify.store", "cavra_notify.cli.delivering"]
    assert "cavra_notify.plan" in modules
    assert within(modules, heavy) == []
