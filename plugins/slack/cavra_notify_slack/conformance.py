"""The test kit's conformance cases for Slack: bot mode and incoming-webhook mode.

``cavra plugins check slack`` and the plugin's own tests run them (see ``cavra_conformance_cases``).
"""

from __future__ import annotations

from cavra_notify.testkit import ConformanceCase, Response

from . import PROVIDER


def cases() -> list[ConformanceCase]:
    bot = ConformanceCase(
        provider=PROVIDER,
        settings_for=lambda base_url, canary: {
            "token": "xoxb-" + canary, "channel": "#release-governance", "base_url": base_url + "/api/"},
        success=lambda request: Response(200, {"ok": True, "channel": "C0CAVRA0001", "ts": "1700000000.000100"}),
        error_body=lambda status: {"ok": False, "error": "scripted"},
        timeout=0.3,
    )
    webhook = ConformanceCase(
        provider=PROVIDER,
        settings_for=lambda base_url, canary: {"webhook_url": f"{base_url}/services/T0/B0/{canary}"},
        success=lambda request: Response(200, "ok"),
        error_body=lambda status: "scripted_error",
        timeout=0.3,
    )
    return [bot, webhook]
