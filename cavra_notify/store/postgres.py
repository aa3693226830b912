"""The shared backend: PostgreSQL through psycopg 3 and one psycopg_pool connection pool per store.

Several API replicas and sweep workers may share one database. Claims are exactly-once across
processes and hosts: a first claim is an ``INSERT … ON CONFLICT DO NOTHING`` (a concurrent claimer
waits for the first to commit, then sees its row), later ones lock their rows with ``SELECT … FOR
UPDATE SKIP LOCKED`` (a row another transaction holds is in flight), every process takes its rows in
one order (no deadlock), and leases run on the database's clock. The URL never carries the password:
it comes from a passfile (libpq's ``passfile``/``PGPASSFILE``) or ``CAVRA_EVIDENCE_DB_PASSWORD_FILE``;
the URL is shown with any password removed (:func:`redact_url`).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from ..errors import StoreError
from . import codec, pg_schema
from .protocol import ClaimResult, RouteClaim
from .schema import SCHEMA_VERSION, check_version
from .sql import INSERT_RECORD, SQLStore

PASSWORD_FILE_ENV = "CAVRA_EVIDENCE_DB_PASSWORD_FILE"
CONNECT_TIMEOUT = 10
_NEEDS = "the PostgreSQL evidence store needs psycopg: pip install 'cavra-notify[postgres]'"


def redact_url(url: str) -> str:
    """``url`` without a password (in the user info or a ``password=`` parameter)."""
    try:
        parts = urlsplit(url)
        netloc = parts.netloc
        if parts.password is not None:
            netloc = netloc.replace(f":{parts.password}@", ":***@", 1)
        query = urlencode([(k, "***" if k.lower() == "password" else v) for k, v in parse_qsl(parts.query)],
                          safe="/:*")
        return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
    except ValueError:
        return "postgresql://(unparseable URL)"


def _params(url: str, read_only: bool) -> dict[str, Any]:
    try:
        from psycopg.conninfo import conninfo_to_dict
    except ImportError:
        raise StoreError(_NEEDS) from None
    label = redact_url(url)
    try:
        params: dict[str, Any] = dict(conninfo_to_dict(url))
    except Exception:
        raise StoreError(f"evidence store URL {label} is not a valid PostgreSQL URL") from None
    if params.get("password"):
        raise StoreError(f"evidence store URL {label} carries a password: put it in a passfile or in the file "
                         f"named by {PASSWORD_FILE_ENV}")
    secret = os.environ.get(PASSWORD_FILE_ENV, "").strip()
    if secret:
        try:
            params["password"] = Path(secret).read_text().rstrip("\r\n")
        except OSError as exc:
            raise StoreError(f"{PASSWORD_FILE_ENV}: {secret} cannot be read ({exc.strerror})") from None
    params.setdefault("connect_timeout", CONNECT_TIMEOUT)
    params.setdefault("application_name", "cavra-notify")
    if read_only:
        params["options"] = (str(params.get("options", "")) + " -c default_transaction_read_only=on").strip()
    return params


class PostgresStore(SQLStore):
    """An :class:`~cavra_notify.store.protocol.EvidenceStore` in a PostgreSQL database."""

    plus = False

    def __init__(self, url: str, *, read_only: bool = False, pool_size: int = 4) -> None:
        params = _params(url, read_only)
        self.label = redact_url(url)
        self._secret = str(params.get("password") or "")
        self.clock: Callable[[], datetime] | None = None  # None: the database's clock (tests may pin it)
        self._locks: Any = None  # the connection holding this worker's schedule locks
        import psycopg
        from psycopg_pool import ConnectionPool

        self._psycopg = psycopg
        try:
            with psycopg.connect(**params, autocommit=True) as conn, conn.transaction(), conn.cursor() as cur:
                if read_only:
                    self._check_read_only(cur)
                else:
                    pg_schema.migrate(cur, self.label)
        except psycopg.Error as exc:
            raise self._error(exc) from None
        self._pool = ConnectionPool(kwargs={**params, "autocommit": True}, min_size=1, max_size=pool_size,
                                    check=ConnectionPool.check_connection, timeout=30, name="cavra-evidence",
                                    open=True)

    def _check_read_only(self, cur: Any) -> None:
        version = pg_schema.current_version(cur)
        if version <= 0:
            raise StoreError(f"evidence store {self.label} holds no cavra-notify evidence store (run cavra store "
                             "migrate)")
        check_version(version, self.label)
        if version < SCHEMA_VERSION:
            raise StoreError(f"evidence store {self.label} has schema version {version}; run cavra store migrate")

    def _error(self, exc: Exception) -> StoreError:
        text = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        if self._secret if hasattr(self, "_secret") else False:
            text = text.replace(self._secret, "***")
        return StoreError(f"evidence store {self.label}: {text}")

    def close(self) -> None:
        with contextlib.suppress(Exception):
            if self._locks is not None:
                self._locks.execute("SELECT pg_advisory_unlock_all()")
                self._pool.putconn(self._locks)
            self._pool.close()

    @contextlib.contextmanager
    def _write(self) -> Iterator[Any]:
        from psycopg_pool import PoolTimeout

        try:
            with self._pool.connection() as conn, conn.transaction(), conn.cursor() as cur:
                yield cur
        except self._psycopg.Error as exc:
            raise self._error(exc) from None
        except PoolTimeout:
            raise StoreError(f"evidence store {self.label}: no database connection within 30 s") from None

    _read = _write

    def lock_schedules(self, schedule_ids: Sequence[str]) -> list[str]:
        """Session advisory locks on one held connection: a schedule another worker holds is left to it."""
        if not schedule_ids:
            return []
        for attempt in (1, 2):  # a connection lost with a server restart is replaced once
            try:
                if self._locks is None:
                    self._locks = self._pool.getconn()
                rows = self._locks.execute(
                    "SELECT id FROM unnest(%s::text[]) AS id WHERE pg_try_advisory_lock(hashtextextended("
                    "'cavra:' || id, 0))", [list(schedule_ids)]).fetchall()
                return [str(r[0]) for r in rows]
            except self._psycopg.Error as exc:
                self._drop_locks()
                if attempt == 2:
                    raise self._error(exc) from None
        return []

    def unlock_schedules(self, schedule_ids: Sequence[str]) -> None:
        if not schedule_ids or self._locks is None:
            return
        try:
            self._locks.execute("SELECT pg_advisory_unlock(hashtextextended('cavra:' || id, 0)) FROM"
                                " unnest(%s::text[]) AS id", [list(schedule_ids)])
        except self._psycopg.Error:
            self._drop_locks()  # the session is gone, and its locks with it

    def _drop_locks(self) -> None:
        if self._locks is not None:
            with contextlib.suppress(Exception):
                self._locks.close()
                self._pool.putconn(self._locks)
            self._locks = None

    def after_copy(self) -> None:
        with self._write() as db:
            db.execute("SELECT setval(pg_get_serial_sequence('records', 'seq'), (SELECT COALESCE(MAX(seq), 0) + 1"
                       " FROM records), false)")

    def _sql(self, text: str) -> str:
        return text.replace("?", "%s")

    def _clock(self, db: Any) -> datetime:
        if self.clock is not None:
            return self.clock()
        now: datetime = db.execute(pg_schema.CLOCK_SQL).fetchone()[0]
        return now

    def _insert_record(self, db: Any, row: Mapping[str, Any]) -> int | None:
        found = db.execute(self._sql(INSERT_RECORD) + " RETURNING seq", codec.row_values(row)).fetchone()
        if found is not None:
            return int(found[0])
        self._check_repeat(db, row["kind"], row["record_id"], row["payload"])
        return None

    def _insert_records(self, db: Any, rows: Sequence[Mapping[str, Any]]) -> None:
        if not rows:
            return
        db.executemany(self._sql(INSERT_RECORD), [codec.row_values(row) for row in rows])
        if db.rowcount < len(rows):
            for row in rows:
                self._check_repeat(db, row["kind"], row["record_id"], row["payload"])

    def _claims(self, db: Any, claims: Sequence[RouteClaim], now_utc: datetime, now_s: str, lease: str,
                repeat_interval: timedelta, force: bool) -> list[ClaimResult]:
        keys = [(c.occurrence, c.route_key, c.connector) for c in claims]
        order = sorted(range(len(claims)), key=keys.__getitem__)  # one lock order for every process
        db.executemany(self._sql(codec.CLAIM_INSERT) + " ON CONFLICT DO NOTHING RETURNING occurrence, route_key,"
                       " connector", [(*keys[i], claims[i].delivery_key, now_s, lease) for i in order],
                       returning=True)
        inserted: set[tuple[str, str, str]] = set()
        while True:
            inserted.update(tuple(r) for r in db.fetchall())
            if not db.nextset():
                break
        results: dict[int, ClaimResult] = {i: "send" for i in order if keys[i] in inserted}
        rest = [i for i in order if keys[i] not in inserted]
        if rest:
            columns = list(zip(*(keys[i] for i in rest), strict=True))
            rows = db.execute(
                "SELECT occurrence, route_key, connector, state, lease_until, delivered_at FROM notification_log"
                " WHERE (occurrence, route_key, connector) IN (SELECT * FROM unnest(%s::text[], %s::text[],"
                " %s::text[])) ORDER BY occurrence, route_key, connector FOR UPDATE SKIP LOCKED",
                [list(c) for c in columns]).fetchall()
            found = {tuple(r[:3]): tuple(r[3:]) for r in rows}
            settles, resends = [], []
            for i in rest:
                row = found.get(keys[i])
                if row is None:  # another transaction holds this row right now: it is being claimed or settled
                    results[i] = "in_flight"
                    continue
                results[i] = codec.decide(row, now_utc, now_s, repeat_interval, force)
                if results[i] == "settle":
                    settles.append((now_s, lease, *keys[i]))
                elif results[i] == "send":
                    resends.append((claims[i].delivery_key, now_s, lease, *keys[i]))
            for sql, args in ((codec.CLAIM_SETTLE, settles), (codec.CLAIM_RESEND, resends)):
                if args:
                    db.executemany(self._sql(sql), args)
        return [results[i] for i in range(len(claims))]
