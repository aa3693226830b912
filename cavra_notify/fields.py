"""Setting types for plugin settings models: URLs checked once, the same way for every plugin.

Use them as field annotations in a pydantic settings model::

    class AcmeSettings(BaseModel):
        webhook_url: SecretHttpUrl            # a secret URL (its path or query carries a token)
        base_url: ServerUrl = "https://api.acme.example"

Every type refuses anything but an ``http://`` or ``https://`` URL with a host, with one message.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator, SecretStr

NOT_HTTP = "must be an http:// or https:// URL with a host"


def check_http_url(value: str) -> str:
    """Return ``value`` when it is an http(s) URL with a host; raise ``ValueError`` otherwise."""
    try:
        parts = urlsplit(value)
        host = parts.hostname
    except ValueError:
        raise ValueError(NOT_HTTP) from None
    if parts.scheme not in ("http", "https") or not host:
        raise ValueError(NOT_HTTP)
    return value


def _server(value: str) -> str:
    parts = urlsplit(check_http_url(value))
    if parts.username or parts.password or parts.query or parts.fragment:
        raise ValueError("must not carry credentials, a query or a fragment")
    return value.rstrip("/")


def _origin(value: str) -> str:
    parts = urlsplit(_server(value))
    if parts.path.strip("/"):
        raise ValueError("must be scheme and host only (no path)")
    return f"{parts.scheme}://{parts.netloc}"


def _secret(value: SecretStr) -> SecretStr:
    check_http_url(value.get_secret_value())
    return value


HttpUrl = Annotated[str, AfterValidator(check_http_url)]
"""Any http(s) URL with a host, kept as given."""

SecretHttpUrl = Annotated[SecretStr, AfterValidator(_secret)]
"""A secret http(s) URL (webhook URLs embed their token); the core redacts it everywhere."""

ServerUrl = Annotated[str, AfterValidator(_server)]
"""A service's base URL: http(s), no credentials, query or fragment; a trailing ``/`` is dropped."""

OriginUrl = Annotated[str, AfterValidator(_origin)]
"""Scheme, host and port only (``https://acme.service-now.com``); normalised to exactly that."""
