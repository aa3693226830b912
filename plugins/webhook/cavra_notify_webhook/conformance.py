"""The test kit's conformance case for the webhook: a signed POST to a secret URL.

``cavra plugins check webhook`` and the plugin's own tests run it (see ``cavra_conformance_cases``).
"""

from __future__ import annotations

from cavra_notify.testkit import ConformanceCase, Response

from . import PROVIDER


def cases() -> list[ConformanceCase]:
    return [ConformanceCase(
        provider=PROVIDER,
        settings_for=lambda base_url, canary: {"url": f"{base_url}/hooks/{canary}",
                                               "signing_secret": "whsec-" + canary},
        success=lambda request: Response(200, {"received": True}),
    )]
