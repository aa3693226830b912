"""Verified API actors: who presents a bearer token, and which roles they hold (docs/operators.md#actors).

The private connector config names them under ``api``::

    "api": {
      "token": <secret>,                       # the single-token setup: one actor, "api", role admin
      "actor": "release-bot",                  # optional: that actor's name
      "actors": {"alice": {"token": <secret>, "roles": ["read", "acknowledge"]}, ...},
      "oidc": {"issuer": "...", "audience": "...", "jwks_file": "/path" | "jwks_url": "https://...",
               "actor_claim": "sub", "roles_claim": "roles", "algorithms": ["RS256"], "leeway_seconds": 30}
    }

Each token is a secret (a literal, ``{"env": ...}`` or ``{"file": ...}``), long and random, and is
seeded into the process redactor when the identities are loaded. An OIDC bearer token is a JWT
verified with PyJWT against the JWKS (signature, ``exp``, ``iss``, ``aud``, all required); its actor
is the ``actor_claim`` and its roles the known names in ``roles_claim`` (a list or a space-separated
string). Nothing here ever returns, logs or raises a token.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from .connectors import API_TOKEN_MIN_DISTINCT, API_TOKEN_MIN_LENGTH, RawConfig, resolve_secret
from .errors import AuthError, ConfigError
from .records import ROLES, Actor
from .redact import seed

if TYPE_CHECKING:
    from jwt import PyJWKClient, PyJWKSet

DEFAULT_ACTOR = "api"
DEFAULT_ALGORITHMS = ("RS256", "ES256")


def _token(value: Any, where: str) -> str:
    token = resolve_secret(value, where)
    if not isinstance(token, str) or len(token) < API_TOKEN_MIN_LENGTH or len(set(token)) < API_TOKEN_MIN_DISTINCT:
        raise ConfigError(f"{where}: use a long random value (at least {API_TOKEN_MIN_LENGTH} characters, "
                          f"{API_TOKEN_MIN_DISTINCT} different ones)")
    return token


def _roles(value: Any, where: str) -> frozenset[str]:
    if not isinstance(value, list) or not value or not all(isinstance(r, str) for r in value):
        raise ConfigError(f"{where}: expected a non-empty list of roles ({', '.join(ROLES)})")
    unknown = sorted(set(value) - set(ROLES))
    if unknown:
        raise ConfigError(f"{where}: unknown role {', '.join(unknown)} (roles: {', '.join(ROLES)})")
    return frozenset(value)


def _name(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > 200:
        raise ConfigError(f"{where}: expected an actor name (1-200 characters)")
    return value


def _loopback_or_https(url: str, where: str) -> str:
    parts = urlsplit(url)
    try:
        loopback = parts.hostname == "localhost" or ipaddress.ip_address(parts.hostname or "").is_loopback
    except ValueError:
        loopback = False
    if parts.scheme != "https" and not (parts.scheme == "http" and loopback):
        raise ConfigError(f"{where}: expected an https URL (http only on a loopback host)")
    return url


@dataclass(frozen=True)
class Oidc:
    """Verifies JWT bearer tokens against one issuer's keys."""

    issuer: str
    audience: str
    keys: PyJWKSet | PyJWKClient
    actor_claim: str = "sub"
    roles_claim: str = "roles"
    algorithms: tuple[str, ...] = DEFAULT_ALGORITHMS
    leeway_seconds: float = 0.0

    def verify(self, token: str) -> Actor:
        import jwt

        try:
            key = self._key(token)
            claims = jwt.decode(token, key, algorithms=list(self.algorithms), audience=self.audience,
                                issuer=self.issuer, leeway=self.leeway_seconds,
                                options={"require": ["exp", "iss", "aud"]})
        except jwt.ExpiredSignatureError:
            raise AuthError("the bearer token has expired") from None
        except jwt.InvalidAudienceError:
            raise AuthError("the bearer token is for another audience") from None
        except jwt.InvalidIssuerError:
            raise AuthError("the bearer token is from another issuer") from None
        except jwt.InvalidSignatureError:
            raise AuthError("the bearer token's signature does not verify") from None
        except (jwt.PyJWTError, jwt.PyJWKClientError, KeyError, ValueError) as exc:
            raise AuthError(f"invalid bearer token ({type(exc).__name__})") from None
        name = claims.get(self.actor_claim)
        if not isinstance(name, str) or not name.strip() or len(name) > 200:
            raise AuthError(f"the bearer token has no usable '{self.actor_claim}' claim")
        raw = claims.get(self.roles_claim) or []
        granted = raw.split() if isinstance(raw, str) else [r for r in raw if isinstance(r, str)] \
            if isinstance(raw, list) else []
        return Actor(name, frozenset(r for r in granted if r in ROLES), "oidc")

    def _key(self, token: str) -> Any:
        import jwt

        if isinstance(self.keys, jwt.PyJWKClient):
            return self.keys.get_signing_key_from_jwt(token).key
        kid = jwt.get_unverified_header(token).get("kid")
        if kid is None and len(self.keys.keys) == 1:
            return self.keys.keys[0].key
        return self.keys[str(kid)].key


@dataclass(frozen=True)
class Identities:
    """Every identity the API accepts; empty when the config names none."""

    tokens: tuple[tuple[str, Actor], ...] = ()
    oidc: Oidc | None = None
    names: tuple[str, ...] = field(default=())

    @property
    def configured(self) -> bool:
        return bool(self.tokens) or self.oidc is not None

    def resolve(self, authorization: str | None) -> Actor:
        """The actor an ``Authorization`` header proves, or :class:`AuthError` (never naming the token)."""
        scheme, _, presented = (authorization or "").partition(" ")
        presented = presented.strip()
        if scheme.lower() != "bearer" or not presented:
            raise AuthError("missing bearer token (Authorization: Bearer <token>)")
        found = None
        for token, actor in self.tokens:  # compare with every token, so timing tells nothing
            if hmac.compare_digest(presented.encode(), token.encode()):
                found = actor
        if found is not None:
            return found
        if self.oidc is not None and presented.count(".") == 2:
            return self.oidc.verify(presented)
        raise AuthError("invalid bearer token")


def _oidc(section: Any, where: str) -> Oidc:
    try:
        import jwt
    except ImportError:
        raise ConfigError(f"{where}: OIDC needs PyJWT (pip install 'cavra-notify[api]')") from None
    if not isinstance(section, dict):
        raise ConfigError(f"{where}: expected an object")
    for key in ("issuer", "audience"):
        if not isinstance(section.get(key), str) or not section[key]:
            raise ConfigError(f"{where}.{key}: required")
    if ("jwks_file" in section) == ("jwks_url" in section):
        raise ConfigError(f"{where}: give exactly one of jwks_file and jwks_url")
    keys: PyJWKSet | PyJWKClient
    if "jwks_file" in section:
        try:
            keys = jwt.PyJWKSet.from_dict(json.loads(Path(str(section["jwks_file"])).read_text()))
        except (OSError, ValueError, jwt.PyJWTError) as exc:
            raise ConfigError(f"{where}.jwks_file: not a readable JWKS ({type(exc).__name__})") from None
    else:
        keys = jwt.PyJWKClient(_loopback_or_https(str(section["jwks_url"]), f"{where}.jwks_url"), timeout=10)
    algorithms = section.get("algorithms", list(DEFAULT_ALGORITHMS))
    if not isinstance(algorithms, list) or not algorithms or "none" in [str(a).lower() for a in algorithms]:
        raise ConfigError(f"{where}.algorithms: expected a list of signing algorithms (never 'none')")
    leeway = section.get("leeway_seconds", 0)
    if isinstance(leeway, bool) or not isinstance(leeway, int | float) or not 0 <= leeway <= 300:
        raise ConfigError(f"{where}.leeway_seconds: expected 0 to 300")
    return Oidc(section["issuer"], section["audience"], keys, str(section.get("actor_claim", "sub")),
                str(section.get("roles_claim", "roles")), tuple(str(a) for a in algorithms), float(leeway))


def load_identities(raw: RawConfig | None) -> Identities:
    """The identities of the config's ``api`` section (tokens seeded into the process redactor)."""
    api = raw.api if raw is not None else {}
    if not isinstance(api, dict):
        raise ConfigError("api: expected an object")
    where = f"api in {raw.path}" if raw is not None else "api"
    tokens: list[tuple[str, Actor]] = []
    if api.get("token") is not None:
        name = _name(api.get("actor", DEFAULT_ACTOR), f"{where}: actor")
        tokens.append((_token(api["token"], f"{where}: token"), Actor(name, frozenset({"admin"}), "token")))
    actors = api.get("actors") or {}
    if not isinstance(actors, dict):
        raise ConfigError(f"{where}: actors: expected an object of name -> {{token, roles}}")
    for name, entry in actors.items():
        here = f"{where}: actors.{name}"
        if not isinstance(entry, dict) or set(entry) - {"token", "roles"}:
            raise ConfigError(f"{here}: expected {{\"token\": <secret>, \"roles\": [...]}}")
        tokens.append((_token(entry.get("token"), f"{here}.token"),
                       Actor(_name(name, here), _roles(entry.get("roles"), f"{here}.roles"), "token")))
    if len({t for t, _ in tokens}) != len(tokens):
        raise ConfigError(f"{where}: two actors share one token")
    seed([t for t, _ in tokens])
    oidc = _oidc(api["oidc"], f"{where}: oidc") if api.get("oidc") is not None else None
    return Identities(tuple(tokens), oidc, tuple(a.name for _, a in tokens))
