"""The core's network settings in every plugin (issue 19): proxy, private CA, mTLS, no leak.

Every plugin is driven through its real SDK with its own conformance case (its settings and a fake
answer of its service), against loopback fakes: a forwarding/CONNECT proxy, a TLS receiver whose
certificate a private CA (trustme) signed, and an mTLS receiver that wants a client certificate.
"""

from __future__ import annotations

import json
import os
import ssl
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme
from cryptography.hazmat.primitives import serialization
from pydantic import ValidationError

from cavra_notify import DeliveryFailure, FailureClass, NetworkSettings, Receipt, proxy_for
from cavra_notify.cli import main
from cavra_notify.testkit import (
    ConformanceCase,
    FakeProxy,
    FakeReceiver,
    assert_no_secret_leak,
    deliver_once,
    make_request,
)


def all_cases() -> list[ConformanceCase]:
    import cavra_notify_jira.conformance
    import cavra_notify_servicenow.conformance
    import cavra_notify_slack.conformance
    import cavra_notify_teams.conformance
    import cavra_notify_webhook.conformance

    modules = (cavra_notify_jira, cavra_notify_servicenow, cavra_notify_slack, cavra_notify_teams,
               cavra_notify_webhook)
    return [case for module in modules for case in module.conformance.cases()]


CASES = all_cases()
IDS = [f"{case.provider.name}-{index}" for index, case in enumerate(CASES)]


def canary(prefix: str) -> str:
    return prefix + "canary" + uuid.uuid4().hex


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def pki(ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The CA file, a server context, and a client certificate whose key is encrypted with a canary."""
    folder = tmp_path_factory.mktemp("pki")
    ca.cert_pem.write_to_path(str(folder / "ca.pem"))
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(server)
    mutual = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(mutual)
    ca.configure_trust(mutual)
    mutual.verify_mode = ssl.CERT_REQUIRED
    client = ca.issue_cert("cavra-client@example.invalid")
    password = canary("keypw-")
    key = serialization.load_pem_private_key(client.private_key_pem.bytes(), password=None)
    encrypted = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.BestAvailableEncryption(password.encode()))
    (folder / "client.key").write_bytes(encrypted)
    (folder / "client.pem").write_bytes(b"".join(blob.bytes() for blob in client.cert_chain_pems))
    return {"ca": str(folder / "ca.pem"), "server": server, "mutual": mutual, "password": password,
            "cert": str(folder / "client.pem"), "key": str(folder / "client.key")}


def attempt(case: ConformanceCase, base_url: str, network: dict[str, Any], timeout: float = 5.0) -> Any:
    """Deliver once with the case's settings plus ``network``; the receipt or the DeliveryFailure."""
    settings = {**case.settings_for(base_url, canary("tok-")), **network}
    try:
        return deliver_once(case.provider, make_request(case.provider, settings, timeout=timeout))
    except DeliveryFailure as failure:
        return failure


@pytest.fixture
def proxy() -> Iterator[tuple[FakeProxy, str]]:
    password = canary("proxypw-")
    with FakeProxy(credentials=("cavra", password)) as running:
        yield running, password


# --- proxy --------------------------------------------------------------------------------------

@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_every_plugin_goes_through_the_proxy_a_connector_names(case: ConformanceCase, pki: dict[str, Any],
                                                                proxy: tuple[FakeProxy, str],
                                                                caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("DEBUG")
    fake, password = proxy
    network = {"proxy": fake.url, "proxy_username": "cavra", "proxy_password": password}
    with FakeReceiver(case.success) as plain, FakeReceiver(case.success, tls=pki["server"]) as secure:
        forwarded = attempt(case, plain.url, network)
        tunnelled = attempt(case, secure.url, {**network, "ca_bundle": pki["ca"]})
        received = len(plain.requests) + len(secure.requests)
    assert isinstance(forwarded, Receipt) and isinstance(tunnelled, Receipt), (forwarded, tunnelled)
    assert received >= 2
    methods = {(seen.method, seen.authorized) for seen in fake.seen}
    assert ("CONNECT", True) in methods and any(m != "CONNECT" and ok for m, ok in methods), fake.seen
    assert any(seen.target.startswith(plain.url) for seen in fake.seen)
    assert any(seen.target == secure.url.removeprefix("https://") for seen in fake.seen)
    assert_no_secret_leak([password], forwarded, tunnelled, caplog.text, *caplog.records)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_no_plugin_uses_a_proxy_the_connector_does_not_name(case: ConformanceCase, proxy: tuple[FakeProxy, str],
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    fake, _ = proxy
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY"):
        monkeypatch.setenv(name, fake.url)  # trust_env defaults to false: the environment is not read
    with FakeReceiver(case.success) as plain:
        assert isinstance(attempt(case, plain.url, {}), Receipt)
        assert isinstance(attempt(case, plain.url, {"proxy": fake.url, "no_proxy": ["127.0.0.1"]}), Receipt)
    assert fake.seen == []


def test_a_wrong_proxy_password_is_an_auth_or_connection_failure_naming_no_secret(
        proxy: tuple[FakeProxy, str]) -> None:
    fake, _ = proxy
    wrong = canary("wrongpw-")
    case = next(c for c in CASES if c.provider.name == "webhook")
    with FakeReceiver(case.success) as plain:
        failure = attempt(case, plain.url, {"proxy": fake.url, "proxy_username": "cavra", "proxy_password": wrong})
    assert isinstance(failure, DeliveryFailure) and failure.failure_class in (FailureClass.AUTH,
                                                                              FailureClass.CONNECTION)
    assert fake.seen and not fake.seen[0].authorized
    assert_no_secret_leak([wrong], failure)


def test_trust_env_lets_the_environment_choose_the_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [n for n in os.environ if n.lower().endswith("_proxy")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:3128")
    monkeypatch.setenv("NO_PROXY", "internal.example")
    trusting = NetworkSettings(trust_env=True)
    assert proxy_for(trusting, "http://hooks.example/x") == "http://127.0.0.1:3128"
    assert proxy_for(trusting, "http://a.internal.example/x") is None
    assert proxy_for(NetworkSettings(), "http://hooks.example/x") is None
    monkeypatch.delenv("HTTP_PROXY")
    monkeypatch.setenv("ALL_PROXY", "http://127.0.0.1:3129")
    assert proxy_for(trusting, "https://hooks.example/x") == "http://127.0.0.1:3129"


@pytest.mark.parametrize(("no_proxy", "host", "bypassed"), [
    (["example.com"], "example.com", True), (["example.com"], "api.example.com", True),
    ([".example.com"], "api.example.com", True), (["example.com"], "notexample.com", False),
    (["*"], "anything.invalid", True), (["127.0.0.1:8080"], "127.0.0.1", True), ([], "example.com", False),
])
def test_no_proxy_matches_hosts_and_domains(no_proxy: list[str], host: str, bypassed: bool) -> None:
    settings = NetworkSettings(proxy="http://127.0.0.1:3128", no_proxy=no_proxy)
    assert (proxy_for(settings, f"https://{host}/x") is None) is bypassed


@pytest.mark.parametrize(("settings", "message"), [
    ({"proxy": "https://127.0.0.1:3128"}, "must be an http:// proxy URL"),
    ({"proxy": "http://user:pw@127.0.0.1:3128"}, "must not carry credentials"),
    ({"proxy_username": "u"}, "need a proxy"),
    ({"proxy": "http://127.0.0.1:3128", "proxy_password": "p"}, "needs proxy_username"),
    ({"ca_bundle": "/nonexistent/ca.pem"}, "readable file"),
    ({"client_key": "/etc/hostname"}, "need client_cert"),
    ({"tls_verify": False, "ca_bundle": "/etc/hostname"}, "no effect with tls_verify false"),
])
def test_network_settings_refuse_what_cannot_work(settings: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        NetworkSettings.model_validate(settings)


# --- private CA and mTLS ------------------------------------------------------------------------

@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_every_plugin_trusts_a_private_ca_only_when_given_its_bundle(case: ConformanceCase,
                                                                      pki: dict[str, Any]) -> None:
    with FakeReceiver(case.success, tls=pki["server"]) as secure:
        trusted = attempt(case, secure.url, {"ca_bundle": pki["ca"]})
        before = len(secure.requests)
        refused = attempt(case, secure.url, {})
        after = len(secure.requests)
        unverified = attempt(case, secure.url, {"tls_verify": False})
    assert isinstance(trusted, Receipt), trusted
    assert isinstance(refused, DeliveryFailure) and refused.failure_class is FailureClass.CONNECTION, refused
    assert isinstance(unverified, Receipt), unverified
    assert before >= 1 and after == before  # the refused attempt never got past the handshake


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_every_plugin_presents_a_client_certificate_to_an_mtls_service(case: ConformanceCase,
                                                                        pki: dict[str, Any],
                                                                        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("DEBUG")
    client = {"ca_bundle": pki["ca"], "client_cert": pki["cert"], "client_key": pki["key"],
              "client_key_password": pki["password"]}
    with FakeReceiver(case.success, tls=pki["mutual"]) as mutual:
        accepted = attempt(case, mutual.url, client)
        refused = attempt(case, mutual.url, {"ca_bundle": pki["ca"]})
    assert isinstance(accepted, Receipt), accepted
    assert isinstance(refused, DeliveryFailure) and refused.failure_class is FailureClass.CONNECTION, refused
    assert len(mutual.requests) >= 1
    assert_no_secret_leak([pki["password"]], accepted, refused, caplog.text, *caplog.records)


def test_a_wrong_key_password_is_a_settings_error_naming_no_secret(pki: dict[str, Any]) -> None:
    wrong = canary("wrongkey-")
    with pytest.raises(ValidationError) as raised:
        NetworkSettings(client_cert=pki["cert"], client_key=pki["key"], client_key_password=wrong)  # type: ignore[arg-type]
    assert "cannot be loaded" in str(raised.value)
    assert_no_secret_leak([wrong], raised.value, str(raised.value))


# --- connectors check and evidence --------------------------------------------------------------

def test_connectors_check_shows_effective_network_settings_without_secrets(
        tmp_path: Path, pki: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    proxy_password = canary("proxypw-")
    config = {"connectors": {"hook": {
        "provider": "webhook", "url": "https://127.0.0.1:9/hooks/x", "proxy": "http://127.0.0.1:3128",
        "proxy_username": "cavra", "proxy_password": proxy_password, "no_proxy": ["internal.example"],
        "ca_bundle": pki["ca"], "client_cert": pki["cert"], "client_key": pki["key"],
        "client_key_password": pki["password"]}}}
    path = tmp_path / "connectors.json"
    path.write_text(json.dumps(config))
    assert main(["connectors", "check", "--json", "--connector-config", str(path)]) == 0
    assert main(["connectors", "check", "--connector-config", str(path)]) == 0
    out, err = capsys.readouterr()
    report = json.loads(out[: out.index("\n}\n") + 2])
    network = report["connectors"][0]["network"]
    assert network["proxy"] == "http://127.0.0.1:3128" and network["no_proxy"] == ["internal.example"]
    assert network["trust_env"] is False and network["tls_verify"] is True
    assert network["ca_bundle"] == pki["ca"] and network["client_key_password"] == "(secret)"
    assert "proxy " in out and "client certificate" in out  # the table redacts URLs to scheme and host
    assert_no_secret_leak([proxy_password, pki["password"]], out, err)


def test_tls_verification_off_is_recorded_in_the_evidence(tmp_path: Path, pki: dict[str, Any],
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    root = Path(__file__).resolve().parents[1] / "examples"
    schedule = json.loads((root / "schedule.json").read_text())
    schedule.update(notification_providers=["webhook"], owner_routes={})
    (tmp_path / "schedule.json").write_text(json.dumps(schedule))
    with FakeReceiver(tls=pki["server"]) as secure:
        config = {"connectors": {"webhook": {"url": secure.url + "/h", "tls_verify": False}}}
        (tmp_path / "connectors.json").write_text(json.dumps(config))
        code = main(["runtime", "go-rollback-drill-notification-deliver", "--mode", "promoted",
                     "--rollback-drill-schedule-path", str(tmp_path / "schedule.json"),
                     "--rollback-drill-history-path", str(root / "history.json"),
                     "--connector-config", str(tmp_path / "connectors.json"),
                     "--evidence-db", str(tmp_path / "e.db"), "--now", "2026-12-20T00:00:00Z", "--json"])
    payload = json.loads(capsys.readouterr().out)
    assert code == 0 and payload["outcome"] == "delivered"
    assert all(e["tls_verify"] is False for e in payload["deliveries"]) and len(payload["deliveries"]) == 2
