"""Operator checks: installed plugins, a plugin's conformance, and the private connector config.

Each returns a typed report; ``cavra plugins``, ``cavra plugins check NAME`` and ``cavra connectors
check`` render them. Nothing here prints, and no report carries a secret value.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .errors import ConfigError, SettingsError


@dataclass(frozen=True)
class CaseResult:
    provider: str
    problems: tuple[str, ...]

    @property
    def passed(self) -> bool:
        return not self.problems

    def to_json(self) -> dict[str, Any]:
        return {"provider": self.provider, "passed": self.passed, "problems": list(self.problems)}


@dataclass(frozen=True)
class PluginCheck:
    """The test kit's conformance check run against one installed plugin's cases."""

    plugin: str
    cases: tuple[CaseResult, ...]

    @property
    def passed(self) -> bool:
        return all(case.passed for case in self.cases)

    def to_json(self) -> dict[str, Any]:
        return {"plugin": self.plugin, "passed": self.passed, "cases": [c.to_json() for c in self.cases]}


@dataclass(frozen=True)
class ConnectorStatus:
    connector: str
    provider: str
    plugin_installed: bool
    valid: bool
    problem: str | None
    secret_fields: tuple[str, ...]
    network: dict[str, Any] | None = None  # the effective network settings, redacted (None: not HTTP)

    @property
    def network_summary(self) -> str:
        from .network import summary

        return summary(self.network)

    def to_json(self) -> dict[str, Any]:
        return {"connector": self.connector, "provider": self.provider, "plugin_installed": self.plugin_installed,
                "valid": self.valid, "problem": self.problem, "secret_fields": list(self.secret_fields),
                "network": self.network}


@dataclass(frozen=True)
class ConnectorsCheck:
    config: str
    connectors: tuple[ConnectorStatus, ...]

    @property
    def valid(self) -> bool:
        return all(c.valid for c in self.connectors)

    def to_json(self) -> dict[str, Any]:
        return {"config": self.config, "connectors": [c.to_json() for c in self.connectors]}


def plugins() -> list[dict[str, Any]]:
    """Every discovered plugin: name, distribution, version, loaded, hooks, providers, error."""
    from .plugins import get_registry

    return [info.as_dict() for info in get_registry().plugins.values()]


def check_plugin(name: str) -> PluginCheck:
    """Run the conformance check on every case plugin ``name`` describes (hook cavra_conformance_cases)."""
    from .plugins import get_registry
    from .testkit import check_conformance

    registry = get_registry()
    info = registry.plugins.get(name)
    if info is None or not info.loaded:
        why = "is not installed" if info is None else f"did not load: {info.error}"
        raise SettingsError(f"plugin {name!r} {why} (see `cavra plugins`)")
    cases = registry.conformance_cases(name)
    if not cases:
        raise SettingsError(f"plugin {name!r} describes no conformance case (hook cavra_conformance_cases)")
    results = []
    for case in cases:
        try:
            check_conformance(case)
            problems: tuple[str, ...] = ()
        except AssertionError as exc:
            problems = tuple(line.strip()[2:] for line in str(exc).splitlines()[1:])
        results.append(CaseResult(case.provider.name, problems))
    return PluginCheck(name, tuple(results))


def check_connectors(path: str) -> ConnectorsCheck:
    """Validate every connector of the private config against its plugin's settings model."""
    from .connectors import read_config, validate_connector
    from .network import NetworkSettings, describe
    from .plugins import get_registry
    from .provider import secret_field_names

    raw, registry = read_config(path), get_registry()
    rows = []
    for name in sorted(raw.connectors):
        provider = registry.providers.get(raw.provider_of(name))
        own = tuple(f for f in secret_field_names(provider.settings_model)
                    if f not in NetworkSettings.model_fields) if provider else ()
        problem, network = None, None
        try:
            network = describe(validate_connector(raw, name, registry).settings)
        except ConfigError as exc:
            problem = str(exc)
        rows.append(ConnectorStatus(name, raw.provider_of(name), provider is not None, problem is None, problem,
                                    own, network))
    return ConnectorsCheck(raw.path, tuple(rows))
