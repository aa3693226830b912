"""cavra-notify provider for Jira: one issue per route, commented on instead of duplicated.

Each delivery searches (JQL) for an open issue in the project carrying the route's label. If there
is one, the notification becomes a comment on it; otherwise a new issue is created with the route
label and ``cavra-rollback-drill``. Retries are the core's job: the SDK's own retry loop is off.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

import jira
import requests

from cavra_notify import (
    DeliveryFailure,
    DeliveryRequest,
    FailureClass,
    Provider,
    Receipt,
    classify_exception,
    classify_status,
    comment_or_create,
    header,
    hookimpl,
    parse_retry_after,
    requests_adapter,
    stable_key,
)

from .settings import MAX_LABEL, JiraSettings

DRILL_LABEL = "cavra-rollback-drill"
LABEL_PREFIX = "cavra-route-"
MAX_SUMMARY = 255
_jira_logger_lock = threading.Lock()
__all__ = ["DRILL_LABEL", "PROVIDER", "JiraSettings", "deliver", "route_label"]


class UnexpectedAnswer(Exception):
    """Jira answered success with a body that is not what its API documents."""


def route_label(route_key: str) -> str:
    """The Jira label for a route key: deterministic, no spaces, at most 255 characters.

    Keys that had to be changed (unsafe characters, too long) get a hash suffix so that two
    different route keys never share a label.
    """
    return stable_key(route_key, prefix=LABEL_PREFIX, limit=MAX_LABEL, digest_chars=12)


def _jql_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _client(settings: JiraSettings, timeout: float) -> jira.JIRA:
    jira_logger = logging.getLogger("jira")
    with _jira_logger_lock:
        level = jira_logger.level
        try:
            client = jira.JIRA(
                server=settings.server,
                basic_auth=(settings.email, settings.api_token.get_secret_value()),
                timeout=timeout,
                max_retries=0,
                get_server_info=False,
                options={"check_update": False},
            )
        finally:
            jira_logger.setLevel(level)  # JIRA() resets the library logger level on every call
    session = client._session
    session.trust_env = False  # the core's network settings decide proxy and trust store, not the environment
    adapter = requests_adapter(settings)
    for prefix in ("http://", "https://"):
        session.mount(prefix, adapter)
    if settings.is_cloud:
        client.deploymentType = "Cloud"  # selects the /search/jql API without a serverInfo call
    return client


class _Issues:
    """The project's issues carrying a route label (wiki markup: REST v2 takes plain wiki text)."""

    def __init__(self, client: jira.JIRA, settings: JiraSettings) -> None:
        self.client, self.settings = client, settings

    def find_open(self, label: str) -> str | None:
        jql = (
            f"project = {_jql_string(self.settings.project)} AND labels = {_jql_string(label)} "
            "AND statusCategory != Done ORDER BY created DESC"
        )
        found = self.client.search_issues(
            jql, maxResults=1, fields=["summary", "status", "labels"], json_result=True
        )
        issues = found.get("issues") if isinstance(found, dict) else None
        if not isinstance(issues, list):
            raise UnexpectedAnswer("search answer has no issues list")
        if not issues:
            return None
        key = issues[0].get("key") if isinstance(issues[0], dict) else None
        if not isinstance(key, str):
            raise UnexpectedAnswer("search answer has an issue without a key")
        return key

    def comment(self, issue_key: str, text: str) -> Receipt:
        self.client.add_comment(issue_key, text)
        return Receipt(status_code=201, details={"issue_key": issue_key, "action": "commented"})

    def create(self, label: str, summary: str, description: str) -> Receipt:
        labels = list(dict.fromkeys([*self.settings.labels, label, DRILL_LABEL]))
        issue = self.client.create_issue(
            fields={
                "project": {"key": self.settings.project},
                "issuetype": {"name": self.settings.issue_type},
                "summary": summary,
                "description": description,
                "labels": labels,
            },
            prefetch=False,
        )
        return Receipt(status_code=201, details={"issue_key": str(issue.key), "action": "created"})


def _deliver_with(client: jira.JIRA, request: DeliveryRequest) -> Receipt:
    return comment_or_create(_Issues(client, request.settings), request, route_label(request.route.route_key),
                             summary_limit=MAX_SUMMARY, ellipsis="…", bold=lambda text: f"*{text}*", bullet="* ")


def _jira_error_failure(exc: jira.JIRAError) -> DeliveryFailure:
    status = exc.status_code
    response = exc.response if isinstance(exc.response, requests.Response) else None
    failure_class = classify_status(status) if isinstance(status, int) else None
    if failure_class is None:
        return DeliveryFailure(
            FailureClass.SERVER_ERROR,
            f"Jira answered HTTP {status} without the expected result",
            status_code=status,
        )
    retry_after = parse_retry_after(header(response.headers if response is not None else None, "Retry-After"))
    message = f"Jira request failed with HTTP {status}"
    if failure_class is FailureClass.AUTH:
        message = f"Jira rejected the credentials or permissions (HTTP {status})"
    elif failure_class is FailureClass.CLIENT_ERROR and response is not None:
        details = _error_details(response)
        if details:
            message = f"Jira rejected the request (HTTP {status}): {details}"
    return DeliveryFailure(failure_class, message, status_code=status, retry_after=retry_after)


def _error_details(response: requests.Response) -> str:
    """Jira's ``{"errorMessages": [...], "errors": {"field": "message"}}`` as one line."""
    try:
        body = response.json()
    except ValueError:
        return ""
    if not isinstance(body, dict):
        return ""
    parts = [str(m) for m in body.get("errorMessages") or [] if m]
    errors = body.get("errors")
    if isinstance(errors, dict):
        parts += [f"{field}: {text}" for field, text in errors.items()]
    return "; ".join(parts)[:500]


def deliver(request: DeliveryRequest) -> Receipt:
    """Comment on the route's open issue, or create it. One attempt; the core retries.

    Failures are raised outside the ``except`` blocks so that no SDK exception (whose text carries
    request headers) is chained to the :class:`DeliveryFailure`.
    """
    client: jira.JIRA | None = None
    try:
        client = _client(request.settings, request.timeout)
        return _deliver_with(client, request)
    except jira.JIRAError as exc:
        failure = _jira_error_failure(exc)
    except (UnexpectedAnswer, requests.exceptions.JSONDecodeError):
        failure = DeliveryFailure(FailureClass.SERVER_ERROR, "Jira answered with an unexpected body")
    except Exception as exc:
        failure = classify_exception(exc)
    finally:
        if client is not None:
            client.close()  # type: ignore[no-untyped-call]
    raise failure


def target(settings: JiraSettings) -> str:
    return settings.server


PROVIDER = Provider(
    name="jira",
    settings_model=JiraSettings,
    deliver=deliver,
    target=target,
    description="Jira issue per route (REST v2 via the jira SDK); comments on an open issue instead of duplicating",
    concurrency=4,
)


@hookimpl
def cavra_register_providers(register: Callable[[Provider], None]) -> None:
    register(PROVIDER)


@hookimpl
def cavra_conformance_cases() -> list[Any]:
    from .conformance import cases  # the test kit loads only for `cavra plugins check`

    return cases()
