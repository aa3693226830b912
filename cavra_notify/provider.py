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

from .records import Event, Message, Route

__all__ = ["DeliveryFailure", "DeliveryRequest", "Event", "FailureClass", "Message", "Provider", "Receipt", "Route",
           "secret_field_names"]

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
    category: str | None = None  # chatops, itsm, webhook, ...; None: by provider name (provider_category)


DEFAULT_CATEGORIES = {"slack": "chatops", "teams": "chatops", "jira": "itsm", "servicenow": "itsm",
                      "webhook": "webhook"}


def provider_category(provider: Provider) -> str:
    """The category a recovery playbook files a provider under: its own, else by its name, else ``other``."""
    return provider.category or DEFAULT_CATEGORIES.get(provider.name, "other")


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
