"""Read-only commands import no provider SDK, web framework, HTTP client or database driver."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from .conftest import NOW_ISO, ROOT

FORBIDDEN = ["slack_sdk", "pymsteams", "jira", "pysnow", "fastapi", "starlette", "uvicorn", "httpx",
             "requests", "sqlite3", "_sqlite3", "psycopg", "psycopg2", "asyncio"]
EX = ROOT / "examples"
PROBE = """
import sys, json
from cavra_notify.cli import main
code = main(sys.argv[1:])
sys.stdout.flush()
print("@@" + json.dumps(sorted(sys.modules)), file=sys.stderr)
"""


@pytest.mark.parametrize("command", ["go-rollback-drill-schedule", "go-rollback-drill-notification-plan",
                                     "go-rollback-drills"])
def test_no_heavy_imports(command: str) -> None:
    argv = [sys.executable, "-c", PROBE, "runtime", command, "--mode", "promoted", "--json", "--now", NOW_ISO,
            "--rollback-drill-history-path", str(EX / "history.json")]
    if command != "go-rollback-drills":
        argv += ["--rollback-drill-schedule-path", str(EX / "schedule.json")]
    if command.endswith("plan"):
        argv += ["--routing-policy", str(EX / "routing-policy.json")]
    proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    modules = set(json.loads(proc.stderr.split("@@", 1)[1]))
    assert json.loads(proc.stdout)["schema_version"].startswith("cavra.go-backend-pilot")
    leaked = sorted(m for m in modules if m.split(".")[0] in FORBIDDEN)
    assert leaked == []
