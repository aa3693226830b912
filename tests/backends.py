"""Evidence-store backends for the tests: SQLite always, PostgreSQL on a throwaway local server.

The server is started once per test session: ``initdb`` into a temporary folder, ``pg_ctl`` listening
on a unix socket in that folder and on a free 127.0.0.1 port, ``fsync`` off; as root it runs as the
``postgres`` user (or ``nobody``). It is stopped at the end. Each test gets its own schema. Without
the server binaries the PostgreSQL cases skip, saying how to install them; with ``CI=true`` they fail.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

BACKENDS = ("sqlite", "postgresql")
INSTALL = "install PostgreSQL to run these cases: apt-get install -y postgresql (Debian) and pip install psycopg"
PASSWORD = "pg-test-" + uuid.uuid4().hex  # for the password-over-TCP case; a canary: it must never be printed


def bindir() -> Path | None:
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).resolve().parent
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=lambda p: int(p.parts[-3]))
    return versions[-1].parent if versions else None


class PgServer:
    """A throwaway PostgreSQL server; :meth:`url` gives a URL to a fresh schema."""

    def __init__(self, bin_dir: Path) -> None:
        self.bin = bin_dir
        self.dir = Path(tempfile.mkdtemp(prefix="cavra-pg-"))
        self.data, self.socket = self.dir / "data", self.dir / "sock"
        self.socket.mkdir()
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.user: pwd.struct_passwd | None = None
        if os.geteuid() == 0:
            with contextlib.suppress(KeyError):
                self.user = pwd.getpwnam("postgres")
            self.user = self.user or pwd.getpwnam("nobody")
            for path in (self.dir, self.socket):
                os.chown(path, self.user.pw_uid, self.user.pw_gid)
        (self.dir / "pw").write_text(PASSWORD)
        if self.user:
            os.chown(self.dir / "pw", self.user.pw_uid, self.user.pw_gid)

    def _run(self, *argv: str) -> None:
        prefix = [] if self.user is None else ["setpriv", f"--reuid={self.user.pw_uid}",
                                                f"--regid={self.user.pw_gid}", "--clear-groups"]
        subprocess.run([*prefix, *argv], check=True, capture_output=True, timeout=120, cwd=self.dir)

    def start(self) -> None:
        self._run(str(self.bin / "initdb"), "-D", str(self.data), "-U", "cavra", "--auth-local=trust",
                  "--auth-host=scram-sha-256", f"--pwfile={self.dir / 'pw'}", "-E", "UTF8", "--no-locale")
        self.ctl("start", "-w", "-t", "60", "-o",
                 f"-k {self.socket} -p {self.port} -c listen_addresses=127.0.0.1 -c fsync=off"
                 " -c synchronous_commit=off -c full_page_writes=off -c max_connections=200")

    def ctl(self, *argv: str) -> None:
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.dir / "log"), *argv)

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self.ctl("stop", "-m", "immediate", "-w")
        shutil.rmtree(self.dir, ignore_errors=True)

    def url(self, schema: str | None = None) -> str:
        """A URL over the unix socket; with ``schema``, a fresh schema first on the search path."""
        base = f"postgresql://cavra@/postgres?host={quote(str(self.socket), safe='')}&port={self.port}"
        if schema is None:
            return base
        import psycopg

        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
        return base + "&options=" + quote(f"-csearch_path={schema}", safe="")

    def tcp_url(self, schema: str) -> str:
        """The same over 127.0.0.1, where the server asks for the password."""
        self.url(schema)
        return (f"postgresql://cavra@127.0.0.1:{self.port}/postgres?options="
                + quote(f"-csearch_path={schema}", safe=""))


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    found = bindir()
    missing = None if found else "the PostgreSQL server binaries (initdb, pg_ctl)"
    try:
        import psycopg  # noqa: F401
    except ImportError:
        missing = missing or "the psycopg package"
    if missing or found is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI needs {missing}: {INSTALL}")
        pytest.skip(f"{missing} not found: {INSTALL}")
    server = PgServer(found)
    try:
        server.start()
    except subprocess.CalledProcessError as exc:
        server.stop()
        pytest.fail(f"cannot start the test PostgreSQL server: {exc.stderr.decode(errors='replace')[-500:]}")
    yield server
    server.stop()


@pytest.fixture(params=BACKENDS)
def evidence_db(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty evidence store's location on each backend: an SQLite path, or a PostgreSQL URL."""
    if request.param == "sqlite":
        return str(tmp_path / "evidence.db")
    server: PgServer = request.getfixturevalue("pg_server")
    return server.url(f"t_{uuid.uuid4().hex[:12]}")
