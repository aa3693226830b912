"""One network settings model for every HTTP-speaking plugin: proxy, trust store, client certificate.

A plugin's settings model inherits :class:`NetworkSettings`; a connector then takes, next to its own
settings::

    "proxy": "http://egress.example.internal:3128",      # an http:// forward/CONNECT proxy
    "proxy_username": "cavra", "proxy_password": {"env": "EGRESS_PASSWORD"},
    "no_proxy": ["hooks.internal.example", ".corp.example"],
    "trust_env": false,                 # the default: HTTPS_PROXY / NO_PROXY from the environment do not apply
    "ca_bundle": "/etc/cavra/private-ca.pem",
    "client_cert": "/etc/cavra/client.pem", "client_key": "/etc/cavra/client.key",
    "client_key_password": {"file": "/run/secrets/client-key-password"},
    "tls_verify": true                  # false only explicitly; then recorded in the evidence

The plugin asks :func:`proxy_for` for the proxy of its target URL (``None``: go direct) and
:func:`ssl_context` for the TLS context, and turns its client's own environment handling off; the
rules therefore live here once. Requests-based plugins mount :func:`requests_adapter`.
"""

from __future__ import annotations

import functools
import ssl
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

from pydantic import BaseModel, SecretStr, field_validator, model_validator

from .fields import HttpUrl

if TYPE_CHECKING:
    from requests.adapters import HTTPAdapter


class NetworkSettings(BaseModel):
    """The core-owned network settings; every HTTP-speaking plugin's settings model inherits them."""

    proxy: HttpUrl | None = None
    proxy_username: str | None = None
    proxy_password: SecretStr | None = None
    no_proxy: list[str] = []
    trust_env: bool = False
    ca_bundle: str | None = None
    client_cert: str | None = None
    client_key: str | None = None
    client_key_password: SecretStr | None = None
    tls_verify: bool = True

    @field_validator("proxy")
    @classmethod
    def _plain_proxy(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme != "http":
            raise ValueError("must be an http:// proxy URL (it tunnels https:// targets with CONNECT)")
        if parts.username or parts.password:
            raise ValueError("must not carry credentials: use proxy_username and proxy_password (a secret)")
        if parts.path.strip("/") or parts.query or parts.fragment:
            raise ValueError("must be scheme, host and port only")
        return f"http://{parts.netloc}"

    @field_validator("ca_bundle", "client_cert", "client_key")
    @classmethod
    def _readable_file(cls, value: str | None) -> str | None:
        if value is not None and not Path(value).is_file():
            raise ValueError("must be the path of a readable file")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> NetworkSettings:
        if (self.proxy_username or self.proxy_password) and not self.proxy:
            raise ValueError("proxy_username/proxy_password need a proxy")
        if self.proxy_password is not None and not self.proxy_username:
            raise ValueError("proxy_password needs proxy_username")
        if (self.client_key or self.client_key_password) and not self.client_cert:
            raise ValueError("client_key/client_key_password need client_cert")
        if self.ca_bundle and not self.tls_verify:
            raise ValueError("ca_bundle has no effect with tls_verify false; set one of them")
        if self.client_cert:
            try:
                _context(*self._tls_key())
            except (ssl.SSLError, OSError):
                raise ValueError("client_cert/client_key cannot be loaded (wrong file or key password)") from None
        return self

    def _tls_key(self) -> tuple[str | None, str | None, str | None, str | None, bool]:
        password = self.client_key_password.get_secret_value() if self.client_key_password else None
        return self.ca_bundle, self.client_cert, self.client_key, password, self.tls_verify


def ssl_context(settings: NetworkSettings) -> ssl.SSLContext:
    """The TLS context for a connector: its trust store (or the system's), its client certificate, and
    no verification only when ``tls_verify`` is false. Built once per distinct settings."""
    return _context(*settings._tls_key())


@functools.lru_cache(maxsize=64)
def _context(ca_bundle: str | None, cert: str | None, key: str | None, password: str | None,
             verify: bool) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=ca_bundle)
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if cert:
        context.load_cert_chain(cert, key, password=password)
    return context


def proxy_for(settings: NetworkSettings, url: str) -> str | None:
    """The proxy URL (credentials included) for requests to ``url``, or ``None`` to connect directly.

    The connector's ``proxy`` applies unless the host matches ``no_proxy``; with ``trust_env`` the
    environment's ``HTTP(S)_PROXY`` stands in for an unset ``proxy`` and its ``NO_PROXY`` is added.
    """
    parts = urlsplit(url)
    environment = urllib.request.getproxies_environment() if settings.trust_env else {}
    if _bypassed(parts.hostname or "", [*settings.no_proxy, *environment.get("no", "").split(",")]):
        return None
    if settings.proxy is None:
        return environment.get(parts.scheme) or environment.get("all") or None
    if settings.proxy_username is None:
        return settings.proxy
    password = settings.proxy_password.get_secret_value() if settings.proxy_password else ""
    credentials = quote(settings.proxy_username, safe="") + ":" + quote(password, safe="")
    return settings.proxy.replace("http://", f"http://{credentials}@", 1)


def _bypassed(host: str, patterns: list[str]) -> bool:
    """``no_proxy`` as curl reads it: ``*`` is every host; ``example.com`` or ``.example.com`` is that
    host and every host under it; an entry's ``:port`` is ignored; an IP address matches itself."""
    host = host.lower().rstrip(".")
    for pattern in patterns:
        entry = pattern.strip().lower()
        if entry.startswith("[") and "]" in entry:
            entry = entry[1:entry.index("]")]
        elif entry.count(":") == 1:
            entry = entry.split(":", 1)[0]
        entry = entry.lstrip("*").lstrip(".").rstrip(".")
        if pattern.strip() == "*" or (entry and (host == entry or host.endswith("." + entry))):
            return True
    return False


def network_secrets(settings: Any) -> list[str]:
    """The secret values among the network settings (for a plugin's SDK log filter)."""
    if not isinstance(settings, NetworkSettings):
        return []
    return [s.get_secret_value() for s in (settings.proxy_password, settings.client_key_password) if s is not None]


def describe(settings: Any) -> dict[str, Any] | None:
    """The effective network settings of a connector for ``cavra connectors check``, without secrets."""
    if not isinstance(settings, NetworkSettings):
        return None
    return {
        "proxy": settings.proxy,
        "proxy_auth": "username and password (secret)" if settings.proxy_password else
                      "username" if settings.proxy_username else None,
        "no_proxy": list(settings.no_proxy),
        "trust_env": settings.trust_env,
        "ca_bundle": settings.ca_bundle or "system trust store",
        "client_cert": settings.client_cert,
        "client_key": settings.client_key,
        "client_key_password": "(secret)" if settings.client_key_password else None,
        "tls_verify": settings.tls_verify,
    }


def summary(described: dict[str, Any] | None) -> str:
    """One short line of :func:`describe`'s result for a table."""
    if described is None:
        return ""
    parts = [f"proxy {described['proxy']}" if described["proxy"] else "direct"]
    if described["trust_env"]:
        parts.append("environment proxies")
    if described["ca_bundle"] != "system trust store":
        parts.append(f"CA {described['ca_bundle']}")
    if described["client_cert"]:
        parts.append("client certificate")
    if not described["tls_verify"]:
        parts.append("TLS VERIFICATION OFF")
    return ", ".join(parts)


def evidence_fields(settings: Any) -> dict[str, Any]:
    """What the evidence records about the network: ``tls_verify: false`` when verification is off."""
    return {"tls_verify": False} if isinstance(settings, NetworkSettings) and not settings.tls_verify else {}


def requests_adapter(settings: NetworkSettings) -> HTTPAdapter:
    """A requests adapter applying ``settings``: its TLS context, its proxy per URL, never a retry.

    Mount it for ``http://`` and ``https://`` on a session whose ``trust_env`` is false.
    """
    from requests.adapters import HTTPAdapter

    class NetworkAdapter(HTTPAdapter):
        def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
            kwargs["ssl_context"] = ssl_context(settings)
            super().init_poolmanager(*args, **kwargs)

        def proxy_manager_for(self, proxy: str, **kwargs: Any) -> Any:
            kwargs["ssl_context"] = ssl_context(settings)
            return super().proxy_manager_for(proxy, **kwargs)

        def send(self, request: Any, *args: Any, **kwargs: Any) -> Any:
            proxy = proxy_for(settings, str(request.url))
            kwargs["proxies"] = {"http": proxy, "https": proxy} if proxy else {}
            kwargs["verify"] = settings.ca_bundle or settings.tls_verify
            return super().send(request, *args, **kwargs)

    return NetworkAdapter(max_retries=0)
