"""cavra-notify provider for ServiceNow: one record per route, found again by its correlation id.

Each delivery looks in the table for an active record whose ``correlation_id`` is the route key. If
there is one, the notification is added to it as a work note; otherwise a record is created. The
Table API is reached through ``pysnow``; retries are the core's job, so the transport never retries.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

import pysnow
import requests
from pydantic import BaseModel, ConfigDict, SecretStr, field_validator
from pysnow.exceptions import MissingResult
from requests.adapters import HTTPAdapter

from cavra_notify import hookimpl
from cavra_notify.failures import classify_exception, classify_status, header, parse_retry_after
from cavra_notify.provider import (
    DeliveryFailure,
    DeliveryRequest,
    FailureClass,
    Message,
    Provider,
    Receipt,
)

CORRELATION_DISPLAY = "cavra-notify"
MAX_CORRELATION_ID = 100
MAX_SHORT_DESCRIPTION = 160
RESERVED_FIELDS = frozenset(
    {"short_description", "description", "correlation_id", "correlation_display", "work_notes"}
)
_UNSAFE_ID_CHARS = re.compile(r"[^A-Za-z0-9_.:-]+")
_TABLE = re.compile(r"^[A-Za-z0-9_]+$")
_SYS_ID = re.compile(r"^[A-Za-z0-9]{1,64}$")


class UnexpectedAnswer(Exception):
    """ServiceNow answered success with a body that is not what the Table API documents."""


class ServiceNowSettings(BaseModel):
    """Connector settings for one ServiceNow instance and table."""

    model_config = ConfigDict(extra="forbid")

    instance_url: str
    user: str
    password: SecretStr
    table: str = "incident"
    assignment_group: str | None = None
    extra_fields: dict[str, str] = {}

    @field_validator("instance_url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("instance_url must be an http(s) URL such as https://acme.service-now.com")
        if parts.username or parts.password or parts.query or parts.fragment or parts.path.strip("/"):
            raise ValueError("instance_url must be scheme and host only (no credentials, path or query)")
        return f"{parts.scheme}://{parts.netloc}"

    @field_validator("user")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty")
        return value

    @field_validator("table")
    @classmethod
    def _check_table(cls, value: str) -> str:
        if not _TABLE.match(value):
            raise ValueError("table must be a table name such as incident or sn_si_incident")
        return value

    @field_validator("extra_fields")
    @classmethod
    def _check_extra(cls, value: dict[str, str]) -> dict[str, str]:
        clash = sorted(RESERVED_FIELDS & set(value))
        if clash:
            raise ValueError(f"extra_fields must not set fields the plugin fills: {', '.join(clash)}")
        return value

    @property
    def host(self) -> str:
        return urlsplit(self.instance_url).netloc

    @property
    def use_ssl(self) -> bool:
        return self.instance_url.startswith("https://")


def correlation_id(route_key: str) -> str:
    """The route key itself when it is short and plain, else a deterministic hashed form.

    ``correlation_id`` is a 100-character string column; keeping it to ``A-Z a-z 0-9 _ . : -``
    also keeps it safe inside an encoded query. Changed keys get a hash suffix so that two
    different route keys never share an id.
    """
    cleaned = _UNSAFE_ID_CHARS.sub("-", route_key).strip("-") or "route"
    if cleaned == route_key and len(cleaned) <= MAX_CORRELATION_ID:
        return cleaned
    digest = hashlib.sha256(route_key.encode()).hexdigest()[:16]
    return f"{cleaned[: MAX_CORRELATION_ID - len(digest) - 1]}-{digest}"


def render_description(message: Message, owner: str) -> str:
    lines = [
        message.summary,
        "",
        f"Alert level: {message.alert_level}",
        f"Owner: {owner}",
        f"Runbook: {message.runbook_ref}",
    ]
    if message.facts:
        lines += ["", "Facts:"]
        lines += [f"- {key}: {value}" for key, value in message.facts.items()]
    return "\n".join(lines)


class TimeoutSession(requests.Session):
    """A session that gives every request this attempt's timeout and never retries.

    pysnow builds the requests itself; this is where the per-attempt budget is enforced.
    """

    def __init__(self, timeout: float) -> None:
        super().__init__()
        self.timeout = timeout
        for prefix in ("http://", "https://"):
            self.mount(prefix, HTTPAdapter(max_retries=0))

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


def _deliver_with(client: pysnow.Client, request: DeliveryRequest) -> Receipt:
    settings: ServiceNowSettings = request.settings

    def table() -> Any:  # a fresh Resource per call: pysnow shares query params between calls
        return client.resource(api_path=f"/table/{settings.table}")

    owner = str(request.route.get("owner", ""))
    key = correlation_id(str(request.route.get("route_key") or request.delivery_key))
    description = render_description(request.message, owner)

    query = f"active=true^correlation_id={key}^ORDERBYDESCsys_created_on"
    found = table().get(query=query, limit=1, fields=["sys_id", "number"]).all()
    if not isinstance(found, list):
        raise UnexpectedAnswer("query result is not a list")
    if found:
        sys_id, number = _record(found[0])
        note = f"Repeated notification: {request.message.title}\n\n{description}"
        table().request("PATCH", path_append=f"/{sys_id}", data=json.dumps({"work_notes": note})).one()
        return Receipt(status_code=200, details={"sys_id": sys_id, "number": number, "action": "reused"})

    payload: dict[str, str] = dict(settings.extra_fields)
    if settings.assignment_group:
        payload["assignment_group"] = settings.assignment_group
    payload |= {
        "short_description": (f"{request.message.title} ({owner})" if owner else request.message.title)[
            :MAX_SHORT_DESCRIPTION
        ],
        "description": description,
        "correlation_id": key,
        "correlation_display": CORRELATION_DISPLAY,
    }
    sys_id, number = _record(table().create(payload).one())
    return Receipt(status_code=201, details={"sys_id": sys_id, "number": number, "action": "created"})


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
    session = TimeoutSession(request.timeout)
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
