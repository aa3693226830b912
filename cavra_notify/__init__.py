"""cavra-notify: rollback-drill schedules, notification plans and redacted delivery evidence.

The public surface is small and re-exported here; heavy modules (delivery, store, API) are imported
only by the commands that need them.
"""

from .errors import CavraError, ConfigError, InputError, PluginError, SettingsError, StoreError
from .hookspecs import hookimpl
from .provider import DeliveryFailure, DeliveryRequest, FailureClass, Message, Provider, Receipt

__version__ = "0.1.0"

__all__ = [
    "CavraError",
    "ConfigError",
    "DeliveryFailure",
    "DeliveryRequest",
    "FailureClass",
    "InputError",
    "Message",
    "PluginError",
    "Provider",
    "Receipt",
    "SettingsError",
    "StoreError",
    "__version__",
    "hookimpl",
]
