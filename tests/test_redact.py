"""The one redaction mechanism: URL reduction, secret scrubbing (plain, URL-encoded, base64), logs."""

from __future__ import annotations

import base64
import json
import logging
import uuid
from urllib.parse import quote, quote_plus

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from cavra_notify.redact import MASK, RedactingFilter, Redactor, redact_url


def canary(prefix: str = "s-") -> str:
    return prefix + "canary" + uuid.uuid4().hex


@pytest.mark.parametrize(("url", "expected"), [
    ("https://hooks.example.invalid/services/T000/B000/XXXX", "https://hooks.example.invalid"),
    ("https://example.invalid/webhookb2/abc@def/IncomingWebhook/123/456", "https://example.invalid"),
    ("https://user:pa55@api.example.invalid:8443/v1?token=abc#frag", "https://api.example.invalid:8443"),
    ("http://127.0.0.1:8080/hook?sig=1", "http://127.0.0.1:8080"),
    ("HTTPS://Example.invalid/x", "https://example.invalid"),
    ("not a url", MASK),
    ("", ""),
])
def test_redact_url_keeps_scheme_and_host_only(url: str, expected: str) -> None:
    assert redact_url(url) == expected


def test_urls_inside_text_are_reduced() -> None:
    text = ('posting to https://hooks.example.invalid/services/T1/B2/secretpath?x=1 failed; '
            'teams "https://org.example.invalid/workflows/abc/triggers/manual/paths/invoke?sig=zzz" too; '
            "login https://bot:hunter22@jira.example.invalid/rest")
    out = Redactor().text(text)
    assert "secretpath" not in out and "sig=zzz" not in out and "hunter22" not in out and "bot:" not in out
    assert f"https://hooks.example.invalid/{MASK}" in out
    assert f"https://org.example.invalid/{MASK}" in out
    assert f"https://jira.example.invalid/{MASK}" in out
    assert out.startswith("posting to ")


def test_a_bare_host_url_is_left_alone() -> None:
    assert Redactor().text("see https://status.example.invalid for details") == (
        "see https://status.example.invalid for details")


@pytest.mark.parametrize("encode", [
    lambda s: s,
    lambda s: quote(s, safe=""),
    lambda s: base64.b64encode(s.encode()).decode(),
    lambda s: base64.b64encode(s.encode()).decode().rstrip("="),
    lambda s: base64.urlsafe_b64encode(s.encode()).decode(),
], ids=["plain", "url-encoded", "base64", "base64-unpadded", "base64-urlsafe"])
def test_secrets_are_scrubbed_in_every_encoding(encode: object) -> None:
    secret = canary("tok/+ ") + "?&="  # characters that URL-encoding and base64 alphabets treat differently
    encoded = encode(secret)  # type: ignore[operator]
    out = Redactor([secret]).text(f"the SDK said: invalid credential <{encoded}> (retry later)")
    assert encoded not in out and secret not in out
    assert MASK in out and out.startswith("the SDK said: invalid credential <")


@pytest.mark.parametrize("suffix", ["", "!", "!?", "!?#"])
@pytest.mark.parametrize("prefix", ["", "u:", "us:", "use:", "cavra-bot@example.invalid:"])
@pytest.mark.parametrize("encode", [base64.b64encode, base64.urlsafe_b64encode], ids=["std", "urlsafe"])
def test_base64_of_a_value_containing_the_secret_leaves_no_secret_bits(prefix: str, suffix: str,
                                                                       encode: object) -> None:
    secret = canary()
    blob = encode((prefix + secret + suffix).encode()).decode()  # type: ignore[operator]
    out = Redactor([secret]).text("sent credentials " + blob + " (rejected)")
    head, tail = out.removeprefix("sent credentials ").removesuffix(" (rejected)").split(MASK)
    assert blob.startswith(head) and blob.endswith(tail)
    first_secret_bit, after_secret_bit = 8 * len(prefix), 8 * len(prefix + secret)
    assert 6 * len(head) <= first_secret_bit, "a character before the mask carries secret bits"
    assert 6 * (len(blob) - len(tail)) >= after_secret_bit or not tail.strip("="), \
        "a character after the mask carries secret bits"


def test_hex_and_json_escaped_secrets_are_scrubbed() -> None:
    secret = canary('q"\\é-')
    redactor = Redactor([secret])
    for encoded in (secret.encode().hex(), secret.encode().hex().upper(), json.dumps({"s": secret}),
                    json.dumps({"s": secret}, ensure_ascii=False)):
        out = redactor.scrub("value " + encoded)
        assert MASK in out and secret.encode().hex() not in out.lower() and secret not in out
        assert canary_core(secret) not in out


def canary_core(secret: str) -> str:
    return secret[secret.index("canary"):]


def test_plus_encoded_secret_is_scrubbed() -> None:
    secret = canary("a b ")
    out = Redactor([secret]).text("form body: token=" + quote_plus(secret))
    assert quote_plus(secret) not in out


def test_longest_secret_wins_and_short_values_are_ignored() -> None:
    long, short = canary("abc"), "abc"
    out = Redactor([short, long]).text(f"{long} and abc")
    assert out == f"{MASK} and abc"


def test_authorization_values_are_masked_even_when_unknown() -> None:
    out = Redactor().text("headers: Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.payload.sig, Basic dXNlcjpwYXNz")
    assert "eyJhbGci" not in out and "dXNlcjpwYXNz" not in out
    assert f"Bearer {MASK}" in out and f"Basic {MASK}" in out


def test_value_redacts_nested_structures_and_keys() -> None:
    secret = canary()
    data = {"error": f"boom {secret}", "attempts": [{"note": secret}], secret: 1, "n": 3, "ok": None,
            "t": ("https://x.example.invalid/p?q=1",)}
    out = Redactor([secret]).value(data)
    assert secret not in repr(out)
    assert out["n"] == 3 and out["ok"] is None and out["t"] == [f"https://x.example.invalid/{MASK}"]


def test_add_extends_a_redactor() -> None:
    first, second = canary(), canary()
    redactor = Redactor([first])
    redactor.add([second])
    assert redactor(f"{first} {second}") == f"{MASK} {MASK}"


def test_logging_filter_scrubs_message_args_and_exception_text() -> None:
    secret = canary()
    records: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(self.format(record))

    handler = Collect()
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    handler.addFilter(RedactingFilter(Redactor([secret])))
    logger = logging.getLogger("test_redact.filter")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("token %s rejected by %s", secret, "https://api.example.invalid/v1?key=" + secret)
        try:
            raise RuntimeError(f"SDK echo: {secret}")
        except RuntimeError:
            logger.exception("delivery failed")
        logger.error("stack", stack_info=True, extra={"note": secret})
    finally:
        logger.removeHandler(handler)
    text = "\n".join(records)
    assert secret not in text
    assert "token [REDACTED] rejected by https://api.example.invalid/[REDACTED]" in text
    assert "RuntimeError: SDK echo: [REDACTED]" in text


def test_a_secret_right_after_a_widened_base64_match_is_still_masked() -> None:
    first, second = canary("a-"), canary("b-")
    blob = base64.b64encode(("u:" + first).encode()).decode()  # 42 bytes: no padding, widening eats on
    assert not blob.endswith("=")
    out = Redactor([first, second]).text(blob + second + " end")
    assert second[3:] not in out and first not in out and out.endswith(" end")


@settings(max_examples=300, deadline=None)
@given(secret=st.text(st.characters(exclude_categories=("Cs",)), min_size=8, max_size=40),
       before=st.binary(max_size=7), after=st.binary(max_size=7), around=st.text(max_size=12))
def test_no_encoding_of_a_secret_survives(secret: str, before: bytes, after: bytes, around: str) -> None:
    assume(secret not in MASK and MASK not in secret and secret.strip())
    raw = secret.encode()
    redactor = Redactor([secret])
    for encoded in (secret, quote(secret, safe=""), quote_plus(secret), raw.hex(), json.dumps(secret)[1:-1],
                    base64.b64encode(before + raw + after).decode(),
                    base64.urlsafe_b64encode(before + raw + after).decode()):
        out = redactor.scrub(around + " " + encoded + " " + around)
        assert secret not in out and (encoded not in out or not encoded.strip())
