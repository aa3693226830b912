"""Plugin discovery and the typed hook facade.

Plugins are modules named by entry points in the ``cavra_notify`` group. Discovery imports none of
them: a plugin loads, once, when something needs it. Asking for provider ``x`` loads the entry point
named ``x`` (and, when that registers no ``x``, every other one); before the first delivery record is
announced, every plugin whose module mentions ``cavra_delivery_recorded`` loads; listing the plugins
loads them all. So a webhook-only delivery never imports the jira, pysnow or slack SDKs.

A plugin that fails to import or register is skipped with a warning naming its distribution
(``CAVRA_PLUGINS_STRICT=1`` makes that an error, and loads every plugin at discovery): any exception
counts, ``SystemExit`` included, and an import still running after ``CAVRA_PLUGIN_IMPORT_TIMEOUT``
seconds (default 30) is abandoned as that plugin's failure.
``CAVRA_LOAD_PLUGINS=a,b`` loads only those entry points; ``CAVRA_DISABLE_PLUGINS=a,b`` skips some.
Core code reaches hooks only through :class:`Registry`, never by hook name.
"""

from __future__ import annotations

import importlib.util
import logging
import math
import os
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
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

    def __init__(self, *, strict: bool = False, import_timeout: float = DEFAULT_IMPORT_TIMEOUT) -> None:
        self.pm = pluggy.PluginManager(hookspecs.PROJECT)
        self.pm.add_hookspecs(hookspecs)
        self.strict = strict
        self.import_timeout = import_timeout
        self._providers: dict[str, Provider] = {}
        self._plugins: dict[str, PluginInfo] = {}
        self._pending: dict[str, metadata.EntryPoint] = {}
        self._observers_loaded = False
        self._lock = threading.RLock()

    @property
    def providers(self) -> Mapping[str, Provider]:
        """Registered providers by name; looking one up loads the plugin that offers it."""
        return _LazyProviders(self)

    @property
    def plugins(self) -> dict[str, PluginInfo]:
        """Every plugin by entry-point name (all of them loaded first), sorted by name."""
        self.load_all()
        return dict(sorted(self._plugins.items()))

    def defer(self, ep: metadata.EntryPoint) -> None:
        """Know entry point ``ep`` without importing it (see the module docstring for when it loads)."""
        self._pending[ep.name] = ep

    def load(self, name: str) -> None:
        """Import and register the pending entry point ``name``, if any; failures are that plugin's."""
        with self._lock:
            ep = self._pending.pop(name, None)
            if ep is None:
                return
            dist = ep.dist
            info = PluginInfo(ep.name, dist.name if dist else None, dist.version if dist else None)
            module, error = _load(ep, self.import_timeout)
            if error is not None:
                self._plugins[ep.name] = info
                self._fail(info, "failed to import", error)
                return
            self.add(module, info)

    def load_all(self) -> None:
        with self._lock:
            for name in sorted(self._pending):
                self.load(name)

    def _provider(self, name: str) -> Provider | None:
        if name not in self._providers and self._pending:
            self.load(name)
            if name not in self._providers:
                self.load_all()
        return self._providers.get(name)

    def _fail(self, info: PluginInfo, what: str, exc: BaseException) -> None:
        message = f"plugin {info.name} ({info.distribution}) {what}: {type(exc).__name__}: {exc}"
        info.error = message
        if self.strict:
            raise PluginError(message)
        log.warning("%s", message)

    def add(self, plugin: object, info: PluginInfo) -> None:
        """Register one plugin object (module) and collect its providers; failures are isolated."""
        self._plugins[info.name] = info
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
                        self._providers.pop(name, None)
                    info.providers.clear()
                    self.pm.unregister(plugin)
                    self._fail(info, "failed in cavra_register_providers", exc)
                    return
        info.loaded = True

    def _register_provider(self, provider: Provider, info: PluginInfo) -> None:
        if not isinstance(provider, Provider):
            raise TypeError("register() takes a cavra_notify.Provider")
        existing = self._providers.get(provider.name)
        if existing is not None:
            owner = next((p.name for p in self._plugins.values() if provider.name in p.providers), "?")
            log.warning("provider %r from plugin %s ignored: already registered by %s", provider.name, info.name, owner)
            return
        self._providers[provider.name] = provider
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
        if not self._observers_loaded:
            with self._lock:
                for name, ep in sorted(self._pending.items()):
                    if _may_observe(ep):
                        self.load(name)
                self._observers_loaded = True
        for recorder in list(_recorders):  # the core's own observers (metrics)
            try:
                recorder(evidence)
            except Exception as exc:
                log.warning("a delivery recorder failed: %s", type(exc).__name__)
        try:
            self.pm.hook.cavra_delivery_recorded(evidence=evidence)
        except Exception as exc:
            log.warning("a cavra_delivery_recorded hook failed: %s", type(exc).__name__)


def _names(value: str | None) -> set[str] | None:
    return None if value is None else {n.strip() for n in value.split(",") if n.strip()}


def discover(env: Mapping[str, str] | None = None) -> Registry:
    """A new :class:`Registry` knowing every allowed entry point of the ``cavra_notify`` group.

    Nothing is imported yet, except in strict mode: there every plugin loads now, so a broken one is
    an error before anything else happens.
    """
    env = os.environ if env is None else env
    strict = env.get(ENV_STRICT, "") in ("1", "true", "yes")
    registry = Registry(strict=strict, import_timeout=_import_timeout(env.get(ENV_IMPORT_TIMEOUT)))
    allow, deny = _names(env.get(ENV_LOAD)), _names(env.get(ENV_DISABLE)) or set()
    for ep in sorted(metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        if (allow is None or ep.name in allow) and ep.name not in deny:
            registry.defer(ep)
    if strict:
        registry.load_all()
    return registry


class _LazyProviders(Mapping[str, Provider]):
    def __init__(self, registry: Registry) -> None:
        self._registry = registry

    def __getitem__(self, name: str) -> Provider:
        provider = self._registry._provider(name)
        if provider is None:
            raise KeyError(name)
        return provider

    def __iter__(self) -> Iterator[str]:
        self._registry.load_all()
        return iter(dict(self._registry._providers))

    def __len__(self) -> int:
        self._registry.load_all()
        return len(self._registry._providers)


def _may_observe(ep: metadata.EntryPoint) -> bool:
    """Whether the module ``ep`` names may implement ``cavra_delivery_recorded`` (read, not imported)."""
    if "." in ep.module:
        return True  # finding a submodule would import its package: assume it observes
    try:
        spec = importlib.util.find_spec(ep.module)
        origin = spec.origin if spec is not None else None
        return origin is None or "cavra_delivery_recorded" in Path(origin).read_text(errors="replace")
    except Exception:
        return True


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
_recorders: list[Callable[[Mapping[str, Any]], None]] = []


def add_recorder(recorder: Callable[[Mapping[str, Any]], None]) -> None:
    """Let a core observer (metrics) see every stored delivery record, whichever registry is in use."""
    if recorder not in _recorders:
        _recorders.append(recorder)


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
