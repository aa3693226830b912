"""The test kit's conformance case for ServiceNow: the fake Table API answers query and create.

``cavra plugins check servicenow`` and the plugin's own tests run it (see ``cavra_conformance_cases``).
"""

from __future__ import annotations

from cavra_notify.testkit import ConformanceCase

from . import PROVIDER
from .fake import FakeServiceNow


def cases() -> list[ConformanceCase]:
    fake = FakeServiceNow(check_auth=False)
    fake.stop()  # only its handler answers: the check runs its own loopback receiver
    return [ConformanceCase(
        provider=PROVIDER,
        settings_for=lambda base_url, canary: {"instance_url": base_url, "user": "cavra.bot",
                                               "password": "snow-" + canary},
        success=fake.handle,
        error_body=lambda status: {"error": {"message": "scripted", "detail": None}, "status": "failure"},
        timeout=0.3,
    )]
