"""cavra-notify provider for ServiceNow: one record per route, found again by its correlation id.

Each delivery looks in the table for an active record whose ``correlation_id`` is the route key. If
there is one, the notification is added to it as a work note; otherwise a record is created. The
Table API is reached through ``pysnow``; retries are the core's job, so the transport never retries.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any

import pysnow
import requests
from pysnow.exceptions import MissingResult

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

from .settings import RESERVED_FIELDS, ServiceNowSettings

CORRELATION_DISPLAY = "cavra-notify"
MAX_CORRELATION_ID = 100
MAX_SHORT_DESCRIPTION = 160
__all__ = ["PROVIDER", "RESERVED_FIELDS", "ServiceNowSettings", "correlation_id", "deliver"]
_SYS_ID = re.compile(r"^[A-Za-z0-9]{1,64}$")


class UnexpectedAnswer(Exception):
    """ServiceNow answered success with a body that is not what the Table API documents."""


def correlation_id(route_key: str) -> str:
    """The route key itself when it is short and plain, else a deterministic hashed form.

    ``correlation_id`` is a 100-character string column; keeping it to ``A-Z a-z 0-9 _ . : -``
    also keeps it safe inside an encoded query. Changed keys get a hash suffix so that two
    different route keys never share an id.
    """
    return stable_key(route_key, limit=MAX_CORRELATION_ID, digest_chars=16)


class TimeoutSession(requests.Session):
    """A session that gives every request this attempt's timeout, applies the core's network settings
    (never the environment's) and never retries.

    pysnow builds the requests itself; this is where the per-attempt budget is enforced.
    """

    def __init__(self, timeout: float, settings: ServiceNowSettings) -> None:
        super().__init__()
        self.timeout = timeout
        self.trust_env = False
        adapter = requests_adapter(settings)
        for prefix in ("http://", "https://"):
            self.mount(prefix, adapter)

    def request(self, method: str, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        kwargs["timeout"] = self.timeout
        return super().request(method, url, *args, **kwargs)

    def __repr__(self) -> str:
        return f"<TimeoutSession timeout={self.timeout}>"


def _record(value: Any) -> tuple[str, str]:
    if not isinstance(value, Mapping):
        raise UnexpectedAnswer("record is not an object")
    sys_id, number = value.get("sys_id"), value.get("number")
    if not isinstance(sys_id, str) or not _SYS_ID.match(sys_id) or not isinstance(number, str):
        raise UnexpectedAnswer("record has no sys_id or number")
    return sys_id, number


class _Records:
    """The table's active records by ``correlation_id``; a fresh Resource per call (pysnow shares query
    parameters between calls on one Resource)."""

    def __init__(self, client: pysnow.Client, settings: ServiceNowSettings) -> None:
        self.client, self.settings = client, settings

    def _table(self) -> Any:
        return self.client.resource(api_path=f"/table/{self.settings.table}")

    def find_open(self, key: str) -> tuple[str, str] | None:
        query = f"active=true^correlation_id={key}^ORDERBYDESCsys_created_on"
        found = self._table().get(query=query, limit=1, fields=["sys_id", "number"]).all()
        if not isinstance(found, list):
            raise UnexpectedAnswer("query result is not a list")
        return _record(found[0]) if found else None

    def comment(self, record: tuple[str, str], text: str) -> Receipt:
        sys_id, number = record
        self._table().request("PATCH", path_append=f"/{sys_id}", data=json.dumps({"work_notes": text})).one()
        return Receipt(status_code=200, details={"sys_id": sys_id, "number": number, "action": "reused"})

    def create(self, key: str, summary: str, description: str) -> Receipt:
        payload: dict[str, str] = dict(self.settings.extra_fields)
        if self.settings.assignment_group:
            payload["assignment_group"] = self.settings.assignment_group
        payload |= {"short_description": summary, "description": description, "correlation_id": key,
                    "correlation_display": CORRELATION_DISPLAY}
        sys_id, number = _record(self._table().create(payload).one())
        return Receipt(status_code=201, details={"sys_id": sys_id, "number": number, "action": "created"})


def _deliver_with(client: pysnow.Client, request: DeliveryRequest) -> Receipt:
    key = correlation_id(request.route.route_key)
    return comment_or_create(_Records(client, request.settings), request, key,
                             summary_limit=MAX_SHORT_DESCRIPTION)


def _http_failure(response: requests.Response) -> DeliveryFailure:
    status = response.status_code
    failure_class = classify_status(status) or FailureClass.SERVER_ERROR
    retry_after = parse_retry_after(header(response.headers, "Retry-After"))
    message = f"ServiceNow request failed with HTTP {status}"
    if failure_class is FailureClass.AUTH:
        message = f"ServiceNow rejected the credentials or permissions (HTTP {status})"
    details = _error_details(response) if status < 500 else ""
    if details:
        message = f"{message}: {details}"
    return DeliveryFailure(failure_class, message, status_code=status, retry_after=retry_after)


def _error_details(response: requests.Response) -> str:
    """ServiceNow's ``{"error": {"message": ..., "detail": ...}, "status": "failure"}`` as one line."""
    try:
        body = response.json()
    except ValueError:
        return ""
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return ""
    parts = [str(error[k]) for k in ("message", "detail") if error.get(k)]
    return " - ".join(parts)[:300]


def deliver(request: DeliveryRequest) -> Receipt:
    """Add a work note to the route's active record, or create it. One attempt; the core retries.

    Failures are raised outside the ``except`` blocks so that no transport exception is chained.
    """
    settings: ServiceNowSettings = request.settings
    session = TimeoutSession(request.timeout, settings)
    session.auth = (settings.user, settings.password.get_secret_value())
    try:
        client = pysnow.Client(host=settings.host, use_ssl=settings.use_ssl, session=session)
        return _deliver_with(client, request)
    except requests.HTTPError as exc:
        if exc.response is None:
            failure = DeliveryFailure(FailureClass.SERVER_ERROR, "ServiceNow answered without a response")
        else:
            failure = _http_failure(exc.response)
    except (UnexpectedAnswer, MissingResult, requests.exceptions.JSONDecodeError):
        failure = DeliveryFailure(FailureClass.SERVER_ERROR, "ServiceNow answered with an unexpected body")
    except Exception as exc:
        failure = classify_exception(exc)
    finally:
        session.close()
    raise failure


def target(settings: ServiceNowSettings) -> str:
    return settings.instance_url


PROVIDER = Provider(
    name="servicenow",
    settings_model=ServiceNowSettings,
    deliver=deliver,
    target=target,
    description="ServiceNow record per route (Table API via pysnow), reused by correlation_id",
    concurrency=4,
)


@hookimpl
def cavra_register_providers(register: Callable[[Provider], None]) -> None:
    register(PROVIDER)


@hookimpl
def cavra_conformance_cases() -> list[Any]:
    from .conformance import cases  # the test kit loads only for `cavra plugins check`

    return cases()
