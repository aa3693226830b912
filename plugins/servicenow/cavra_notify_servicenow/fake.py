"""A local fake of the ServiceNow Table API, enough for the provider and the quickstart demo.

Serves ``GET /api/now/table/{table}`` (``sysparm_query`` with ``field=value``, ``field!=value``,
``ORDERBY``/``ORDERBYDESC``; ``sysparm_limit``; ``sysparm_fields``), ``POST /api/now/table/{table}``
(201), ``GET|PATCH|PUT /api/now/table/{table}/{sys_id}``. Basic auth is checked; error bodies
have ServiceNow's shape ``{"error": {"message", "detail"}, "status": "failure"}``; records live
in memory.

    with FakeServiceNow(user="cavra.bot", password=secret) as fake:
        settings = {"instance_url": fake.url, "user": "cavra.bot", "password": secret}
"""

from __future__ import annotations

import base64
import re
import ssl
import threading
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from cavra_notify.testkit import LOOPBACK, FakeService, Request, Response

_TABLE = re.compile(r"^/api/now/table/([A-Za-z0-9_]+)$")
_RECORD = re.compile(r"^/api/now/table/([A-Za-z0-9_]+)/([A-Za-z0-9]+)$")
_TERM = re.compile(r"^([A-Za-z0-9_.]+)(!=|=)(.*)$")
PREFIXES = {"incident": "INC", "problem": "PRB", "change_request": "CHG", "sc_task": "SCTASK"}


def error(status: int, message: str, detail: str | None = None) -> Response:
    return Response(status, {"error": {"message": message, "detail": detail}, "status": "failure"})


@dataclass
class FakeRecord:
    table: str
    fields: dict[str, str]
    work_notes: list[str] = field(default_factory=list)

    @property
    def sys_id(self) -> str:
        return self.fields["sys_id"]


class FakeServiceNow(FakeService):
    """In-memory ServiceNow Table API with real paths, status codes and error shapes, on 127.0.0.1."""

    def __init__(
        self,
        *,
        user: str = "cavra.bot",
        password: str = "fake-servicenow-password",
        tables: tuple[str, ...] = ("incident", "problem", "change_request"),
        check_auth: bool = True,
        host: str = LOOPBACK,
        port: int = 0,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.check_auth = check_auth
        self.expected_auth = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        self.tables = tables
        self.records: dict[str, FakeRecord] = {}
        self._numbers: dict[str, int] = defaultdict(lambda: 10000)
        self._lock = threading.Lock()
        super().__init__(host, port, tls=tls)

    def add_record(self, table: str = "incident", **fields: str) -> FakeRecord:
        with self._lock:
            return self._store(table, fields)

    def close_record(self, sys_id: str) -> None:
        """Resolve a record: it is no longer ``active``."""
        self.records[sys_id].fields.update(active="false", state="7")

    def in_table(self, table: str = "incident") -> list[FakeRecord]:
        return [r for r in self.records.values() if r.table == table]

    def handle(self, request: Request) -> Response:
        if self.check_auth and request.header("Authorization") != self.expected_auth:
            return error(401, "User Not Authenticated", "Required to provide Auth information")
        return self.scripted(request, self._route)  # scripts apply after the auth check

    def _route(self, method: str, path: str, request: Request) -> Response:
        if match := _TABLE.match(path):
            table = match.group(1)
            if table not in self.tables:
                return error(400, f"Invalid table {table}")
            if method == "GET":
                return self._query(table, request)
            if method == "POST":
                return self._create(table, request)
            return error(405, "Method not Supported", f"{method} is not supported for this resource")
        if match := _RECORD.match(path):
            table, sys_id = match.groups()
            record = self.records.get(sys_id)
            if table not in self.tables or record is None or record.table != table:
                return error(404, "No Record found", "Record doesn't exist or ACL restricts the record retrieval")
            if method == "GET":
                return Response(200, {"result": self._view(record, request)})
            if method in ("PATCH", "PUT"):
                return self._update(record, request)
            return error(405, "Method not Supported", f"{method} is not supported for this resource")
        return error(400, "Requested URI does not represent any resource", path)

    def _query(self, table: str, request: Request) -> Response:
        query = (request.query.get("sysparm_query") or [""])[0]
        try:
            predicates = _parse_query(query)
        except ValueError as exc:
            return error(400, "Invalid query", str(exc))
        limit = int((request.query.get("sysparm_limit") or ["10000"])[0])
        with self._lock:
            found = [r for r in self.records.values() if r.table == table and all(p(r) for p in predicates)]
        if "ORDERBYDESCsys_created_on" in query.split("^"):
            found.reverse()
        rows = [self._view(r, request) for r in found[:limit]]
        return Response(200, {"result": rows}, headers={"X-Total-Count": str(len(found))})

    def _body(self, request: Request) -> dict[str, Any] | None:
        try:
            body = request.json()
        except ValueError:
            return None
        return body if isinstance(body, dict) else None

    def _create(self, table: str, request: Request) -> Response:
        body = self._body(request)
        if body is None:
            return error(400, "Exception while reading request", "The payload is not valid JSON.")
        with self._lock:
            record = self._store(table, {k: str(v) for k, v in body.items() if k != "work_notes"})
            if body.get("work_notes"):
                record.work_notes.append(str(body["work_notes"]))
        return Response(201, {"result": dict(record.fields)},
                        headers={"Location": f"{self.url}/api/now/table/{table}/{record.sys_id}"})

    def _update(self, record: FakeRecord, request: Request) -> Response:
        body = self._body(request)
        if body is None:
            return error(400, "Exception while reading request", "The payload is not valid JSON.")
        with self._lock:
            for key, value in body.items():
                if key == "work_notes":
                    record.work_notes.append(str(value))
                elif key not in ("sys_id", "number"):
                    record.fields[key] = str(value)
            record.fields["sys_updated_on"] = "2026-06-01 10:05:00"
        return Response(200, {"result": dict(record.fields)})

    def _store(self, table: str, fields: dict[str, str]) -> FakeRecord:
        self._numbers[table] += 1
        number = f"{PREFIXES.get(table, 'TASK')}{self._numbers[table]:07d}"
        stamp = "2026-06-01 10:00:00"
        values = {"active": "true", "state": "1", **fields, "sys_id": uuid.uuid4().hex, "number": number,
                  "sys_created_on": stamp, "sys_updated_on": stamp, "work_notes": ""}
        record = FakeRecord(table=table, fields=values)
        self.records[record.sys_id] = record
        return record

    @staticmethod
    def _view(record: FakeRecord, request: Request) -> dict[str, str]:
        wanted = (request.query.get("sysparm_fields") or [""])[0]
        if not wanted:
            return dict(record.fields)
        return {name: record.fields.get(name, "") for name in wanted.split(",") if name}


def _parse_query(query: str) -> list[Any]:
    predicates = []
    for term in filter(None, query.split("^")):
        if term.startswith(("ORDERBY", "ORDERBYDESC")):
            continue
        match = _TERM.match(term)
        if not match:
            raise ValueError(f"unsupported term {term!r}")
        name, op, value = match.groups()
        predicates.append(
            lambda r, n=name, o=op, v=value: (r.fields.get(n, "") == v) == (o == "=")
        )
    return predicates
