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


# Hosts under country TLDs, a JWT and credential assignments: 1 of these 23 passed the hand-written
# TLD list and patterns this guard had before; the public suffix list and two patterns catch all 23.
JWT = "eyJhbGciOiJIUzI1NiJ9" + ".eyJzdWIiOiJvcHMifQ.c2lnbmF0dXJl"
RISKY = ["db1.acme.co.uk", "jenkins.firma.at", "vault.bank.com.au", "ci.example.fr", "git.startup.nl",
         "kube.prod.ch", "mq.intern.se", "api.shop.com.br", "grafana.team.jp", "build.corp.in", "sso.company.pl",
         "deploy.ops.be", "logs.acme.it", "wiki.acme.es", "db.acme.dk", "repo.acme.fi", "mail.acme.no:8443",
         JWT, "password: x", "Password : hunter2", "pwd=abc", "client_secret: abc", "passphrase=correct horse"]
LOOKALIKES = ["rollback.md", "main.tf", "README.md", "see section 4.2", "e.g. the runbook", "drill.v1",
              "schedule.json", "cavra.go-backend-rollback-drill-schedule.v1", "the password policy applies",
              "token rotation is monthly", "i.e. twice"]


@pytest.mark.parametrize("value", RISKY)
def test_hosts_under_country_tlds_jwts_and_password_assignments_are_caught(value: str) -> None:
    (finding,) = findings({"notes": value})
    assert finding.startswith("$.notes: contains") and value not in finding


@pytest.mark.parametrize("value", LOOKALIKES)
def test_file_names_versions_and_prose_are_not_hosts_or_secrets(value: str) -> None:
    assert findings({"x": value}) == []


def test_the_public_suffix_list_is_the_bundled_one_and_never_fetched(monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    from cavra_notify import guard

    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("the guard opened a socket")

    monkeypatch.setattr(socket, "socket", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    guard._suffixes.cache_clear()
    guard._check.cache_clear()
    try:
        assert findings({"x": "grafana.team.jp"}) == ["$.x: contains a hostname"]
    finally:
        guard._suffixes.cache_clear()


def test_a_rejected_key_is_never_repeated_in_a_path() -> None:
    found = findings({"owner_routes": {SECRET_TOKEN: {"notes": "Bearer abcdef"}, "ops": {"x": "ok"}}})
    assert found == ["$.owner_routes: a key contains what looks like a connector secret (a Slack token)",
                     "$.owner_routes[<rejected key #1>].notes: contains what looks like a connector secret "
                     "(a bearer credential)"]
    assert all(SECRET_TOKEN not in f for f in found)


def test_a_deny_listed_name_is_never_repeated_in_a_path() -> None:
    found = findings({"owner_routes": {"Acme Corp oncall": {"host": "db01.corp.internal"}}}, ["Acme Corp"])
    assert found == ["$.owner_routes: a key contains a name on the private customer deny-list",
                     "$.owner_routes[<rejected key #1>].host: contains a hostname"]
    assert all("acme" not in f.lower() for f in found)
