#!/usr/bin/env python3
"""Set up a local virtual environment (core + every plugin in this repo) and run a job in it.

    python3 dev.py demo   # evaluate, plan and deliver the bundled examples to local fake services
    python3 dev.py test   # pytest + ruff + mypy

Needs only Python 3.11+ and pip. The environment lives in .venv/ and is reused when up to date.
``test`` also fills .wheelhouse/ with wheels of every third-party dependency and build requirement of
the core and the plugins, so tests/test_fresh_venv.py can install the core plus one plugin into a fresh
virtual environment without any download (it builds the local wheels itself from the current tree).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import tomllib
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / "python"
WHEELHOUSE = ROOT / ".wheelhouse"
PLUGINS = sorted(p for p in (ROOT / "plugins").iterdir() if (p / "pyproject.toml").exists())


def run(*argv: str | Path, env: dict[str, str] | None = None) -> int:
    return subprocess.call([str(a) for a in argv], cwd=ROOT, env=env)


def manifests() -> list[Path]:
    return [ROOT / "pyproject.toml", *(p / "pyproject.toml" for p in PLUGINS)]


def setup(wheelhouse: bool) -> None:
    digest = hashlib.sha256(b"".join(m.read_bytes() for m in manifests())).hexdigest()
    stamp = VENV / ".cavra-setup"
    if not (stamp.exists() and stamp.read_text() == digest and PY.exists()):
        if not PY.exists():
            print("creating .venv ...", flush=True)
            venv.EnvBuilder(with_pip=True).create(VENV)
        print("installing cavra-notify and its plugins into .venv ...", flush=True)
        packages = ["-e", ".[api,test,postgres,signing]"]
        for plugin in PLUGINS:
            packages += ["-e", str(plugin.relative_to(ROOT))]
        code = run(PY, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *packages)
        if code:
            sys.exit(code)
        stamp.write_text(digest)
    if wheelhouse:
        build_wheelhouse(digest)


def canonical(requirement: str) -> str:
    return re.sub(r"[-_.]+", "-", re.split(r"[^A-Za-z0-9._-]", requirement.strip(), maxsplit=1)[0]).lower()


def build_wheelhouse(digest: str) -> None:
    """Wheels of every dependency (with theirs) and build requirement named in the manifests, apart from
    the local packages themselves: the fresh-venv test builds those from the current tree."""
    stamp = WHEELHOUSE / ".cavra-setup"
    if stamp.exists() and stamp.read_text() == digest:
        return
    print("building .wheelhouse (dependencies for the fresh-venv test) ...", flush=True)
    documents = [tomllib.loads(m.read_text()) for m in manifests()]
    local = {canonical(d["project"]["name"]) for d in documents}
    requirements = sorted({r for d in documents for r in [*d["build-system"]["requires"], *d["project"]["dependencies"]]
                           if canonical(r) not in local})
    staging = WHEELHOUSE.with_name(".wheelhouse.partial")
    shutil.rmtree(staging, ignore_errors=True)
    code = run(PY, "-m", "pip", "wheel", "--quiet", "--disable-pip-version-check", "--wheel-dir", staging,
               *requirements)
    if code:
        sys.exit(code)
    (staging / ".cavra-setup").write_text(digest)
    shutil.rmtree(WHEELHOUSE, ignore_errors=True)
    staging.rename(WHEELHOUSE)


def test(extra: list[str]) -> int:
    for step in (["-m", "ruff", "check", "."], ["-m", "mypy", "cavra_notify", "plugins"]):
        print(f"$ python {' '.join(step)}", flush=True)
        if run(PY, *step):
            return 1
    print("$ python -m pytest", flush=True)
    return run(PY, "-m", "pytest", "-q", *extra, env={**os.environ, "CAVRA_REQUIRE_WHEELHOUSE": "1"})


def main() -> int:
    job = sys.argv[1] if len(sys.argv) > 1 else "demo"
    if job not in ("demo", "test"):
        print(__doc__)
        return 2
    setup(wheelhouse=job == "test")
    if job == "test":
        return test(sys.argv[2:])
    return run(PY, ROOT / "examples" / "demo.py")


if __name__ == "__main__":
    sys.exit(main())
