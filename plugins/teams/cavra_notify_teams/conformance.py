"""The test kit's conformance cases for Teams: a Workflows webhook and a legacy connector.

``cavra plugins check teams`` and the plugin's own tests run them (see ``cavra_conformance_cases``).
"""

from __future__ import annotations

from cavra_notify.testkit import ConformanceCase, Response

from . import PROVIDER


def cases() -> list[ConformanceCase]:
    workflows = ConformanceCase(
        provider=PROVIDER,
        settings_for=lambda base_url, canary: {
            "webhook_url": f"{base_url}/workflows/w1/triggers/manual/paths/invoke?api-version=1&sig={canary}"},
        success=lambda request: Response(202, b""),
        error_body=lambda status: {"error": {"code": "Scripted", "message": "scripted"}},
        timeout=0.3,
    )
    legacy = ConformanceCase(
        provider=PROVIDER,
        settings_for=lambda base_url, canary: {
            "webhook_url": f"{base_url}/webhookb2/g1@t1/IncomingWebhook/{canary}", "format": "message_card"},
        success=lambda request: Response(200, "1"),
        error_body=lambda status: "scripted error",
        timeout=0.3,
    )
    return [workflows, legacy]
