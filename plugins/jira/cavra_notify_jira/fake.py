"""A local fake of the Jira REST API v2, enough for the provider and the quickstart demo.

Serves the paths the ``jira`` SDK calls: ``GET /rest/api/2/serverInfo``, ``GET /rest/api/2/field``,
``GET|POST /rest/api/2/search`` (Server/Data Center), ``GET|POST /rest/api/{2,3}/search/jql``
(Cloud; on a Cloud fake the old ``/search`` answers 410 as Jira Cloud does),
``POST /rest/api/2/issue``, ``GET /rest/api/2/issue/{key}`` and
``POST /rest/api/2/issue/{key}/comment``. Basic auth is checked; issues live in memory.

    with FakeJira(email="bot@example.invalid", api_token=token) as fake:
        settings = {"server": fake.url, "email": "bot@example.invalid", "api_token": token,
                    "project": "OPS"}
"""

from __future__ import annotations

import base64
import re
import ssl
import threading
from dataclasses import dataclass, field
from typing import Any

from cavra_notify.testkit import LOOPBACK, FakeService, Request, Response

_ISSUE = re.compile(r"^/rest/api/2/issue/([A-Z][A-Z0-9_]*-\d+)$")
_COMMENT = re.compile(r"^/rest/api/2/issue/([A-Z][A-Z0-9_]*-\d+)/comment$")
_SEARCH_JQL = re.compile(r"^/rest/api/[23]/search/jql$")
_CLAUSE = re.compile(r'^\s*(\w+)\s*(=|!=)\s*("(?:[^"\\]|\\.)*"|[\w.-]+)\s*$')

OPEN = {"name": "To Do", "statusCategory": {"key": "new", "name": "To Do"}}
DONE = {"name": "Done", "statusCategory": {"key": "done", "name": "Done"}}
FIELDS = [
    {"id": fid, "key": fid, "name": name, "custom": False, "navigable": True, "searchable": True,
     "clauseNames": [fid]}
    for fid, name in [("summary", "Summary"), ("description", "Description"), ("labels", "Labels"),
                      ("status", "Status"), ("project", "Project"), ("issuetype", "Issue Type"),
                      ("created", "Created")]
]


def _error(status: int, messages: list[str] | None = None, errors: dict[str, str] | None = None) -> Response:
    return Response(status, {"errorMessages": messages or [], "errors": errors or {}})


@dataclass
class FakeIssue:
    key: str
    id: str
    fields: dict[str, Any]
    comments: list[str] = field(default_factory=list)

    @property
    def labels(self) -> list[str]:
        return list(self.fields.get("labels") or [])

    @property
    def open(self) -> bool:
        return bool(self.fields["status"]["statusCategory"]["key"] != "done")


class FakeJira(FakeService):
    """In-memory Jira with real paths, status codes and error shapes, on 127.0.0.1."""

    def __init__(
        self,
        *,
        email: str = "cavra-bot@example.invalid",
        api_token: str = "fake-jira-token",
        projects: tuple[str, ...] = ("OPS",),
        issue_types: tuple[str, ...] = ("Task", "Bug", "Incident"),
        deployment: str = "Server",
        check_auth: bool = True,
        host: str = LOOPBACK,
        port: int = 0,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.check_auth = check_auth
        self.expected_auth = "Basic " + base64.b64encode(f"{email}:{api_token}".encode()).decode()
        self.projects = projects
        self.issue_types = issue_types
        self.deployment = deployment
        self.issues: dict[str, FakeIssue] = {}
        self._next_id = 10000
        self._field_errors: list[dict[str, str]] = []
        self._lock = threading.Lock()
        super().__init__(host, port, tls=tls)

    def reject_next_create(self, errors: dict[str, str]) -> None:
        """Answer the next ``POST /rest/api/2/issue`` with 400 and these field errors."""
        with self._lock:
            self._field_errors.append(errors)

    def resolve(self, key: str) -> None:
        """Move an issue to Done (it is then no longer open for dedupe)."""
        self.issues[key].fields["status"] = DONE

    def add_issue(self, labels: list[str], project: str = "OPS", summary: str = "existing") -> str:
        with self._lock:
            return self._store(project, {"summary": summary, "labels": labels,
                                         "issuetype": {"name": "Task"}}).key

    def handle(self, request: Request) -> Response:
        if self.check_auth and request.header("Authorization") != self.expected_auth:
            return _error(401, ["You are not authenticated. Authentication required to perform this operation."])
        return self.scripted(request, self._route)  # scripts apply after the auth check

    def _route(self, method: str, path: str, request: Request) -> Response:
        if path == "/rest/api/2/serverInfo" and method == "GET":
            return Response(200, self._server_info())
        if path == "/rest/api/2/field" and method == "GET":
            return Response(200, FIELDS)
        if path == "/rest/api/2/search" and method in ("GET", "POST"):
            if self.deployment == "Cloud":
                return _error(410, ["The requested API has been removed. Please migrate to /rest/api/3/search/jql."])
            return self._search(request, token_paging=False)
        if _SEARCH_JQL.match(path) and method in ("GET", "POST"):
            return self._search(request, token_paging=True)
        if path == "/rest/api/2/issue" and method == "POST":
            return self._create(request)
        if (match := _ISSUE.match(path)) and method == "GET":
            issue = self.issues.get(match.group(1))
            return Response(200, self._issue_json(issue)) if issue else self._no_issue()
        if (match := _COMMENT.match(path)) and method == "POST":
            return self._comment(match.group(1), request)
        return _error(404, [f"No resource found for {method} {path}"])

    def _server_info(self) -> dict[str, Any]:
        return {"baseUrl": self.url, "version": "9.12.0", "versionNumbers": [9, 12, 0],
                "deploymentType": self.deployment, "buildNumber": 9120000, "serverTitle": "Fake Jira"}

    def _params(self, request: Request) -> dict[str, Any]:
        if request.method == "POST":
            body = request.json()
            return body if isinstance(body, dict) else {}
        return {k: (v if k == "fields" else v[0]) for k, v in request.query.items()}

    def _search(self, request: Request, *, token_paging: bool) -> Response:
        params = self._params(request)
        try:
            predicates = _parse_jql(str(params.get("jql", "")))
        except ValueError as exc:
            return _error(400, [f"Error in the JQL Query: {exc}"])
        limit = int(params.get("maxResults") or 50)
        with self._lock:
            found = [i for i in self.issues.values() if all(p(i) for p in predicates)]
        found.sort(key=lambda i: int(i.id), reverse=True)
        page = [self._issue_json(i) for i in found[:limit]]
        if token_paging:
            return Response(200, {"issues": page, "isLast": len(found) <= limit})
        return Response(200, {"expand": "schema,names", "startAt": 0, "maxResults": limit,
                              "total": len(found), "issues": page})

    def _create(self, request: Request) -> Response:
        try:
            body = request.json()
        except ValueError:
            return _error(400, ["Unexpected character in request body."])
        fields = body.get("fields") if isinstance(body, dict) else None
        if not isinstance(fields, dict):
            return _error(400, ["Can not deserialize instance of the issue without fields."])
        with self._lock:
            scripted = self._field_errors.pop(0) if self._field_errors else None
        if scripted:
            return _error(400, errors=scripted)
        errors = self._validate(fields)
        if errors:
            return _error(400, errors=errors)
        project = fields["project"]["key"]
        with self._lock:
            issue = self._store(project, fields)
        return Response(201, {"id": issue.id, "key": issue.key, "self": f"{self.url}/rest/api/2/issue/{issue.id}"})

    def _validate(self, fields: dict[str, Any]) -> dict[str, str]:
        errors: dict[str, str] = {}
        project = fields.get("project")
        if not isinstance(project, dict) or project.get("key") not in self.projects:
            errors["project"] = "valid project is required"
        issuetype = fields.get("issuetype")
        if not isinstance(issuetype, dict) or issuetype.get("name") not in self.issue_types:
            errors["issuetype"] = "valid issue type is required"
        summary = fields.get("summary")
        if not isinstance(summary, str) or not summary.strip():
            errors["summary"] = "You must specify a summary of the issue."
        elif len(summary) > 255:
            errors["summary"] = "Summary must be less than 255 characters."
        labels = fields.get("labels", [])
        if not isinstance(labels, list) or any(not isinstance(x, str) or " " in x or not x for x in labels):
            errors["labels"] = "The label must not contain spaces."
        return errors

    def _store(self, project: str, fields: dict[str, Any]) -> FakeIssue:
        self._next_id += 1
        number = sum(1 for i in self.issues.values() if i.fields["project"]["key"] == project) + 1
        key = f"{project}-{number}"
        stored = {**fields, "project": {"key": project}, "status": OPEN,
                  "created": "2026-06-01T10:00:00.000+0000"}
        issue = FakeIssue(key=key, id=str(self._next_id), fields=stored)
        self.issues[key] = issue
        return issue

    def _comment(self, key: str, request: Request) -> Response:
        issue = self.issues.get(key)
        if issue is None:
            return self._no_issue()
        body = request.json()
        text = body.get("body") if isinstance(body, dict) else None
        if not isinstance(text, str) or not text.strip():
            return _error(400, errors={"comment": "Comment body can not be empty!"})
        with self._lock:
            issue.comments.append(text)
            comment_id = str(20000 + sum(len(i.comments) for i in self.issues.values()))
        return Response(201, {"id": comment_id, "body": text, "created": "2026-06-01T10:05:00.000+0000",
                              "self": f"{self.url}/rest/api/2/issue/{issue.id}/comment/{comment_id}"})

    def _issue_json(self, issue: FakeIssue) -> dict[str, Any]:
        return {"id": issue.id, "key": issue.key, "self": f"{self.url}/rest/api/2/issue/{issue.id}",
                "fields": issue.fields}

    @staticmethod
    def _no_issue() -> Response:
        return _error(404, ["Issue does not exist or you do not have permission to see it."])


def _parse_jql(jql: str) -> list[Any]:
    """``field = "value" AND ...`` for project, labels and statusCategory; ``ORDER BY`` ignored."""
    where = re.split(r"\border\s+by\b", jql, flags=re.IGNORECASE)[0].strip()
    if not where:
        return []
    predicates = []
    for clause in re.split(r"\s+AND\s+", where, flags=re.IGNORECASE):
        match = _CLAUSE.match(clause)
        if not match:
            raise ValueError(f"cannot parse '{clause.strip()}'")
        name, op, raw = match.group(1).lower(), match.group(2), match.group(3)
        value = re.sub(r"\\(.)", r"\1", raw[1:-1]) if raw.startswith('"') else raw
        predicates.append(_predicate(name, op, value))
    return predicates


def _predicate(name: str, op: str, value: str) -> Any:
    def test(issue: FakeIssue) -> bool:
        if name == "project":
            actual: list[str] = [issue.fields["project"]["key"]]
        elif name == "labels":
            actual = issue.labels
        elif name == "statuscategory":
            category = issue.fields["status"]["statusCategory"]
            actual = [category["key"], category["name"]]
        else:
            raise ValueError(name)
        hit = value.lower() in (a.lower() for a in actual) if name == "statuscategory" else value in actual
        return hit if op == "=" else not hit

    if name not in ("project", "labels", "statuscategory"):
        raise ValueError(f"field '{name}' is not supported by this fake")
    return test
