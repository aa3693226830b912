#!/usr/bin/env python3
"""Set up a local virtual environment (core + every plugin in this repo) and run a job in it.

    python3 dev.py demo   # evaluate, plan and deliver the bundled examples to local fake services
    python3 dev.py test   # pytest + ruff + mypy

Needs only Python 3.11+ and pip. The environment lives in .venv/ and is reused when up to date.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / "python"
PLUGINS = sorted(p for p in (ROOT / "plugins").iterdir() if (p / "pyproject.toml").exists())


def run(*argv: str | Path, env: dict[str, str] | None = None) -> int:
    return subprocess.call([str(a) for a in argv], cwd=ROOT, env=env)


def setup() -> None:
    stamp = VENV / ".cavra-setup"
    manifests = [ROOT / "pyproject.toml", *(p / "pyproject.toml" for p in PLUGINS)]
    digest = hashlib.sha256(b"".join(m.read_bytes() for m in manifests)).hexdigest()
    if stamp.exists() and stamp.read_text() == digest and PY.exists():
        return
    if not PY.exists():
        print("creating .venv ...", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    print("installing cavra-notify and its plugins into .venv ...", flush=True)
    packages = ["-e", ".[api,test]"]
    for plugin in PLUGINS:
        packages += ["-e", str(plugin.relative_to(ROOT))]
    code = run(PY, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *packages)
    if code:
        sys.exit(code)
    stamp.write_text(digest)


def test(extra: list[str]) -> int:
    for step in (["-m", "ruff", "check", "."], ["-m", "mypy", "cavra_notify"]):
        print(f"$ python {' '.join(step)}", flush=True)
        if run(PY, *step):
            return 1
    print("$ python -m pytest", flush=True)
    return run(PY, "-m", "pytest", "-q", *extra)


def main() -> int:
    job = sys.argv[1] if len(sys.argv) > 1 else "demo"
    if job not in ("demo", "test"):
        print(__doc__)
        return 2
    setup()
    if job == "test":
        return test(sys.argv[2:])
    return run(PY, ROOT / "examples" / "demo.py")


if __name__ == "__main__":
    sys.exit(main())
