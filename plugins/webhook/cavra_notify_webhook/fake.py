"""A local generic JSON webhook receiver on 127.0.0.1 that records events and verifies signatures.

``POST <path>`` with a JSON body is recorded and answered ``200 {"received": true}``. With a
``signing_secret`` the receiver checks the timestamp and signature headers the way a real receiver
should (:func:`cavra_notify_webhook.verify_signature`) and answers ``401`` when they do not match.
Other paths are ``404``, other methods ``405``, non-JSON bodies ``400``. Script other answers (429
with ``Retry-After``, 5xx, slow answers) with :meth:`enqueue`.
"""

from __future__ import annotations

import argparse
import json
import ssl
import threading
from dataclasses import dataclass
from typing import Any

from cavra_notify.testkit import LOOPBACK, FakeService, Request, Response, add_listen_arguments

from .signing import verify_signature

DEFAULT_PATH = "/hooks/cavra"


@dataclass(frozen=True)
class ReceivedEvent:
    """One accepted delivery: the parsed event, its headers and whether the signature verified."""

    event: Any
    idempotency_key: str | None
    headers: dict[str, str]
    body: bytes
    signature_verified: bool | None


class FakeWebhookReceiver(FakeService):
    """Loopback JSON webhook endpoint. ``url`` is the full endpoint URL to configure."""

    def __init__(
        self,
        signing_secret: str | None = None,
        *,
        path: str = DEFAULT_PATH,
        signature_header: str = "X-Cavra-Signature",
        timestamp_header: str = "X-Cavra-Timestamp",
        tolerance_seconds: float = 300,
        host: str = LOOPBACK,
        port: int = 0,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.signing_secret = signing_secret
        self.path = path
        self.signature_header = signature_header
        self.timestamp_header = timestamp_header
        self.tolerance_seconds = tolerance_seconds
        self.events: list[ReceivedEvent] = []
        self._lock = threading.Lock()
        super().__init__(host, port, tls=tls)

    @property
    def url(self) -> str:
        return self.receiver.url + self.path

    def handle(self, request: Request) -> Response:
        if request.path != self.path:
            return Response(404, {"error": "not_found"})
        if request.method != "POST":
            return Response(405, {"error": "method_not_allowed"}, {"Allow": "POST"})
        verified: bool | None = None
        if self.signing_secret is not None:
            verified = verify_signature(
                self.signing_secret,
                request.header(self.timestamp_header),
                request.body,
                request.header(self.signature_header),
                tolerance_seconds=self.tolerance_seconds,
            )
            if not verified:
                return Response(401, {"error": "invalid_signature"})
        try:
            event = json.loads(request.body)
        except ValueError:
            return Response(400, {"error": "invalid_json"})
        with self._lock:
            self.events.append(
                ReceivedEvent(event, request.header("Idempotency-Key"), request.headers, request.body, verified)
            )
        return Response(200, {"received": True})


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Run a fake JSON webhook receiver on a loopback address")
    parser.add_argument("--signing-secret", help="verify signatures with this secret")
    parser.add_argument("--path", default=DEFAULT_PATH)
    args = add_listen_arguments(parser).parse_args(argv)
    fake = FakeWebhookReceiver(args.signing_secret, path=args.path, host=args.host, port=args.port)
    fake.serve(f"url={fake.url}")


if __name__ == "__main__":
    main()
