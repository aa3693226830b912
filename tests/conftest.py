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


def _import_the_core_now() -> None:
    """Import every cavra_notify module while the tests are collected, on the main thread.

    The ``pytest11`` entry point makes pytest rewrite the asserts of the whole distribution, so a module
    the API imports lazily (``acks`` on the first history request, say) is parsed by pytest on a server
    worker thread; concurrent ``ast.parse`` calls there can fail in CPython 3.11 ("AST constructor
    recursion depth mismatch"), which the live-server tests saw as an occasional HTTP 500. Outside pytest
    nothing is rewritten and the lazy imports stay lazy.
    """
    import contextlib
    import importlib
    import pkgutil

    import cavra_notify

    for module in pkgutil.walk_packages(cavra_notify.__path__, "cavra_notify."):
        if module.name.endswith("__main__"):
            continue
        with contextlib.suppress(ImportError):  # an optional extra that is not installed: its tests skip
            importlib.import_module(module.name)


_import_the_core_now()
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
