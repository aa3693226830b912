"""The contract between the delivery core and a provider plugin.

A plugin registers one :class:`Provider` per service it can talk to. The core validates the private
connector settings against ``Provider.settings_model`` (fields typed ``SecretStr`` are secrets),
then calls ``Provider.deliver(request)`` once per attempt. ``deliver`` may be a plain function (it
then runs in a worker thread) or a coroutine function. It returns a :class:`Receipt` or raises a
:class:`DeliveryFailure` carrying a :class:`FailureClass`; any other exception is classified by the
core (see :mod:`cavra_notify.failures`).
"""

from __future__ import annotations

import enum
import math
import typing
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pydantic import BaseModel


class FailureClass(enum.StrEnum):
    """Why an attempt failed. Only the first four are retried."""

    RATE_LIMITED = "rate_limited"
    SERVER_ERROR = "server_error"
    TIMEOUT = "timeout"
    CONNECTION = "connection"
    AUTH = "auth"
    CLIENT_ERROR = "client_error"
    PLUGIN_ERROR = "plugin_error"

    @property
    def retryable(self) -> bool:
        return self in _RETRYABLE


_RETRYABLE = {
    FailureClass.RATE_LIMITED,
    FailureClass.SERVER_ERROR,
    FailureClass.TIMEOUT,
    FailureClass.CONNECTION,
}


class DeliveryFailure(Exception):
    """Raised by a provider when one attempt failed.

    ``retry_after`` is the server's requested wait in seconds (already parsed), if any.
    The message must not contain a secret; the core scrubs it again anyway.
    """

    def __init__(
        self,
        failure_class: FailureClass,
        message: str,
        *,
        status_code: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.failure_class = FailureClass(failure_class)
        self.message = message
        self.status_code = status_code
        self.retry_after = _sane_wait(retry_after)


MAX_RETRY_AFTER = 3600.0
"""Longest wait a server's ``Retry-After`` can ask for; longer ones are capped (the deadline caps it again)."""


def _sane_wait(seconds: object) -> float | None:
    """A finite wait in [0, MAX_RETRY_AFTER], or ``None``: NaN, infinities and non-numbers are ignored, so no
    plugin can stall a run or put a non-JSON number into the evidence."""
    if isinstance(seconds, bool) or not isinstance(seconds, int | float):
        return None
    try:
        value = float(seconds)
    except OverflowError:  # an int too large for a float
        return MAX_RETRY_AFTER
    return min(max(0.0, value), MAX_RETRY_AFTER) if math.isfinite(value) else None


@dataclass(frozen=True)
class Message:
    """The human message every provider renders in its own format.

    ``facts`` are short labelled strings (schedule id, environment, status, next due time, owners,
    providers and, when checks failed, why), in display order.
    """

    title: str
    summary: str
    runbook_ref: str
    facts: Mapping[str, str]
    alert_level: str

    def to_json(self) -> dict[str, Any]:
        return {"title": self.title, "summary": self.summary, "runbook_ref": self.runbook_ref,
                "facts": dict(self.facts), "alert_level": self.alert_level}


@dataclass(frozen=True)
class Route:
    """One (owner, provider) route of a plan: who is notified through which connector."""

    route_key: str
    owner: str
    provider: str
    acknowledgement_minutes: int
    escalation_owner: str

    def to_json(self) -> dict[str, Any]:
        return {"route_key": self.route_key, "owner": self.owner, "provider": self.provider,
                "acknowledgement_minutes": self.acknowledgement_minutes, "escalation_owner": self.escalation_owner}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Route:
        return cls(data["route_key"], data["owner"], data["provider"], data["acknowledgement_minutes"],
                   data["escalation_owner"])


@dataclass(frozen=True)
class Event:
    """The ``cavra.go_backend.rollback_drill.notification`` event: which schedule, which occurrence, how bad."""

    event_type: str
    event_id: str
    plan_id: str
    schedule_id: str
    occurrence: str
    status: str
    alert_level: str
    next_due_at: str | None
    generated_at: str
    message: Message

    def to_json(self) -> dict[str, Any]:
        return {"event_type": self.event_type, "event_id": self.event_id, "plan_id": self.plan_id,
                "schedule_id": self.schedule_id, "occurrence": self.occurrence, "status": self.status,
                "alert_level": self.alert_level, "next_due_at": self.next_due_at,
                "generated_at": self.generated_at, "message": self.message.to_json()}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Event:
        m = data["message"]
        message = Message(m["title"], m["summary"], m["runbook_ref"], m["facts"], m["alert_level"])
        return cls(data["event_type"], data["event_id"], data["plan_id"], data["schedule_id"], data["occurrence"],
                   data["status"], data["alert_level"], data["next_due_at"], data["generated_at"], message)


@dataclass(frozen=True)
class DeliveryRequest:
    """Everything a provider needs for one attempt at one route.

    ``delivery_key`` is stable for (schedule occurrence, route_key): providers with dedupe support
    (idempotency headers, labels, correlation ids) should use it or ``route.route_key``.
    ``timeout`` is this attempt's budget in seconds; the provider must pass it to its client.
    """

    connector_name: str
    settings: Any
    message: Message
    event: Event
    route: Route
    delivery_key: str
    timeout: float
    attempt: int = 1

    def event_json(self) -> dict[str, Any]:
        """The event as the webhook sends it: the event's JSON plus ``route`` and ``delivery_key``."""
        return {**self.event.to_json(), "route": self.route.to_json(), "delivery_key": self.delivery_key}


@dataclass(frozen=True)
class Receipt:
    """What the service answered. ``outcome`` is ``delivered`` or ``accepted`` (e.g. Teams 202).

    ``details`` holds the provider's public receipt (Slack channel+ts, Jira issue key, ServiceNow
    sys_id+number, ...). It must not contain secrets.
    """

    status_code: int | None = None
    outcome: str = "delivered"
    details: Mapping[str, Any] = field(default_factory=dict)


DeliverFn = Callable[[DeliveryRequest], "Receipt | Awaitable[Receipt]"]


@dataclass(frozen=True)
class Provider:
    """A provider plugin's registration.

    ``target`` describes where a connector delivers (usually a URL); the core redacts it to scheme
    and host before it is stored. ``concurrency`` bounds parallel deliveries to this provider.
    """

    name: str
    settings_model: type[BaseModel]
    deliver: DeliverFn
    target: Callable[[Any], str] = lambda settings: ""
    description: str = ""
    concurrency: int = 8


def secret_field_names(model: type[BaseModel]) -> list[str]:
    """The fields of a settings model that are secrets (typed ``SecretStr`` or ``SecretStr | None``)."""
    from pydantic import SecretStr

    def unwrap(annotation: Any) -> Any:
        return typing.get_args(annotation)[0] if typing.get_origin(annotation) is typing.Annotated else annotation

    names = []
    for name, info in model.model_fields.items():
        annotation = unwrap(info.annotation)
        if annotation is SecretStr or any(unwrap(a) is SecretStr for a in typing.get_args(annotation)):
            names.append(name)
    return names
