"""The ServiceNow connector's settings (plus the core's network settings)."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from pydantic import ConfigDict, SecretStr, field_validator

from cavra_notify import NetworkSettings, OriginUrl

RESERVED_FIELDS = frozenset(
    {"short_description", "description", "correlation_id", "correlation_display", "work_notes"}
)
_TABLE = re.compile(r"^[A-Za-z0-9_]+$")


class ServiceNowSettings(NetworkSettings):
    """Connector settings for one ServiceNow instance and table."""

    model_config = ConfigDict(extra="forbid")

    instance_url: OriginUrl
    user: str
    password: SecretStr
    table: str = "incident"
    assignment_group: str | None = None
    extra_fields: dict[str, str] = {}

    @field_validator("user")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty")
        return value

    @field_validator("table")
    @classmethod
    def _check_table(cls, value: str) -> str:
        if not _TABLE.match(value):
            raise ValueError("table must be a table name such as incident or sn_si_incident")
        return value

    @field_validator("extra_fields")
    @classmethod
    def _check_extra(cls, value: dict[str, str]) -> dict[str, str]:
        clash = sorted(RESERVED_FIELDS & set(value))
        if clash:
            raise ValueError(f"extra_fields must not set fields the plugin fills: {', '.join(clash)}")
        return value

    @property
    def host(self) -> str:
        return urlsplit(self.instance_url).netloc

    @property
    def use_ssl(self) -> bool:
        return self.instance_url.startswith("https://")
