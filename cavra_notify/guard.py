"""Public-safe guard: schedule, history and routing metadata must hold no secret, host or customer.

Findings name the JSON path and the rule, never the value.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from functools import lru_cache
from typing import Any

from .jsonfile import json_path

ALLOWED_REF_SCHEMES = frozenset({"go-rollback-drill", "cavra"})

_SECRET_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("a Slack token", re.compile(r"xox[abposr]-", re.I)),
    ("a bearer credential", re.compile(r"\bbearer\s+\S", re.I)),
    ("a credential query parameter", re.compile(
        r"(?:^|[?&;\s])(?:sig|token|password|passwd|secret|api[_-]?key|access[_-]?token|signature)=", re.I)),
    ("a provider access key", re.compile(r"\b(?:AKIA[0-9A-Z]{16}|gh[pousr]_[A-Za-z0-9]{20,}|glpat-)")),
    ("a long hex run", re.compile(r"[0-9a-fA-F]{32,}")),
    ("a long base64 run", re.compile(r"(?=[A-Za-z0-9+_=-]*[0-9])(?=[A-Za-z0-9+_=-]*[a-z])"
                                     r"(?=[A-Za-z0-9+_=-]*[A-Z])[A-Za-z0-9+_=-]{32,}")),
]
_URL = re.compile(r"([a-zA-Z][a-zA-Z0-9+.-]*)://([^/\s?#]*)")
_IPV4 = re.compile(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d.])")
_IPV6_CANDIDATE = re.compile(r"[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*")
_HOST_TLDS = (
    "com|net|org|io|dev|app|cloud|internal|local|localdomain|corp|lan|intra|intranet|co|us|uk|de|eu|ai|"
    "gov|edu|biz|info|example|test|invalid|svc|cluster|amazonaws|azure|sh|me|tech|site"
)
_HOSTNAME = re.compile(
    rf"(?<![\w@/.-])(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]{{0,62}})\.)+(?:{_HOST_TLDS})(?::\d+)?(?![\w.-])", re.I
)
_LOCALHOST = re.compile(r"(?<![\w-])localhost(?![\w-])", re.I)


def _is_ipv6(candidate: str) -> bool:
    import ipaddress

    try:
        ipaddress.IPv6Address(candidate)
    except ValueError:
        return False
    return True


_KEY = "<key>"


def _walk(node: Any, parts: tuple[int | str, ...] = ()) -> Iterator[tuple[tuple[int | str, ...], str]]:
    if isinstance(node, dict):
        for key, value in node.items():
            key_text = str(key)
            yield (*parts, _KEY), key_text
            yield from _walk(value, (*parts, key_text))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _walk(value, (*parts, index))
    elif isinstance(node, str):
        yield parts, node


def check_text(text: str, deny_names: Iterable[str] = ()) -> str | None:
    """The first rule ``text`` breaks, or ``None`` when it is public-safe."""
    return _check(text, tuple(deny_names))


@lru_cache(maxsize=8192)
def _check(text: str, deny_names: tuple[str, ...]) -> str | None:
    rule = _shape_rule(text)
    if rule:
        return rule
    lowered = text.lower()
    for name in deny_names:
        if name and re.search(rf"(?<![a-z0-9]){re.escape(name.lower())}(?![a-z0-9])", lowered):
            return "a name on the private customer deny-list"
    return None


def _shape_rule(text: str) -> str | None:
    for match in _URL.finditer(text):
        if match.group(1).lower() not in ALLOWED_REF_SCHEMES or match.group(2) and "." in match.group(2):
            return "a URL with a host (only ref schemes such as go-rollback-drill:// and relative paths)"
    for rule, pattern in _SECRET_PATTERNS:
        if pattern.search(text):
            return f"what looks like a connector secret ({rule})"
    if _IPV4.search(text) or any(_is_ipv6(c) for c in _IPV6_CANDIDATE.findall(text)):
        return "an IP address"
    stripped = _URL.sub("", text)
    if _HOSTNAME.search(stripped) or _LOCALHOST.search(stripped):
        return "a hostname"
    return None


def findings(document: Any, deny_names: Iterable[str] = ()) -> list[str]:
    """Every public-safe violation in ``document``: ``"$.path: contains <rule>"``."""
    names = tuple(n for n in deny_names if n)
    out: list[str] = []
    for parts, text in _walk(document):
        rule = _check(text, names)
        if rule and parts and parts[-1] == _KEY:
            out.append(f"{json_path(parts[:-1])}: a key contains {rule}")
        elif rule:
            out.append(f"{json_path(parts)}: contains {rule}")
    return out
