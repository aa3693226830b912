"""Verified actors (issue 16): API tokens mapped to named actors with roles, and OIDC bearer JWTs
verified against a JWKS (file or loopback URL) with a key pair generated here. The verified actor is
what an acknowledgement records; tokens and JWTs never reach a response, a log record or evidence."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi")
jwt = pytest.importorskip("jwt")
fake = pytest.importorskip("cavra_notify_webhook.fake")

from cryptography.hazmat.primitives.asymmetric import rsa  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402

from cavra_notify.errors import ConfigError  # noqa: E402
from cavra_notify.store import open_store  # noqa: E402
from cavra_notify.testkit import FakeReceiver, Response, assert_no_secret_leak  # noqa: E402

from .conftest import NOW, NOW_ISO  # noqa: E402
from .test_acks_api import KEY, LATER, SCHEDULE_ID, N  # noqa: E402
from .test_api import Deployment  # noqa: E402

ISSUER, AUDIENCE = "https://127.0.0.1/issuer", "cavra-notify"
SHARED = "canary" + uuid.uuid4().hex


def canary() -> str:
    return "canary" + uuid.uuid4().hex


class Keys:
    """An RSA key pair for the issuer (kid k1), and another key that is not in its JWKS."""

    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        self.jwks = {"keys": [{**public, "kid": "k1", "use": "sig", "alg": "RS256"}]}
        self.issued: list[str] = []

    def token(self, *, sub: str = "carol", roles: Any = ("acknowledge",), audience: str = AUDIENCE,
              expires_in: float = 600, key: Any = None, issuer: str = ISSUER) -> str:
        claims = {"sub": sub, "roles": list(roles) if isinstance(roles, tuple) else roles, "iss": issuer,
                  "aud": audience, "iat": int(time.time()), "exp": int(time.time() + expires_in)}
        token = jwt.encode(claims, key or self.key, algorithm="RS256", headers={"kid": "k1"})
        self.issued.append(token)
        return str(token)


@pytest.fixture(scope="module")
def receivers() -> Iterator[tuple[Any, Any]]:
    with fake.FakeWebhookReceiver() as first, fake.FakeWebhookReceiver() as second:
        yield first, second


@pytest.fixture(scope="module")
def keys() -> Keys:
    return Keys()


@pytest.fixture
def tokens(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, str]:
    values = {name: canary() for name in ("alice", "dave", "reader")}
    monkeypatch.setenv("CAVRA_TEST_ALICE_TOKEN", values["alice"])
    (tmp_path / "dave.token").write_text(values["dave"] + "\n")
    return values


@pytest.fixture
def dep(tmp_path: Path, receivers: tuple[Any, Any], tokens: dict[str, str], keys: Keys,
        evidence_db: str) -> Deployment:
    for rx in receivers:
        rx.events.clear()
    deployment = Deployment(tmp_path, receivers, evidence_db)  # on SQLite and on PostgreSQL
    receivers[0].signing_secret = deployment.signing
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps(keys.jwks))
    deployment.connectors["api"] = {
        "actors": {"alice": {"token": {"env": "CAVRA_TEST_ALICE_TOKEN"}, "roles": ["read", "acknowledge"]},
                   "dave": {"token": {"file": str(tmp_path / "dave.token")}, "roles": ["deliver"]},
                   "reader": {"token": tokens["reader"], "roles": ["read"]}},
        "oidc": {"issuer": ISSUER, "audience": AUDIENCE, "jwks_file": str(jwks), "algorithms": ["RS256"]}}
    return deployment


@pytest.fixture
def api(dep: Deployment, tokens: dict[str, str]) -> Iterator[TestClient]:
    with dep.client() as client:
        delivered = client.post(f"{N}/deliver", json={"now": NOW_ISO}, headers=bearer(tokens["dave"]))
        assert delivered.status_code == 200, delivered.text
        yield client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def ack(api: TestClient, token: str, **body: Any) -> Any:
    return api.post(f"{N}/{SCHEDULE_ID}/acknowledgements", headers=bearer(token),
                    json={"provider": "webhook", "now": LATER, **body})


def test_tokens_name_actors_and_roles_gate_each_route(api: TestClient, dep: Deployment, tokens: dict[str, str],
                                                      caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("DEBUG")
    refused = ack(api, tokens["reader"])
    assert refused.status_code == 403 and "'reader' lacks the 'acknowledge' role" in refused.json()["error"]
    assert ack(api, tokens["dave"]).status_code == 403
    assert api.post(f"{N}/deliver", json={"now": NOW_ISO}, headers=bearer(tokens["alice"])).status_code == 403
    assert api.post(f"{N}/plan", json={"now": NOW_ISO}, headers=bearer(tokens["reader"])).status_code == 200
    assert api.post(f"{N}/plan", json={"now": NOW_ISO}, headers=bearer(canary())).status_code == 401
    other = ack(api, tokens["alice"], acknowledged_by="bob")
    assert other.status_code == 403 and "not the verified actor 'alice'" in other.json()["error"]
    ok = ack(api, tokens["alice"], acknowledged_by="alice")
    assert ok.status_code == 201, ok.text
    assert (ok.json()["acknowledged_by"], ok.json()["actor_verified"]) == ("alice", True)
    bulk = api.post(f"{N}/acknowledgements", headers=bearer(tokens["alice"]), json={"acknowledgements": [
        {"schedule_id": SCHEDULE_ID, "provider": "webhook-audit", "acknowledged_by": "mallory"}]})
    assert bulk.status_code == 403
    me = api.get("/runtime/go-pilot/actor", headers=bearer(tokens["alice"])).json()
    assert me == {"actor": "alice", "roles": ["acknowledge", "read"], "source": "token"}
    assert api.get("/runtime/go-pilot/actor").status_code == 401
    assert api.get("/runtime/go-pilot/actor", headers=bearer(canary())).status_code == 401
    with open_store(dep.evidence_db) as store:
        evidence = json.dumps([r["payload"] for r in store.history(limit=1000)])
    assert_no_secret_leak(list(tokens.values()), *dep.responses, *caplog.records, caplog.text, evidence)


def test_oidc_tokens_are_verified(api: TestClient, dep: Deployment, keys: Keys,
                                  caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("DEBUG")
    cases = {
        "expired": (keys.token(expires_in=-120), 401, "has expired"),
        "audience": (keys.token(audience="someone-else"), 401, "another audience"),
        "issuer": (keys.token(issuer="https://127.0.0.2/other"), 401, "another issuer"),
        "key": (keys.token(key=keys.other), 401, "signature does not verify"),
        "no role": (keys.token(roles=["read"]), 403, "'carol' lacks the 'acknowledge' role"),
        "garbage": ("a.b.c", 401, "invalid bearer token"),
    }
    for name, (token, status, message) in cases.items():
        response = ack(api, token)
        assert (response.status_code, message in response.json()["error"]) == (status, True), name
    valid = ack(api, keys.token(roles="read acknowledge"))
    assert valid.status_code == 201, valid.text
    assert valid.json()["acknowledged_by"] == "carol"
    assert ack(api, keys.token(), acknowledged_by="dave").status_code == 403
    me = api.get("/runtime/go-pilot/actor", headers=bearer(keys.token(sub="erin"))).json()
    assert me == {"actor": "erin", "roles": ["acknowledge"], "source": "oidc"}
    with open_store(dep.evidence_db) as store:
        evidence = json.dumps([r["payload"] for r in store.history(limit=1000)])
    assert_no_secret_leak(keys.issued, *dep.responses, *caplog.records, caplog.text, evidence)


def test_oidc_keys_from_a_loopback_jwks_url(dep: Deployment, keys: Keys) -> None:
    with FakeReceiver(lambda request: Response(200, keys.jwks)) as issuer:
        dep.connectors["api"] = {"oidc": {"issuer": ISSUER, "audience": AUDIENCE, "jwks_url": issuer.url + "/jwks"}}
        with dep.client() as client:
            assert client.get("/runtime/go-pilot/actor", headers=bearer(keys.token())).json()["actor"] == "carol"
            assert client.get("/runtime/go-pilot/actor", headers=bearer(keys.token(key=keys.other))).status_code == 401
    assert issuer.requests and all(r.path == "/jwks" for r in issuer.requests)


@pytest.mark.parametrize(("api_section", "problem"), [
    ({"actors": {"x": {"token": "short", "roles": ["read"]}}}, "long random value"),
    ({"actors": {"x": {"token": canary(), "roles": ["root"]}}}, "unknown role root"),
    ({"actors": {"x": {"token": canary(), "roles": []}}}, "non-empty list of roles"),
    ({"actors": {"x": {"token": SHARED, "roles": ["read"]}, "y": {"token": SHARED, "roles": ["read"]}}},
     "share one token"),
    ({"oidc": {"issuer": ISSUER, "audience": AUDIENCE, "jwks_url": "http://10.0.0.1/jwks"}}, "https URL"),
    ({"oidc": {"issuer": ISSUER, "audience": AUDIENCE}}, "exactly one of jwks_file and jwks_url"),
    ({"oidc": {"issuer": ISSUER, "audience": AUDIENCE, "jwks_file": "/nonexistent", "algorithms": ["none"]}},
     "not a readable JWKS"),
])
def test_bad_identity_config_fails_at_startup(dep: Deployment, api_section: dict[str, Any], problem: str) -> None:
    dep.connectors["api"] = api_section
    with pytest.raises(ConfigError, match=problem) as info:
        dep.client()
    assert_no_secret_leak([a.get("token") for a in api_section.get("actors", {}).values()
                           if isinstance(a.get("token"), str) and len(a["token"]) > 20], str(info.value))


def test_the_single_token_is_one_admin_actor(dep: Deployment) -> None:
    dep.connectors["api"] = {"token": dep.token}
    with dep.client() as client:
        me = client.get("/runtime/go-pilot/actor", headers=dep.auth).json()
        assert me == {"actor": "api", "roles": ["admin"], "source": "token"}
        assert client.post(f"{N}/deliver", json={"now": NOW_ISO}, headers=dep.auth).status_code == 200
        recorded = client.post(f"{N}/{SCHEDULE_ID}/acknowledgements", headers=dep.auth,
                               json={"route_key": KEY.format("platform-oncall", "webhook"), "now": LATER})
        assert recorded.json()["acknowledged_by"] == "api"


def test_unauthenticated_loopback_records_the_given_name_unverified(dep: Deployment) -> None:
    del dep.connectors["api"]
    with dep.client(allow_unauthenticated_loopback=True, client_addr=("127.0.0.1", 40000)) as client:
        client.post(f"{N}/deliver", json={"now": NOW_ISO})
        body = client.post(f"{N}/{SCHEDULE_ID}/acknowledgements",
                           json={"provider": "webhook", "acknowledged_by": "ops", "now": LATER}).json()
    assert (body["acknowledged_by"], body["actor_verified"]) == ("ops", False)
    assert NOW is not None
