"""Build realistic :class:`DeliveryRequest` objects and assert that no secret leaked."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from typing import Any

from ..provider import DeliveryRequest, Event, Message, Provider, Route

SAMPLE_MESSAGE = Message(
    title="CAVRA Go rollback drill schedule critical",
    summary="Rollback drill schedule go_backend_python_fallback_monthly is needs_attention; "
    "next drill due 2026-06-20T15:40:00Z.",
    runbook_ref="docs/go-backend-rollback-drill-scheduling.md",
    facts={
        "schedule_id": "go_backend_python_fallback_monthly",
        "environment": "production-pilot",
        "status": "needs_attention",
        "next_due_at": "2026-06-20T15:40:00Z",
        "owner": "release-governance",
    },
    alert_level="critical",
)


def make_request(
    provider: Provider,
    settings: Mapping[str, Any],
    *,
    route_key: str = "go_backend_python_fallback_monthly:release-governance:sample",
    delivery_key: str = "dk-0123456789abcdef",
    timeout: float = 5.0,
    attempt: int = 1,
    message: Message = SAMPLE_MESSAGE,
) -> DeliveryRequest:
    """A request for one attempt, with ``settings`` validated by the provider's settings model.

    Secrets in ``settings`` must be literals here (the connector config resolves ``env``/``file``).
    """
    route = Route(route_key, message.facts.get("owner", "release-governance"), provider.name, 30, "platform-lead")
    event = Event(
        event_type="cavra.go_backend.rollback_drill.notification",
        event_id=f"evt-{delivery_key}",
        plan_id="plan-sample",
        schedule_id=message.facts.get("schedule_id", "go_backend_python_fallback_monthly"),
        occurrence="go_backend_python_fallback_monthly@2026-06-20T15:40:00Z#needs_attention",
        status=message.facts.get("status", "needs_attention"),
        alert_level=message.alert_level,
        next_due_at=message.facts.get("next_due_at"),
        generated_at="2026-06-01T09:00:00Z",
        message=message,
    )
    return DeliveryRequest(
        connector_name=provider.name,
        settings=provider.settings_model.model_validate(dict(settings)),
        message=message,
        event=event,
        route=route,
        delivery_key=delivery_key,
        timeout=timeout,
        attempt=attempt,
    )


def _texts(obj: Any) -> Iterable[str]:
    if isinstance(obj, logging.LogRecord):
        yield obj.getMessage()
        if obj.exc_info:
            yield logging.Formatter().formatException(obj.exc_info)
        yield from (text for text in (obj.exc_text, obj.stack_info) if text)
        return
    if isinstance(obj, BaseException):
        yield f"{type(obj).__name__}: {obj!s} {obj!r}"
        for arg in obj.args:
            yield from _texts(arg)
        return
    if isinstance(obj, str | bytes):
        yield obj.decode(errors="replace") if isinstance(obj, bytes) else obj
        return
    try:
        yield json.dumps(obj, default=repr)
    except (TypeError, ValueError):
        yield repr(obj)


def assert_no_secret_leak(secrets: Iterable[str], *outputs: Any) -> None:
    """Fail when any secret value appears in any output (strings, bytes, exceptions, log records with
    their exception text, JSON-able objects)."""
    secrets = [s for s in secrets if s]
    for index, output in enumerate(outputs):
        for text in _texts(output):
            for secret in secrets:
                if secret in text:
                    raise AssertionError(f"secret #{secrets.index(secret)} leaked in output #{index}")


def deliver_once(provider: Provider, request: DeliveryRequest) -> Any:
    """Call ``provider.deliver`` once, sync or async, and return its receipt (or raise)."""
    import asyncio
    import inspect

    result = provider.deliver(request)
    if inspect.isawaitable(result):

        async def _await() -> Any:
            return await result

        return asyncio.run(_await())
    return result
