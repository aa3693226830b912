"""cavra-notify: rollback-drill schedules, notification plans and redacted delivery evidence.

The public surface is small and re-exported here, lazily: the read-only CLI commands never pay for
pluggy or the provider contract they do not use.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "CavraError": "errors", "ConfigError": "errors", "InputError": "errors", "PluginError": "errors",
    "SettingsError": "errors", "StoreError": "errors", "hookimpl": "hookspecs",
    "DeliveryFailure": "provider", "DeliveryRequest": "provider", "FailureClass": "provider",
    "Message": "provider", "Provider": "provider", "Receipt": "provider",
}

if TYPE_CHECKING:
    from .errors import CavraError, ConfigError, InputError, PluginError, SettingsError, StoreError
    from .hookspecs import hookimpl
    from .provider import DeliveryFailure, DeliveryRequest, FailureClass, Message, Provider, Receipt


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'cavra_notify' has no attribute {name!r}")
    return getattr(import_module(f".{module}", __name__), name)


__all__ = [
    "CavraError", "ConfigError", "DeliveryFailure", "DeliveryRequest", "FailureClass", "InputError", "Message",
    "PluginError", "Provider", "Receipt", "SettingsError", "StoreError", "__version__", "hookimpl",
]
