"""Private connector config (SPEC §5): the only source of delivery URLs, hosts and credentials.

``{"connectors": {"<name>": {"provider": "<plugin, defaults to name>", ...settings}},
"customer_denylist": [...], "api": {"token": <secret>}}``, as JSON or TOML. A secret is a literal,
``{"env": "VAR"}`` or ``{"file": "/path"}``. Reading the file imports no plugin; validating does.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import ConfigError, InputError
from .jsonfile import json_path, parse_json, printable, read_bytes, value_problem

if TYPE_CHECKING:
    from pydantic import BaseModel

    from .plugins import Registry


@dataclass(frozen=True)
class RawConfig:
    """The parsed file: connector entries (unresolved), the customer deny-list, the API token ref."""

    path: str
    connectors: dict[str, dict[str, Any]]
    deny_names: list[str] = field(default_factory=list)
    api_token_ref: Any = None
    signing_key_ref: Any = None  # ``evidence_signing_key``: Ed25519 private key (PEM) that signs evidence bundles
    fallback_route: Any = None  # the raw ``fallback_route`` object; validated where it is used

    @property
    def names(self) -> frozenset[str]:
        return frozenset(self.connectors)

    def provider_of(self, name: str) -> str:
        return str(self.connectors[name].get("provider") or name)


@dataclass(frozen=True)
class Connector:
    """One validated connector: its plugin name, settings model instance and resolved secret values."""

    name: str
    provider: str
    settings: BaseModel
    secrets: tuple[str, ...]


def read_config(path: str | os.PathLike[str]) -> RawConfig:
    """Parse the private config file; errors name the file and the key, never a value."""
    file = Path(path)
    where = f"connector config {file}"
    try:
        raw = read_bytes(file, where)
    except InputError as exc:
        raise ConfigError(str(exc)) from None
    if file.suffix.lower() == ".toml":
        import tomllib

        try:
            document: Any = tomllib.loads(raw.decode())
        except ValueError as exc:  # TOMLDecodeError, UnicodeDecodeError, an integer too long to convert
            raise ConfigError(f"{where}: invalid TOML ({type(exc).__name__})") from None
    else:
        try:
            document = parse_json(raw, where)
        except InputError as exc:
            raise ConfigError(str(exc)) from None
    config = _shape(document, str(file), where)
    _seed(config)
    return config


CONFIG_KEYS: dict[str, tuple[str, ...]] = {"connectors": (), "customer_denylist": (), "api": ("token",),
                                           "evidence_signing_key": (), "fallback_route": ()}
"""The private config's known top-level keys (and, for an object, its known keys); any other is an error."""
MAX_CONNECTORS = 1_000
MAX_DENY_NAMES = 10_000


def _shape(document: Any, path: str, where: str) -> RawConfig:
    """Check the file's shape: known keys only, the right types; relative secret files become absolute."""
    if not isinstance(document, dict):
        raise ConfigError(f"{where}: expected an object with a 'connectors' object")
    refused = value_problem(document)
    if refused is not None:
        raise ConfigError(f"{where}: {json_path(refused[0])}: {refused[1]}")
    for key, value in document.items():
        if key not in CONFIG_KEYS:
            raise ConfigError(f"{where}: {json_path([key])}: unknown key (known keys: {', '.join(CONFIG_KEYS)})")
        if CONFIG_KEYS[key] and isinstance(value, dict):
            unknown = [k for k in value if k not in CONFIG_KEYS[key]]
            if unknown:
                raise ConfigError(f"{where}: {json_path([key, unknown[0]])}: unknown key "
                                  f"(known keys: {', '.join(CONFIG_KEYS[key])})")
    connectors = document.get("connectors")
    if connectors is None:
        raise ConfigError(f"{where}: $.connectors: missing (the connectors object is required, even if empty)")
    if not isinstance(connectors, dict):
        raise ConfigError(f"{where}: $.connectors: expected an object of connectors")
    if len(connectors) > MAX_CONNECTORS:
        raise ConfigError(f"{where}: $.connectors: {len(connectors)} connectors, more than the {MAX_CONNECTORS} limit")
    folder = Path(path).parent
    for name, entry in connectors.items():
        if not isinstance(entry, dict):
            raise ConfigError(f"{where}: {json_path(['connectors', name])}: expected an object")
        if not isinstance(entry.get("provider", ""), str):
            raise ConfigError(f"{where}: {json_path(['connectors', name, 'provider'])}: expected a plugin name")
        connectors[name] = {key: _anchored(value, folder, key in PATH_SETTINGS) for key, value in entry.items()}
    deny = document.get("customer_denylist", [])
    if not isinstance(deny, list) or not all(isinstance(n, str) for n in deny):
        raise ConfigError(f"{where}: $.customer_denylist: expected a list of names")
    if len(deny) > MAX_DENY_NAMES:
        raise ConfigError(f"{where}: $.customer_denylist: {len(deny)} names, more than the {MAX_DENY_NAMES} limit")
    api = document.get("api", {})
    if not isinstance(api, dict):
        raise ConfigError(f"{where}: $.api: expected an object")
    return RawConfig(path, connectors, deny, _anchored(api.get("token"), folder),
                     _anchored(document.get("evidence_signing_key"), folder), document.get("fallback_route"))


PATH_SETTINGS = frozenset({"ca_bundle", "client_cert", "client_key"})  # file paths among the network settings


def _anchored(value: Any, folder: Path, is_path: bool = False) -> Any:
    """A ``{"file": PATH}`` secret ref (or, with ``is_path``, a path setting such as ``ca_bundle``) with a
    relative path is relative to the config file's folder, not the working directory."""
    if is_path and isinstance(value, str) and value and not Path(value).is_absolute():
        return str(folder / value)
    if isinstance(value, dict) and len(value) == 1 and isinstance(value.get("file"), str) and value["file"]:
        return value if Path(value["file"]).is_absolute() else {"file": str(folder / value["file"])}
    return value


MAX_SECRET_BYTES = 64 * 1024
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,255}")


def resolve_secret(value: Any, where: str) -> Any:
    """Resolve ``{"env": VAR}`` / ``{"file": PATH}``; other values pass through unchanged.

    A secret file is a regular UTF-8 text file of at most :data:`MAX_SECRET_BYTES` bytes; a relative path
    was made relative to the config file's folder when the config was read.
    """
    if not (isinstance(value, dict) and len(value) == 1 and set(value) <= {"env", "file"}):
        return value
    kind, ref = next(iter(value.items()))
    if not isinstance(ref, str) or not ref:
        raise ConfigError(f"{where}: {{{kind!r}: ...}} needs a non-empty string")
    if kind == "env":
        if not _ENV_NAME.fullmatch(ref):
            raise ConfigError(f"{where}: {{'env': ...}} is not a valid environment variable name "
                              "(letters, digits and _, not starting with a digit)")
        resolved = os.environ.get(ref)
        if not resolved:
            raise ConfigError(f"{where}: environment variable {ref} is not set")
        return resolved
    shown = printable(ref)
    try:
        raw = read_bytes(ref, f"{where}: secret file {shown}", MAX_SECRET_BYTES)
    except InputError as exc:
        raise ConfigError(str(exc)) from None
    try:
        return raw.decode().rstrip("\r\n")
    except UnicodeDecodeError:
        raise ConfigError(f"{where}: secret file {shown} is not UTF-8 text") from None


def _seed(raw: RawConfig) -> None:
    """Seed the process redactor with what the file holds: every ``env``/``file`` reference resolved,
    the private parts (path, query) of every configured URL, and the API token when it is strong.

    A literal secret is known to be one only from its plugin's settings model; those are seeded as
    soon as a plugin registry is at hand (:func:`seed_secret_fields`), before any plugin sees them.
    A reference that cannot be resolved is left to validation, which reports it.
    """
    from .redact import seed  # here, not at the top: commands without a config never load it

    secrets: list[str] = []
    urls: list[str] = []

    def collect(value: Any, where: str) -> None:
        if isinstance(value, dict) and value and set(value) <= {"env", "file"}:
            try:
                resolved = resolve_secret(value, where)
            except ConfigError:
                return
            if isinstance(resolved, str):
                secrets.append(resolved)
        elif isinstance(value, dict):
            for item in value.values():
                collect(item, where)
        elif isinstance(value, list):
            for item in value:
                collect(item, where)
        elif isinstance(value, str) and "://" in value:
            urls.append(value)

    for name, entry in raw.connectors.items():
        for key, value in entry.items():
            collect(value, f"connector {name!r} field {key!r}")
    try:
        token = api_token(raw)
    except ConfigError:
        token = None  # `cavra serve` refuses a weak token; nothing else uses it
    seed([*secrets, *([token] if token else [])], urls)


def seed_secret_fields(raw: RawConfig, registry: Registry) -> None:
    """Seed the literal values of every connector's secret fields (by its installed plugin's model)."""
    from .provider import secret_field_names
    from .redact import seed

    secrets: list[str] = []
    for name, entry in raw.connectors.items():
        provider = registry.providers.get(raw.provider_of(name))
        if provider is not None:
            secrets += [v for k in secret_field_names(provider.settings_model) if isinstance(v := entry.get(k), str)]
    seed(secrets)


def validate_connector(raw: RawConfig, name: str, registry: Registry) -> Connector:
    """Resolve secret refs and validate one connector against its plugin's settings model."""
    from pydantic import ValidationError

    from .provider import secret_field_names
    from .redact import seed

    where = f"connector {name!r}"
    seed_secret_fields(raw, registry)
    provider_name = raw.provider_of(name)
    provider = registry.providers.get(provider_name)
    if provider is None:
        raise ConfigError(f"{where}: provider plugin {provider_name!r} is not installed "
                          f"(pip install cavra-notify-{provider_name})")
    entry = {k: v for k, v in raw.connectors[name].items() if k != "provider"}
    resolved = {k: resolve_secret(v, f"{where} field {k!r}") for k, v in entry.items()}
    secret_fields = set(secret_field_names(provider.settings_model))
    refs = {k for k, v in entry.items() if resolved[k] is not v}
    try:
        settings = provider.settings_model.model_validate(resolved)
    except ValidationError as exc:
        problems = [f"field {json_path(e['loc'])[2:] or '(settings)'}: {e['msg']}"
                    for e in exc.errors(include_input=False, include_url=False)[:5]]
        raise ConfigError(f"{where} ({provider_name}): " + "; ".join(problems)) from None
    secrets = tuple(str(resolved[k]) for k in sorted(secret_fields | refs)
                    if isinstance(resolved.get(k), str) and resolved[k])
    seed(secrets)
    return Connector(name, provider_name, settings, secrets)


API_TOKEN_MIN_LENGTH, API_TOKEN_MIN_DISTINCT = 24, 10


def api_token(raw: RawConfig) -> str | None:
    """The bearer token mutating API routes require, if the config sets one.

    It must be long and random: the token is scrubbed from every response and log line, and a short
    or guessable one (``"0"``, ``"true"``, ``"2026"``) would both be weak and corrupt that output.
    """
    if raw.api_token_ref is None:
        return None
    token = resolve_secret(raw.api_token_ref, "api.token")
    if not isinstance(token, str) or len(token) < API_TOKEN_MIN_LENGTH or len(set(token)) < API_TOKEN_MIN_DISTINCT:
        raise ConfigError(f"api.token in {raw.path}: use a long random value (at least {API_TOKEN_MIN_LENGTH} "
                          f"characters, {API_TOKEN_MIN_DISTINCT} different ones), e.g. the output of "
                          "python3 -c 'import secrets; print(secrets.token_urlsafe(32))'")
    return token
