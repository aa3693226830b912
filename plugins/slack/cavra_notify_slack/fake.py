"""A local fake of Slack's Web API ``chat.postMessage`` and incoming webhooks, on 127.0.0.1.

Shapes follow Slack: Web API errors are HTTP 200 with ``{"ok": false, "error": "<code>"}``; incoming
webhooks answer ``ok`` as text, or an HTTP error with a short text code (``invalid_token``,
``no_service``, ``invalid_payload``). Script other answers (429 + Retry-After, 5xx, delays) with
:meth:`FakeSlack.enqueue`.

Run it alone with ``python -m cavra_notify_slack.fake --token <bot token>`` (it prints its URLs).
"""

from __future__ import annotations

import argparse
import json
import secrets
import ssl
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs

from cavra_notify.testkit import LOOPBACK, FakeService, Request, Response, add_listen_arguments

API_PREFIX = "/api/"
WEBHOOK_PREFIX = "/services/"
DEFAULT_CHANNELS = {"#release-governance": "C0CAVRA0001", "C0CAVRA0001": "C0CAVRA0001"}


class FakeSlack(FakeService):
    """Fake Slack: ``api_base`` for ``base_url``, ``webhook_url`` for incoming-webhook mode."""

    def __init__(
        self,
        token: str,
        *,
        webhook_secret: str | None = None,
        channels: Mapping[str, str] | None = None,
        team: str = "TCAVRA0000",
        bot: str = "BCAVRA0000",
        host: str = LOOPBACK,
        port: int = 0,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.token = token
        self.channels = dict(channels or DEFAULT_CHANNELS)
        self.webhook_path = f"{WEBHOOK_PREFIX}{team}/{bot}/{webhook_secret or secrets.token_hex(12)}"
        super().__init__(host, port, tls=tls)
        self.messages: list[dict[str, Any]] = []
        self._ts = 1700000000.0001

    @property
    def api_base(self) -> str:
        return f"{self.receiver.url}{API_PREFIX}"

    @property
    def webhook_url(self) -> str:
        return f"{self.receiver.url}{self.webhook_path}"

    def handle(self, request: Request) -> Response:
        if request.path.startswith(WEBHOOK_PREFIX):
            return self._webhook(request)
        if request.path == f"{API_PREFIX}chat.postMessage":
            return self._post_message(request)
        if request.path.startswith(API_PREFIX):
            return Response(404, {"ok": False, "error": "unknown_method"})
        return Response(404, "Not Found")

    def _post_message(self, request: Request) -> Response:
        if request.method != "POST":
            return Response(405, {"ok": False, "error": "method_not_supported_for_channel_type"})
        params = _params(request)
        if params is None:
            return Response(200, {"ok": False, "error": "invalid_json"})
        token = _bearer(request) or str(params.get("token") or "")
        if not token:
            return Response(200, {"ok": False, "error": "not_authed"})
        if token != self.token:
            return Response(200, {"ok": False, "error": "invalid_auth"})
        channel = self.channels.get(str(params.get("channel") or ""))
        if channel is None:
            return Response(200, {"ok": False, "error": "channel_not_found"})
        if not params.get("text") and not params.get("blocks"):
            return Response(200, {"ok": False, "error": "no_text"})
        self._ts += 0.0001
        ts = f"{self._ts:.6f}"
        message = {"type": "message", "text": params.get("text", ""), "ts": ts,
                   "blocks": params.get("blocks", []), "bot_id": "BCAVRA0000"}
        self.messages.append({"channel": channel, **message})
        return Response(200, {"ok": True, "channel": channel, "ts": ts, "message": message})

    def _webhook(self, request: Request) -> Response:
        if request.method != "POST":
            return Response(405, "invalid_method")
        if request.path != self.webhook_path:
            prefix = self.webhook_path.rsplit("/", 1)[0] + "/"
            return Response(403, "invalid_token") if request.path.startswith(prefix) else Response(
                404, "no_service"
            )
        try:
            payload = json.loads(request.body or b"{}")
        except ValueError:
            return Response(400, "invalid_payload")
        if not isinstance(payload, dict) or not (payload.get("text") or payload.get("blocks")):
            return Response(400, "no_text")
        self.messages.append({"channel": "webhook", **payload})
        return Response(200, "ok")


def _bearer(request: Request) -> str | None:
    value = request.header("Authorization") or ""
    return value[len("Bearer "):] if value.startswith("Bearer ") else None


def _params(request: Request) -> dict[str, Any] | None:
    content_type = request.header("Content-Type") or ""
    if "application/json" in content_type:
        try:
            data = json.loads(request.body or b"{}")
        except ValueError:
            return None
        return data if isinstance(data, dict) else None
    form = parse_qs(request.body.decode(errors="replace"))
    params: dict[str, Any] = {key: values[-1] for key, values in form.items()}
    if isinstance(params.get("blocks"), str):
        try:
            params["blocks"] = json.loads(params["blocks"])
        except ValueError:
            return None
    params.update({k: v[-1] for k, v in request.query.items()})
    return params


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Run a fake Slack API on a loopback address")
    parser.add_argument("--token", required=True, help="the bot token the fake accepts")
    add_listen_arguments(parser)
    args = parser.parse_args(argv)
    fake = FakeSlack(args.token, host=args.host, port=args.port)
    fake.serve(f"api_base={fake.api_base}\nwebhook_url={fake.webhook_url}")


if __name__ == "__main__":
    main()
