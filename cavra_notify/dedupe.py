"""One record per route in a ticketing service: find the route's open record and comment, or create it.

Ticketing plugins (Jira by label, ServiceNow by correlation id) share this flow. A plugin supplies
the lookup, the comment and the create as an :class:`OpenRecords`; :func:`comment_or_create` does
the rest, with one description text and one summary rule for both.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from typing import Protocol, TypeVar

from .provider import DeliveryRequest, Message, Receipt

_UNSAFE = re.compile(r"[^A-Za-z0-9_.:-]+")
Found = TypeVar("Found")


def stable_key(route_key: str, *, prefix: str = "", limit: int, digest_chars: int) -> str:
    """``prefix + route_key`` when the key is plain (``A-Z a-z 0-9 _ . : -``) and fits in ``limit``.

    Otherwise the cleaned, shortened key gets a hash suffix of ``digest_chars`` hex digits, so two
    different route keys never share a label or id.
    """
    cleaned = _UNSAFE.sub("-", route_key).strip("-") or "route"
    key = prefix + cleaned
    if cleaned == route_key and len(key) <= limit:
        return key
    digest = hashlib.sha256(route_key.encode()).hexdigest()[:digest_chars]
    return f"{key[: limit - digest_chars - 1]}-{digest}"


def render_description(message: Message, owner: str, *, bold: Callable[[str], str] = str,
                       bullet: str = "- ") -> str:
    """The record's description: summary, alert level, owner, runbook and the facts."""
    lines = [
        message.summary,
        "",
        f"{bold('Alert level:')} {message.alert_level}",
        f"{bold('Owner:')} {owner}",
        f"{bold('Runbook:')} {message.runbook_ref}",
    ]
    if message.facts:
        lines += ["", bold("Facts:")]
        lines += [f"{bullet}{key}: {value}" for key, value in message.facts.items()]
    return "\n".join(lines)


def summary(message: Message, owner: str, *, limit: int, ellipsis: str = "") -> str:
    """``title (owner)``, shortened to ``limit`` characters (ending in ``ellipsis`` when cut)."""
    text = f"{message.title} ({owner})" if owner else message.title
    return text if len(text) <= limit else text[: limit - len(ellipsis)] + ellipsis


class OpenRecords(Protocol[Found]):
    """A plugin's view of its service's records for one delivery."""

    def find_open(self, key: str) -> Found | None:
        """The newest open record carrying ``key`` (label, correlation id), or ``None``."""

    def comment(self, record: Found, text: str) -> Receipt:
        """Add ``text`` to ``record`` (a comment, a work note)."""

    def create(self, key: str, summary: str, description: str) -> Receipt:
        """Create a record carrying ``key``."""


def comment_or_create(records: OpenRecords[Found], request: DeliveryRequest, key: str, *, summary_limit: int,
                      ellipsis: str = "", bold: Callable[[str], str] = str, bullet: str = "- ") -> Receipt:
    """Comment on the route's open record if there is one, else create it. One attempt; the core retries."""
    owner = request.route.owner
    description = render_description(request.message, owner, bold=bold, bullet=bullet)
    found = records.find_open(key)
    if found is not None:
        return records.comment(found, f"Repeated notification: {request.message.title}\n\n{description}")
    return records.create(key, summary(request.message, owner, limit=summary_limit, ellipsis=ellipsis), description)
