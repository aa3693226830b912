"""Render a cavra-notify message as Slack Block Kit blocks plus a plain-text fallback."""

from __future__ import annotations

from typing import Any

from cavra_notify import DeliveryRequest

HEADER_LIMIT = 150
SECTION_LIMIT = 3000
FIELD_LIMIT = 2000
MAX_FIELDS = 10
TEXT_LIMIT = 3000
PRIMARY_FACTS = (("status", "Status"), ("next_due_at", "Next due"))


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _owner(request: DeliveryRequest) -> str:
    return str(request.route.owner or request.message.facts.get("owner", ""))


def _fields(request: DeliveryRequest) -> list[tuple[str, str]]:
    facts = dict(request.message.facts)
    fields = [(label, str(facts.pop(key))) for key, label in PRIMARY_FACTS if key in facts]
    fields.append(("Owner", _owner(request)))
    facts.pop("owner", None)
    fields.extend((key, str(value)) for key, value in facts.items())
    return fields[:MAX_FIELDS]


def render_blocks(request: DeliveryRequest) -> list[dict[str, Any]]:
    message = request.message
    section_fields = [
        {"type": "mrkdwn", "text": _cut(f"*{_escape(name)}*\n{_escape(value)}", FIELD_LIMIT)}
        for name, value in _fields(request)
    ]
    return [
        {"type": "header", "text": {"type": "plain_text", "text": _cut(message.title, HEADER_LIMIT)}},
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": _cut(_escape(message.summary), SECTION_LIMIT)},
            "fields": section_fields,
        },
        {
            "type": "context",
            "elements": [
                {"type": "mrkdwn", "text": _cut(f"Runbook: `{_escape(message.runbook_ref)}`", FIELD_LIMIT)}
            ],
        },
    ]


def render_text(request: DeliveryRequest) -> str:
    message = request.message
    text = f"{message.title}: {message.summary} (owner: {_owner(request)}; runbook: {message.runbook_ref})"
    return _cut(_escape(text), TEXT_LIMIT)
