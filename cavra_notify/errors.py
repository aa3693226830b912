"""Exception classes. Every error a user can cause is a :class:`CavraError` with one clear line."""

from __future__ import annotations


class CavraError(Exception):
    """Base class: the message is safe to print (it never carries a secret value)."""

    exit_code = 2


class InputError(CavraError):
    """A metadata file is missing, unreadable, not JSON, the wrong schema, or fails the guard."""


class SettingsError(CavraError):
    """A flag or ``CAVRA_*`` environment variable has an invalid value."""


class ConfigError(CavraError):
    """The private connector config is missing, malformed, or names an unusable plugin."""


class PluginError(CavraError):
    """A plugin could not be loaded or registered (raised only in strict mode)."""


class StoreError(CavraError):
    """The evidence store is unreadable, corrupt, or from a newer version."""

    exit_code = 5


class UnroutableError(CavraError):
    """The schedule needs attention and nobody can be told: no route carries it, no fallback route."""

    exit_code = 1


class ForbiddenError(CavraError):
    """The actor lacks the role an operation needs (the API answers 403)."""
