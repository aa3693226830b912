"""The layering of docs/architecture.md, checked: the faces reach the core only through the facade."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "cavra_notify"
# what a face may import from the core: the facade, the error classes and (API only) the redactor
# that scrubs a serialised response; everything else goes through ``cavra_notify.facade``
ALLOWED = {"facade", "errors", "records", "redact", "__init__", "__version__"}
FACE_TO_FACE = {"cli": {"api"}, "api": set()}  # `cavra serve` starts the API


def core_imports(path: Path) -> set[str]:
    """The ``cavra_notify`` modules a face module imports (relative ``..x`` or absolute)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level == 2 and node.module:
                found.add(node.module.split(".")[0])
            elif node.level == 2:
                found.update(alias.name for alias in node.names)
            elif node.level == 0 and (node.module or "").startswith("cavra_notify."):
                found.add((node.module or "").split(".")[1])
        elif isinstance(node, ast.Import):
            found.update(a.name.split(".")[1] for a in node.names if a.name.startswith("cavra_notify."))
    return found


def test_faces_import_only_the_facade() -> None:
    offenders = {}
    for face in ("cli", "api"):
        for path in sorted((PACKAGE / face).glob("*.py")):
            extra = core_imports(path) - ALLOWED - {face} - FACE_TO_FACE[face]
            if extra:
                offenders[f"{face}/{path.name}"] = sorted(extra)
    assert offenders == {}, f"faces must call the facade, not these core modules: {offenders}"


def test_the_checker_sees_a_forbidden_import(tmp_path: Path) -> None:
    face = tmp_path / "face.py"
    face.write_text("from ..store import open_store\nfrom .. import facade\nimport cavra_notify.plan\n")
    assert core_imports(face) == {"store", "facade", "plan"}


def test_planning_imports_nothing_from_the_dispatch_side() -> None:
    dispatch = {"delivery", "provider", "plugins", "hookspecs", "connectors", "store", "failures", "facade"}
    for module in ("plan", "records", "routing", "schedule", "history", "models"):
        imported = set()
        for node in ast.walk(ast.parse((PACKAGE / f"{module}.py").read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 1:
                imported.add((node.module or "").split(".")[0])
        assert not imported & dispatch, f"{module} imports {sorted(imported & dispatch)}"
