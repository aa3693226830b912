"""A local fake of Teams incoming webhooks on 127.0.0.1: Power Automate Workflows and the legacy
Office 365 connector.

- ``POST /workflows/<id>/triggers/manual/paths/invoke?api-version=1&sp=...&sv=1.0&sig=<sig>``
  answers ``202`` with an empty body; a wrong or missing ``sig`` is ``401`` with an Azure-style
  ``{"error": {"code": ..., "message": ...}}`` body; a payload that is not a message with an Adaptive
  Card attachment is ``400``; a payload over 28 KB is ``413``.
- ``POST /webhookb2/<path>`` (legacy connector) answers ``200`` with the text ``1``; an unknown path
  is ``404``, a card without text or summary ``400``.

Script other answers (429 + Retry-After, 5xx, delays) with :meth:`FakeTeams.enqueue`.
Run it alone with ``python -m cavra_notify_teams.fake`` (it prints both webhook URLs).
"""

from __future__ import annotations

import argparse
import json
import secrets
import ssl
from typing import Any

from cavra_notify.testkit import LOOPBACK, FakeService, Request, Response, add_listen_arguments

MAX_PAYLOAD_BYTES = 28_000
ADAPTIVE_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"


def _azure_error(status: int, code: str, message: str) -> Response:
    return Response(status, {"error": {"code": code, "message": message}})


class FakeTeams(FakeService):
    """``workflow_url`` and ``connector_url`` are the secret webhook URLs a connector is given."""

    def __init__(self, sig: str | None = None, connector_secret: str | None = None, *, host: str = LOOPBACK,
                 port: int = 0, tls: ssl.SSLContext | None = None) -> None:
        self.sig = sig or secrets.token_urlsafe(32)
        self.workflow_id = secrets.token_hex(16)
        self.workflow_path = f"/workflows/{self.workflow_id}/triggers/manual/paths/invoke"
        secret = connector_secret or secrets.token_hex(16)
        self.connector_path = f"/webhookb2/{secrets.token_hex(8)}@{secrets.token_hex(8)}/IncomingWebhook/{secret}"
        super().__init__(host, port, tls=tls)
        self.cards: list[dict[str, Any]] = []

    @property
    def workflow_url(self) -> str:
        query = f"api-version=1&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig={self.sig}"
        return f"{self.receiver.url}{self.workflow_path}?{query}"

    @property
    def connector_url(self) -> str:
        return f"{self.receiver.url}{self.connector_path}"

    def handle(self, request: Request) -> Response:
        if request.path.startswith("/workflows/"):
            return self._workflow(request)
        if request.path.startswith("/webhookb2/"):
            return self._connector(request)
        return Response(404, "Not Found")

    def _workflow(self, request: Request) -> Response:
        if request.path != self.workflow_path:
            return _azure_error(404, "WorkflowNotFound", "The workflow could not be found.")
        if request.method != "POST":
            return _azure_error(405, "TriggerRequestMethodNotValid", "The HTTP method is not allowed.")
        if not request.query.get("api-version"):
            return _azure_error(400, "MissingApiVersionParameter", "The api-version query parameter is required.")
        if request.query.get("sig") != [self.sig]:
            return _azure_error(401, "DirectApiInvalidAuthorizationSignature",
                                "The provided authorization signature is not valid.")
        if len(request.body) > MAX_PAYLOAD_BYTES:
            return _azure_error(413, "RequestEntityTooLarge", "The message is too large.")
        card = _adaptive_card(request.body)
        if card is None:
            return _azure_error(400, "InvalidRequestContent",
                                "The request must be a message with an Adaptive Card attachment.")
        self.cards.append(card)
        return Response(202, b"")

    def _connector(self, request: Request) -> Response:
        if request.path != self.connector_path:
            return Response(404, "Webhook not found")
        if len(request.body) > MAX_PAYLOAD_BYTES:
            return Response(413, "Request Entity Too Large")
        try:
            card = json.loads(request.body or b"{}")
        except ValueError:
            return Response(400, "Bad payload received by generic incoming webhook.")
        if not isinstance(card, dict) or not (card.get("text") or card.get("summary")):
            return Response(400, "Summary or Text is required.")
        self.cards.append(card)
        return Response(200, "1")


def _adaptive_card(body: bytes) -> dict[str, Any] | None:
    try:
        payload = json.loads(body or b"{}")
    except ValueError:
        return None
    if not isinstance(payload, dict) or payload.get("type") != "message":
        return None
    for attachment in payload.get("attachments") or []:
        content = attachment.get("content") if isinstance(attachment, dict) else None
        if attachment.get("contentType") == ADAPTIVE_CONTENT_TYPE and isinstance(content, dict) \
                and content.get("type") == "AdaptiveCard":
            return content
    return None


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Run a fake Teams webhook service on a loopback address")
    args = add_listen_arguments(parser).parse_args(argv)
    fake = FakeTeams(host=args.host, port=args.port)
    fake.serve(f"workflow_url={fake.workflow_url}\nconnector_url={fake.connector_url}")


if __name__ == "__main__":
    main()
