"""Plugin discovery and the typed hook facade.

Plugins are modules named by entry points in the ``cavra_notify`` group. They load lazily, once, on
the first :func:`get_registry` call. A plugin that fails to import or register is skipped with a
warning naming its distribution (``CAVRA_PLUGINS_STRICT=1`` makes that an error): any exception
counts, ``SystemExit`` included, and an import still running after ``CAVRA_PLUGIN_IMPORT_TIMEOUT``
seconds (default 30) is abandoned as that plugin's failure.
``CAVRA_LOAD_PLUGINS=a,b`` loads only those entry points; ``CAVRA_DISABLE_PLUGINS=a,b`` skips some.
Core code reaches hooks only through :class:`Registry`, never by hook name.
"""

from __future__ import annotations

import logging
import math
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

import pluggy

from . import hookspecs
from .errors import PluginError, SettingsError
from .provider import Provider

ENTRY_POINT_GROUP = "cavra_notify"
ENV_STRICT = "CAVRA_PLUGINS_STRICT"
ENV_LOAD = "CAVRA_LOAD_PLUGINS"
ENV_DISABLE = "CAVRA_DISABLE_PLUGINS"
ENV_IMPORT_TIMEOUT = "CAVRA_PLUGIN_IMPORT_TIMEOUT"
DEFAULT_IMPORT_TIMEOUT = 30.0
log = logging.getLogger("cavra_notify.plugins")


@dataclass
class PluginInfo:
    name: str
    distribution: str | None = None
    version: str | None = None
    loaded: bool = False
    error: str | None = None
    hooks: list[str] = field(default_factory=list)
    providers: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


class Registry:
    """The plugin manager plus what the plugins registered."""

    def __init__(self, *, strict: bool = False) -> None:
        self.pm = pluggy.PluginManager(hookspecs.PROJECT)
        self.pm.add_hookspecs(hookspecs)
        self.strict = strict
        self.providers: dict[str, Provider] = {}
        self.plugins: dict[str, PluginInfo] = {}

    def _fail(self, info: PluginInfo, what: str, exc: BaseException) -> None:
        message = f"plugin {info.name} ({info.distribution}) {what}: {type(exc).__name__}: {exc}"
        info.error = message
        if self.strict:
            raise PluginError(message)
        log.warning("%s", message)

    def add(self, plugin: object, info: PluginInfo) -> None:
        """Register one plugin object (module) and collect its providers; failures are isolated."""
        self.plugins[info.name] = info
        try:
            self.pm.register(plugin, name=info.name)
        except BaseException as exc:  # SystemExit & co. from a plugin end only that plugin
            self._fail(info, "could not register", exc)
            return
        info.hooks = sorted(h.name for h in self.pm.get_hookcallers(plugin) or [])
        for impl in self.pm.hook.cavra_register_providers.get_hookimpls():
            if impl.plugin is plugin:
                try:
                    impl.function(register=lambda provider: self._register_provider(provider, info))
                except BaseException as exc:
                    for name in info.providers:  # skipped means skipped: nothing half-registered stays
                        self.providers.pop(name, None)
                    info.providers.clear()
                    self.pm.unregister(plugin)
                    self._fail(info, "failed in cavra_register_providers", exc)
                    return
        info.loaded = True

    def _register_provider(self, provider: Provider, info: PluginInfo) -> None:
        if not isinstance(provider, Provider):
            raise TypeError("register() takes a cavra_notify.Provider")
        existing = self.providers.get(provider.name)
        if existing is not None:
            owner = next((p.name for p in self.plugins.values() if provider.name in p.providers), "?")
            log.warning("provider %r from plugin %s ignored: already registered by %s", provider.name, info.name, owner)
            return
        self.providers[provider.name] = provider
        info.providers.append(provider.name)

    def conformance_cases(self, plugin_name: str) -> list[Any]:
        """The conformance cases plugin ``plugin_name`` describes (``cavra_conformance_cases``)."""
        plugin = self.pm.get_plugin(plugin_name)
        cases: list[Any] = []  # pluggy's hook functions are untyped: Any
        for impl in self.pm.hook.cavra_conformance_cases.get_hookimpls():
            if impl.plugin is plugin:
                function: Any = impl.function
                cases.extend(function())
        return cases

    def delivery_recorded(self, evidence: Mapping[str, Any]) -> None:
        """Tell observer plugins about one stored evidence record; their errors are logged, not raised."""
        try:
            self.pm.hook.cavra_delivery_recorded(evidence=evidence)
        except Exception as exc:
            log.warning("a cavra_delivery_recorded hook failed: %s", type(exc).__name__)


def _names(value: str | None) -> set[str] | None:
    return None if value is None else {n.strip() for n in value.split(",") if n.strip()}


def discover(env: Mapping[str, str] | None = None) -> Registry:
    """Load every allowed entry point in the ``cavra_notify`` group into a new :class:`Registry`."""
    env = os.environ if env is None else env
    registry = Registry(strict=env.get(ENV_STRICT, "") in ("1", "true", "yes"))
    allow, deny = _names(env.get(ENV_LOAD)), _names(env.get(ENV_DISABLE)) or set()
    timeout = _import_timeout(env.get(ENV_IMPORT_TIMEOUT))
    for ep in sorted(metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        if (allow is not None and ep.name not in allow) or ep.name in deny:
            continue
        dist = ep.dist
        info = PluginInfo(ep.name, dist.name if dist else None, dist.version if dist else None)
        module, error = _load(ep, timeout)
        if error is not None:
            registry.plugins[ep.name] = info
            registry._fail(info, "failed to import", error)
            continue
        registry.add(module, info)
    return registry


def _import_timeout(value: str | None) -> float:
    if value is None or not value.strip():
        return DEFAULT_IMPORT_TIMEOUT
    try:
        seconds = float(value)
    except ValueError:
        seconds = math.nan
    if not math.isfinite(seconds) or seconds <= 0:
        raise SettingsError(f"{ENV_IMPORT_TIMEOUT}: expected a positive number of seconds, got {value[:40]!r}")
    return seconds


def _load(ep: metadata.EntryPoint, timeout: float) -> tuple[Any, BaseException | None]:
    """Import one entry point in a watchdog thread: (module, None) or (None, why it failed).

    Whatever the import raises (``SystemExit`` at import included) is returned, never raised; an
    import still running after ``timeout`` seconds is left behind in its daemon thread.
    """
    outcome: list[Any] = []

    def run() -> None:
        try:
            outcome.append((ep.load(), None))
        except BaseException as exc:
            outcome.append((None, exc))

    thread = threading.Thread(target=run, name=f"cavra-import-{ep.name}", daemon=True)
    thread.start()
    thread.join(timeout)
    if not outcome:
        return None, TimeoutError(f"the import did not finish within {timeout:g}s ({ENV_IMPORT_TIMEOUT})")
    module, error = outcome[0]
    return module, error


_registry: Registry | None = None


def get_registry() -> Registry:
    """The process-wide registry, discovered on first use (lazy and idempotent)."""
    global _registry
    if _registry is None:
        _registry = discover()
    return _registry


def reset_registry(registry: Registry | None = None) -> None:
    """Forget (or replace) the process-wide registry; for tests and long-lived servers."""
    global _registry
    _registry = registry
