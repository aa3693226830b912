"""Builders for public metadata files; every test fixes ``now`` so results are reproducible."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
NOW_ISO = "2026-11-27T09:00:00Z"


def example(name: str) -> dict[str, Any]:
    return json.loads((ROOT / "examples" / name).read_text())


@pytest.fixture
def write_json(tmp_path: Path) -> Callable[[str, Any], str]:
    def write(name: str, document: Any) -> str:
        path = tmp_path / name
        path.write_text(document if isinstance(document, str) else json.dumps(document))
        return str(path)

    return write


@pytest.fixture
def schedule_doc() -> dict[str, Any]:
    return copy.deepcopy(example("schedule.json"))


@pytest.fixture
def history_doc() -> dict[str, Any]:
    return copy.deepcopy(example("history.json"))


@pytest.fixture(autouse=True)
def fresh_process_redactor() -> Iterator[None]:
    """Reading a connector config seeds the one process redactor (and hooks logging); a test's
    secrets, short ones such as "2026" included, must not mask another test's output."""
    from cavra_notify.redact import reset_process_redactor

    yield
    reset_process_redactor()


from .backends import evidence_db, pg_server  # noqa: E402,F401  (SQLite and PostgreSQL evidence stores)
