"""Render a cavra-notify message as a Teams Adaptive Card or a legacy MessageCard, under 28 KB.

Teams rejects messages over about 28 KB. Long text is cut (with an ellipsis), never refused: each
renderer is tried with a shrinking text budget until the JSON payload fits.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pymsteams

from cavra_notify import DeliveryRequest

MAX_PAYLOAD_BYTES = 28_000
MAX_FACTS = 20
TEXT_BUDGETS = (None, 8000, 2000, 500, 120, 40)
ADAPTIVE_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"
TITLE_COLOR = {"critical": "Attention", "warning": "Warning", "healthy": "Good"}
THEME_COLOR = {"critical": "E81123", "warning": "FFB900", "healthy": "107C10"}


def payload_size(payload: dict[str, Any]) -> int:
    """Bytes of the payload as any JSON encoder would send it at most (ASCII-escaped)."""
    return len(json.dumps(payload).encode())


def _cut(text: str, limit: int | None) -> str:
    return text if limit is None or len(text) <= limit else text[: max(limit - 1, 0)] + "…"


def _facts(request: DeliveryRequest, limit: int | None) -> list[tuple[str, str]]:
    owner = str(request.route.owner or request.message.facts.get("owner", ""))
    facts = [("owner", owner)]
    facts += [(str(k), str(v)) for k, v in request.message.facts.items() if k != "owner"]
    return [(_cut(name, limit), _cut(value, limit)) for name, value in facts[:MAX_FACTS]]


def adaptive_card(request: DeliveryRequest, limit: int | None = None) -> dict[str, Any]:
    message = request.message
    card = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "msteams": {"width": "Full"},
        "body": [
            {"type": "TextBlock", "text": _cut(message.title, limit), "weight": "Bolder", "size": "Medium",
             "wrap": True, "color": TITLE_COLOR.get(message.alert_level, "Default")},
            {"type": "TextBlock", "text": _cut(message.summary, limit), "wrap": True},
            {"type": "FactSet",
             "facts": [{"title": name, "value": value} for name, value in _facts(request, limit)]},
            {"type": "TextBlock", "text": _cut(f"Runbook: {message.runbook_ref}", limit), "wrap": True,
             "isSubtle": True, "size": "Small"},
        ],
    }
    return {
        "type": "message",
        "attachments": [{"contentType": ADAPTIVE_CONTENT_TYPE, "contentUrl": None, "content": card}],
    }


def message_card(card: pymsteams.connectorcard, request: DeliveryRequest, limit: int | None = None) -> None:
    """Fill a pymsteams connector card (legacy Office 365 connector MessageCard)."""
    message = request.message
    card.payload = {}
    card.title(_cut(message.title, limit))
    card.summary(_cut(message.title, limit))
    card.text(_cut(message.summary, limit))
    card.color(THEME_COLOR.get(message.alert_level, "0078D7"))
    section = pymsteams.cardsection()
    section.activityTitle(_cut(f"Runbook: {message.runbook_ref}", limit))
    for name, value in _facts(request, limit):
        section.addFact(name, value)
    card.addSection(section)


def fit(render: Callable[[int | None], dict[str, Any]]) -> dict[str, Any]:
    """The first rendering, by shrinking text budget, whose payload is under the Teams limit."""
    payload: dict[str, Any] = {}
    for limit in TEXT_BUDGETS:
        payload = render(limit)
        if payload_size(payload) < MAX_PAYLOAD_BYTES:
            return payload
    return payload
