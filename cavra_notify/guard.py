"""Public-safe guard: schedule, history and routing metadata must hold no secret, host or customer.

Findings name the JSON path and the rule, never the value.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from .jsonfile import json_path

ALLOWED_REF_SCHEMES = frozenset({"go-rollback-drill", "cavra"})

_SECRET_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("a Slack token", re.compile(r"xox[abposr]-", re.I)),
    ("a bearer credential", re.compile(r"\bbearer\s+\S", re.I)),
    ("a JSON Web Token", re.compile(r"\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*")),
    ("a credential query parameter", re.compile(
        r"(?:^|[?&;\s])(?:sig|token|password|passwd|secret|api[_-]?key|access[_-]?token|signature)=", re.I)),
    ("a credential assignment", re.compile(
        r"(?<![\w-])(?:password|passwd|passphrase|pwd|secret|client[_-]?secret|api[_-]?key|access[_-]?key|"
        r"private[_-]?key)\s*[:=]\s*\S", re.I)),
    ("a provider access key", re.compile(r"\b(?:AKIA[0-9A-Z]{16}|gh[pousr]_[A-Za-z0-9]{20,}|glpat-)")),
    ("a long hex run", re.compile(r"[0-9a-fA-F]{32,}")),
    ("a long base64 run", re.compile(r"(?=[A-Za-z0-9+_=-]*[0-9])(?=[A-Za-z0-9+_=-]*[a-z])"
                                     r"(?=[A-Za-z0-9+_=-]*[A-Z])[A-Za-z0-9+_=-]{32,}")),
]
_URL = re.compile(r"([a-zA-Z][a-zA-Z0-9+.-]*)://([^/\s?#]*)")
_IPV4 = re.compile(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d.])")
_IPV6_CANDIDATE = re.compile(r"[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*")
# A dotted name whose last label could be a top-level domain (letters only, or an IDN); not part of a
# path, an e-mail address or a longer dotted run. Whether it is a host name is the public suffix list's answer.
_HOST_CANDIDATE = re.compile(r"(?<![\w@/.-])((?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+"
                             r"([a-z]{2,63}|xn--[a-z0-9-]{1,59}))(?::\d+)?(?![\w.-])", re.I)
# Names for private networks and reserved names that the public suffix list does not hold (RFC 2606,
# RFC 6761, RFC 8375, common internal zones).
_PRIVATE_SUFFIXES = frozenset({"internal", "local", "localdomain", "corp", "lan", "intra", "intranet", "home",
                               "private", "svc", "cluster", "example", "test", "invalid", "localhost"})
# File extensions that are also country or generic TLDs: ``rollback.md`` or ``main.tf`` is a file.
_FILE_EXTENSIONS = frozenset({"md", "py", "sh", "pl", "pm", "rs", "tf", "mk", "sc", "ml", "so", "cc", "ps",
                              "zip", "mov"})
_LOCALHOST = re.compile(r"(?<![\w-])localhost(?![\w-])", re.I)


@lru_cache(maxsize=1)
def _suffixes() -> Any:
    """The public suffix list bundled with ``publicsuffixlist`` (ICANN section; read from the
    package's own file, never fetched), loaded on the first dotted name that needs it."""
    from publicsuffixlist import PublicSuffixList

    return PublicSuffixList(accept_unknown=False, only_icann=True)


def _is_hostname(name: str, last_label: str) -> bool:
    last = last_label.lower()
    if last in _PRIVATE_SUFFIXES:
        return True
    if last in _FILE_EXTENSIONS and name.count(".") == 1:
        return False
    return _suffixes().publicsuffix(name.lower()) is not None


def _is_ipv6(candidate: str) -> bool:
    import ipaddress

    try:
        ipaddress.IPv6Address(candidate)
    except ValueError:
        return False
    return True


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
    if any(_is_hostname(m.group(1), m.group(2)) for m in _HOST_CANDIDATE.finditer(stripped)):
        return "a hostname"
    if _LOCALHOST.search(stripped):
        return "a hostname"
    return None


def findings(document: Any, deny_names: Iterable[str] = ()) -> list[str]:
    """Every public-safe violation in ``document``: ``"$.path: contains <rule>"``.

    A path never repeats what it rejects: below a rejected key the key is written as
    ``[<rejected key #N>]`` (its position in its object).
    """
    names = tuple(n for n in deny_names if n)
    out: list[str] = []

    def walk(node: Any, path: str) -> None:
        if isinstance(node, dict):
            for position, (key, value) in enumerate(node.items(), 1):
                rule = _check(str(key), names)
                if rule:
                    out.append(f"{path}: a key contains {rule}")
                walk(value, f"{path}[<rejected key #{position}>]" if rule else path + json_path((str(key),))[1:])
        elif isinstance(node, list):
            for index, value in enumerate(node):
                walk(value, f"{path}[{index}]")
        elif isinstance(node, str):
            rule = _check(node, names)
            if rule:
                out.append(f"{path}: contains {rule}")

    walk(document, "$")
    return out
