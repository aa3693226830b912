"""One redaction mechanism for evidence, errors, logs, CLI output and API responses."""

from __future__ import annotations

import base64
import json
import logging
import re
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qsl, quote, quote_plus, urlsplit

MASK = "[REDACTED]"
MIN_SECRET_LENGTH = 4
_URL = re.compile(r"\b([a-zA-Z][a-zA-Z0-9+.-]*)://([^\s\"'<>]+)")
_AUTH = re.compile(r"\b(Bearer|Basic|token)\s+[A-Za-z0-9._~+/=-]{6,}", re.I)
_SHORTEST_AUTH = len("token") + 1 + 6
_SEEN_MAX, _SEEN_LONGEST = 4096, 256
_PLAIN = frozenset({int, float, bool})  # nothing to redact in these (their subclasses go the long way)


def redact_url(url: str) -> str:
    """Keep scheme and host (and port); drop user-info, path, query and fragment."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return MASK
    if not parts.scheme or not host:
        return MASK if url else ""
    return f"{parts.scheme}://{host}{port}"


class _State:
    """One immutable snapshot: the compiled secret pattern, the kind of each form, a results cache."""

    def __init__(self, forms: dict[str, bool]) -> None:
        self.forms = forms  # form -> True when it is a base64 run cut from inside a longer value
        ordered = sorted(forms, key=len, reverse=True)
        self.pattern = re.compile("|".join(re.escape(f) for f in ordered)) if ordered else None
        self.seen: dict[str, str] = {}


class Redactor:
    """Scrubs every registered secret value (and its encodings) and reduces URLs.

    Each secret is matched as given, URL-encoded (``%XX`` and ``+``), JSON-escaped, hex-encoded
    and base64-encoded (standard and URL-safe, alone or inside a longer value: there the base64
    characters that mix secret bits with neighbouring bytes are masked too). A secret that is a URL
    also registers its private parts: path with query, path, query, each query value and password
    (``POST /hooks/<token>?sig=<sig>`` is how urllib3 logs a request). Adding is thread-safe and
    swaps one immutable snapshot, so a concurrent reader sees the old or the new set, never half.
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._lock = threading.Lock()
        self._forms: dict[str, bool] = {}
        self._state = _State({})
        self.add(secrets)

    def add(self, secrets: Iterable[str], urls: Iterable[str] = ()) -> None:
        """Register secret values, and configured URLs whose path and query are private."""
        fresh: dict[str, bool] = {}
        for secret in secrets:
            if isinstance(secret, str) and len(secret) >= MIN_SECRET_LENGTH:
                fresh.update(_forms(secret))
                fresh.update(_url_forms(secret))
        for url in urls:
            if isinstance(url, str):
                fresh.update(_url_forms(url))
        with self._lock:
            if not fresh.keys() - self._forms.keys():
                return
            for form, inner in fresh.items():
                self._forms[form] = self._forms.get(form, False) or inner
            self._state = _State(dict(self._forms))

    def clear(self) -> None:
        with self._lock:
            self._forms = {}
            self._state = _State({})

    def scrub(self, value: str) -> str:
        """Mask secrets only (every encoding); URLs and headers stay as they are. For output."""
        state = self._state
        if state.pattern is None:
            return value
        return _mask(state, value)

    def text(self, value: str) -> str:
        """Mask secrets, ``Authorization`` values and the path/query/user-info of every URL."""
        state = self._state
        if len(value) > _SEEN_LONGEST:
            return self._text(state, value)
        done = state.seen.get(value)
        if done is None:  # evidence repeats the same ids and names in every record: remember them
            if len(state.seen) >= _SEEN_MAX:
                state.seen.clear()
            done = state.seen[value] = self._text(state, value)
        return done

    @staticmethod
    def _text(state: _State, value: str) -> str:
        if state.pattern is not None:
            value = _mask(state, value)
        if len(value) >= _SHORTEST_AUTH:
            value = _AUTH.sub(lambda m: f"{m.group(1)} {MASK}", value)
        if "://" in value:
            value = _URL.sub(lambda m: _reduce(m.group(0)), value)
        return value

    def value(self, data: Any) -> Any:
        """Redact strings anywhere inside dicts, lists and tuples (keys included)."""
        if isinstance(data, str):
            return self.text(data)
        if isinstance(data, dict):
            text, value = self.text, self.value
            return {text(str(k)): v if v is None or type(v) in _PLAIN else value(v) for k, v in data.items()}
        if isinstance(data, list | tuple):
            return [v if v is None or type(v) in _PLAIN else self.value(v) for v in data]
        return data

    def __call__(self, value: str) -> str:
        return self.text(value)


_B64_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_")


def _mask(state: _State, value: str) -> str:
    assert state.pattern is not None
    out: list[str] = []
    done = 0
    for match in state.pattern.finditer(value):
        start, end = max(match.start(), done), match.end()
        if end <= done:  # inside what an earlier base64 match already widened to
            continue
        if state.forms[match.group(0)]:  # a base64 core: its neighbours hold secret bits too
            while start > done and match.start() - start < 3 and value[start - 1] in _B64_CHARS:
                start -= 1
            stop = end
            while stop < len(value) and stop - end < 3 and value[stop] in _B64_CHARS:
                stop += 1
            while stop < len(value) and stop - end < 5 and value[stop] == "=":
                stop += 1
            end = stop
        out += (value[done:start], MASK)
        done = end
    if not out:
        return value
    out.append(value[done:])
    return "".join(out)


def _forms(secret: str) -> dict[str, bool]:
    raw = secret.encode("utf-8", "surrogatepass")
    plain = {secret, quote(secret, safe=""), quote_plus(secret), json.dumps(secret)[1:-1],
             json.dumps(secret, ensure_ascii=False)[1:-1], raw.hex(), raw.hex().upper()}
    whole, cores = _base64_forms(raw)
    return {**dict.fromkeys(cores, True), **dict.fromkeys(plain | whole, False)}


def _url_forms(value: str) -> dict[str, bool]:
    """The private parts of a URL: path with query, path, query, each query value, the password."""
    try:
        parts = urlsplit(value.strip())
        password = parts.password
    except ValueError:
        return {}
    if not parts.scheme or not parts.netloc:
        return {}
    path, query = parts.path, parts.query
    pieces = [path + "?" + query if query else "", path if path.strip("/") else "", query, password or ""]
    pieces += [v for _, v in parse_qsl(query, keep_blank_values=True)]
    found: dict[str, bool] = {}
    for piece in pieces:
        if len(piece) >= MIN_SECRET_LENGTH:
            found.update(_forms(piece))
    return found


def _base64_forms(raw: bytes) -> tuple[set[str], set[str]]:
    """The secret as standard and URL-safe base64: alone (whole) and at any byte offset inside a longer
    value (cores).

    Inside a longer value (``Basic base64("user:" + token)``) only the 4-character groups made of
    secret bytes alone are stable, so those are what is matched (8 characters at least); the up to 3
    characters either side that mix secret and neighbouring bits are masked with them.
    """
    whole: set[str] = set()
    cores: set[str] = set()
    for encode in (base64.b64encode, base64.urlsafe_b64encode):
        encoded = encode(raw).decode()
        whole.update({encoded, encoded.rstrip("=")})
        for shift in range(3):
            data = b"\0" * shift + raw
            core = encode(data).decode()[4 if shift else 0: len(data) // 3 * 4]
            if len(core) >= 8:
                cores.add(core)
    return whole, cores - whole


def _reduce(url: str) -> str:
    reduced = redact_url(url)
    return reduced if reduced == url else (reduced + "/" + MASK if reduced != MASK else MASK)


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    """Control characters (ANSI escapes included) as visible ``\\xNN``; newlines and tabs stay."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text) if _CONTROL.search(text) else text


def scrub_record(record: logging.LogRecord, redactor: Redactor) -> None:
    """Redact a log record in place: message (with its arguments), exception text and stack.

    The exception is rendered once, redacted, into ``exc_text`` (which formatters reuse) and
    ``exc_info`` is dropped, so no later formatter can render the raw SDK exception again.
    """
    try:
        message = record.getMessage()
    except Exception:  # bad arguments: never let the logging call raise, never print them raw
        message = f"{record.msg!s} (log arguments could not be formatted)"
        record.args = None
    clean = printable(redactor.text(message))
    if clean != message:
        record.msg, record.args = _clean_parts(record, clean, redactor) or (clean, None)
    if record.exc_info and not record.exc_text:
        record.exc_text = logging.Formatter().formatException(record.exc_info)
    record.exc_info = None
    if record.exc_text:
        record.exc_text = printable(redactor.text(record.exc_text))
    if record.stack_info:
        record.stack_info = printable(redactor.text(record.stack_info))


def _clean_parts(record: logging.LogRecord, clean: str, redactor: Redactor) -> tuple[str, Any] | None:
    """The record's format string and arguments cleaned one by one, when that gives the same message
    (formatters such as uvicorn's access log read ``args``); ``None`` when it does not."""
    if not isinstance(record.msg, str) or not isinstance(record.args, tuple):
        return None
    msg = printable(redactor.text(record.msg))
    args = tuple(printable(redactor.text(a)) if isinstance(a, str) else a for a in record.args)
    try:
        same = (msg % args if args else msg) == clean
    except Exception:
        return None
    return (msg, args) if same else None


class RedactingFilter(logging.Filter):
    """A logging filter that redacts every record passing through (for a handler of your own)."""

    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self.redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        scrub_record(record, self.redactor)
        return True


_PROCESS = Redactor()
_hook_lock = threading.Lock()
_hooked: list[Callable[..., logging.LogRecord]] = []  # the record factory we wrapped, once installed


def process_redactor() -> Redactor:
    """The one redactor of this process: evidence, log records, CLI output and API responses."""
    return _PROCESS


def seed(secrets: Iterable[str] = (), urls: Iterable[str] = ()) -> Redactor:
    """Register secrets (and configured URLs whose path and query are private) with the process
    redactor, and make sure every log record of the process passes through it. Idempotent; a secret
    once seeded stays scrubbed for the life of the process, so a late log line is scrubbed too."""
    _PROCESS.add(secrets, urls)
    install_log_hook()
    return _PROCESS


def install_log_hook() -> None:
    """Route every log record of the process through the process redactor, once.

    The hook wraps the log record factory, so it sees each record when it is made: the root
    handlers, handlers added later, non-propagating SDK loggers (slack_sdk, urllib3, httpx,
    httpcore, jira, pysnow, anything a plugin logs through) and uvicorn's loggers alike.
    """
    with _hook_lock:
        if _hooked:
            return
        previous = logging.getLogRecordFactory()

        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = previous(*args, **kwargs)
            scrub_record(record, _PROCESS)
            return record

        logging.setLogRecordFactory(factory)
        _hooked.append(previous)


def reset_process_redactor() -> None:
    """Forget every seeded secret and remove the log hook (test isolation only)."""
    with _hook_lock:
        if _hooked:
            logging.setLogRecordFactory(_hooked.pop())
    _PROCESS.clear()


class SecretLogFilter(logging.Filter):
    """For plugins: scrub the secrets of the calls in progress from their SDKs' log records.

    Inside cavra every log record already passes through the process redactor (see
    :func:`install_log_hook`), seeded with every secret of the connector config. This filter also
    covers a plugin driven without a config (the test kit calls ``deliver`` directly): the plugin
    installs one on its SDK loggers with :func:`install_log_filter` and wraps each call in
    ``with log_filter.active(secrets):``.
    """

    def __init__(self) -> None:
        super().__init__()
        self._secrets: Counter[str] = Counter()
        self._lock = threading.Lock()

    @contextmanager
    def active(self, secrets: Iterable[str]) -> Iterator[None]:
        values = [s for s in secrets if s]
        with self._lock:
            self._secrets.update(values)
        try:
            yield
        finally:
            with self._lock:
                self._secrets.subtract(values)
                self._secrets += Counter()

    def scrub(self, text: str) -> str:
        with self._lock:
            secrets = list(self._secrets)
        return Redactor(secrets).text(text) if secrets else text

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        scrubbed = self.scrub(message)
        if scrubbed != message:
            record.msg, record.args = scrubbed, ()
        if record.exc_info:
            record.exc_text = self.scrub(logging.Formatter().formatException(record.exc_info))
        return True


def install_log_filter(filter_: SecretLogFilter, logger_names: Iterable[str]) -> None:
    for name in logger_names:
        logger = logging.getLogger(name)
        if filter_ not in logger.filters:
            logger.addFilter(filter_)
