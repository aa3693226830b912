"""cavra-notify: rollback-drill schedules, notification plans and redacted delivery evidence.

The public surface is small and re-exported here, lazily: the read-only CLI commands never pay for
pluggy or the provider contract they do not use. Plugins import everything from here: the contract
(``Provider``, ``DeliveryRequest`` with its ``Route``, ``Event`` and ``Message``, ``Receipt``,
``DeliveryFailure``), the failure helpers (``expect_success``, ``classify_exception``, ...), the URL
setting types, the network settings and the ticketing dedupe flow (``comment_or_create``).
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "CavraError": "errors", "ConfigError": "errors", "InputError": "errors", "PluginError": "errors",
    "SettingsError": "errors", "StoreError": "errors", "hookimpl": "hookspecs",
    "DeliveryFailure": "provider", "DeliveryRequest": "provider", "Event": "provider", "FailureClass": "provider",
    "Message": "provider", "Provider": "provider", "Receipt": "provider", "Route": "provider",
    "check_response": "failures", "classify_exception": "failures", "classify_status": "failures",
    "error_code": "failures", "expect_success": "failures", "header": "failures", "parse_retry_after": "failures",
    "HttpUrl": "fields", "OriginUrl": "fields", "SecretHttpUrl": "fields", "ServerUrl": "fields",
    "OpenRecords": "dedupe", "comment_or_create": "dedupe", "stable_key": "dedupe",
    "NetworkSettings": "network", "network_secrets": "network", "proxy_for": "network",
    "requests_adapter": "network", "ssl_context": "network",
}

if TYPE_CHECKING:
    from .dedupe import OpenRecords, comment_or_create, stable_key
    from .errors import CavraError, ConfigError, InputError, PluginError, SettingsError, StoreError
    from .failures import (
        check_response,
        classify_exception,
        classify_status,
        error_code,
        expect_success,
        header,
        parse_retry_after,
    )
    from .fields import HttpUrl, OriginUrl, SecretHttpUrl, ServerUrl
    from .hookspecs import hookimpl
    from .network import NetworkSettings, network_secrets, proxy_for, requests_adapter, ssl_context
    from .provider import (
        DeliveryFailure,
        DeliveryRequest,
        Event,
        FailureClass,
        Message,
        Provider,
        Receipt,
        Route,
    )


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'cavra_notify' has no attribute {name!r}")
    return getattr(import_module(f".{module}", __name__), name)


__all__ = [
    "CavraError", "ConfigError", "DeliveryFailure", "DeliveryRequest", "Event", "FailureClass", "HttpUrl",
    "InputError", "Message", "NetworkSettings", "OpenRecords", "OriginUrl", "PluginError", "Provider",
    "Receipt", "Route", "SecretHttpUrl", "ServerUrl", "SettingsError", "StoreError", "__version__",
    "check_response", "classify_exception", "classify_status", "comment_or_create", "error_code",
    "expect_success", "header", "hookimpl", "network_secrets", "parse_retry_after", "proxy_for",
    "requests_adapter", "ssl_context", "stable_key",
]
