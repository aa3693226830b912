"""The test kit's conformance case for Jira: the fake Jira answers search and create.

``cavra plugins check jira`` and the plugin's own tests run it (see ``cavra_conformance_cases``).
"""

from __future__ import annotations

from cavra_notify.testkit import ConformanceCase

from . import PROVIDER
from .fake import FakeJira


def cases() -> list[ConformanceCase]:
    fake = FakeJira(check_auth=False)
    fake.stop()  # only its handler answers: the check runs its own loopback receiver
    return [ConformanceCase(
        provider=PROVIDER,
        settings_for=lambda base_url, canary: {
            "server": base_url, "email": "cavra-bot@example.invalid", "api_token": "jira-" + canary, "project": "OPS"},
        success=fake.handle,
        error_body=lambda status: {"errorMessages": ["scripted"], "errors": {}},
        timeout=0.3,
    )]
