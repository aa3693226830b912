"""The Jira connector's settings (plus the core's network settings)."""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlsplit

from pydantic import ConfigDict, SecretStr, field_validator

from cavra_notify import NetworkSettings, ServerUrl

MAX_LABEL = 255


class JiraSettings(NetworkSettings):
    """Connector settings for one Jira project (plus the core's network settings)."""

    model_config = ConfigDict(extra="forbid")

    server: ServerUrl
    email: str
    api_token: SecretStr
    project: str
    issue_type: str = "Task"
    labels: list[str] = []
    deployment: Literal["auto", "cloud", "server"] = "auto"

    @field_validator("project", "issue_type", "email")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty")
        return value.strip()

    @field_validator("labels")
    @classmethod
    def _check_labels(cls, value: list[str]) -> list[str]:
        for label in value:
            if not label or any(ch.isspace() for ch in label) or len(label) > MAX_LABEL:
                raise ValueError("Jira labels must be non-empty, at most 255 characters, without spaces")
        return value

    @property
    def is_cloud(self) -> bool:
        if self.deployment != "auto":
            return self.deployment == "cloud"
        return (urlsplit(self.server).hostname or "").endswith(".atlassian.net")
