"""The public-safe guard (SPEC §2.4): every rule, reported by JSON path, never echoing the value."""

from __future__ import annotations

import pytest

from cavra_notify.guard import findings

SAFE = [
    "docs/go-backend-rollback-drill-scheduling.md",
    "go-rollback-drill://production-pilot/drill-2026-11-10",
    "runbooks/rollback.md#step-2",
    "go_backend_python_fallback_monthly",
    "2026-06-20T15:40:00Z",
    "release-governance",
    "evidence/2026/drill-0042.json",
    "version 1.2.3 of the runbook",
]


@pytest.mark.parametrize("value", SAFE)
def test_public_safe_values_pass(value: str) -> None:
    assert findings({"x": value}) == []


SECRET_TOKEN = "xox" + "b-1234-5678-abcdefghij"


@pytest.mark.parametrize(("value", "rule"), [
    (SECRET_TOKEN, "Slack token"),
    ("Bearer abc.def.ghi", "bearer"),
    ("see runbook?sig=abc123", "query parameter"),
    ("deploy?token=abc", "query parameter"),
    ("password=hunter22", "query parameter"),
    ("0123456789abcdef" * 3, "hex"),
    ("aGVsbG8gd29ybGQgdGhpcyBpcyBhIHNlY3JldDEyMw==", "base64"),
    ("https://hooks.example.com/services/x", "URL with a host"),
    ("http://10.1.2.3/runbook", "URL with a host"),
    ("ci.corp.internal", "hostname"),
    ("deploy-01.example.com:8443", "hostname"),
    ("localhost:8080", "hostname"),
    ("10.20.30.40", "IP address"),
    ("fe80::1:2:3", "IP address"),
])
def test_each_rule(value: str, rule: str) -> None:
    (finding,) = findings({"owner_routes": {"ops": {"notes": [value]}}})
    assert finding.startswith("$.owner_routes.ops.notes[0]: contains") and rule in finding
    assert value not in finding


def test_customer_deny_list_is_case_insensitive_and_word_bounded() -> None:
    doc = {"owners": ["acme-corp-oncall", "platform"], "reason": "Freeze for ACME CORP launch"}
    found = findings(doc, ["Acme Corp"])
    assert found == ["$.reason: contains a name on the private customer deny-list"]
    assert findings({"x": "acmecorporation"}, ["acme"]) == []


def test_keys_are_checked_too() -> None:
    assert findings({"owner_routes": {"db01.corp.internal": {}}}) == ["$.owner_routes: a key contains a hostname"]
