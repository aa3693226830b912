"""Log output: short text lines by default, or one JSON object per line for log shippers.

``CAVRA_LOG_FORMAT=json`` (or ``cavra serve --log-format json``) selects JSON: ``time``, ``level``,
``logger`` and ``message`` (plus ``exception``, the exception's type only). Every record has already
passed through the process redactor (:mod:`cavra_notify.redact`) when it is made, so neither form can
carry a secret the private config named.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from datetime import UTC, datetime

from .errors import SettingsError

ENV_FORMAT = "CAVRA_LOG_FORMAT"
FORMATS = ("text", "json")
TEXT = "cavra: %(levelname)s: %(message)s"


class JsonFormatter(logging.Formatter):
    """One JSON object per record."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {"time": datetime.fromtimestamp(record.created, UTC).isoformat().replace("+00:00", "Z"),
                 "level": record.levelname.lower(), "logger": record.name, "message": record.getMessage()}
        if record.exc_info and record.exc_info[0] is not None:
            entry["exception"] = record.exc_info[0].__name__
        return json.dumps(entry, ensure_ascii=False)


def log_format(flag: str | None = None, env: Mapping[str, str] | None = None) -> str:
    """The format from the flag, else ``CAVRA_LOG_FORMAT``, else ``text``; anything else is an error."""
    value = (flag or (os.environ if env is None else env).get(ENV_FORMAT) or "text").strip().lower()
    if value not in FORMATS:
        raise SettingsError(f"{'--log-format' if flag else ENV_FORMAT}: unknown log format {value!r}; "
                            f"expected one of {', '.join(FORMATS)}")
    return value


def formatter(name: str) -> logging.Formatter:
    return JsonFormatter() if name == "json" else logging.Formatter(TEXT)


def configure(flag: str | None = None, level: int = logging.WARNING) -> None:
    """Give the root logger one stderr handler in the chosen format, unless something already set one."""
    root = logging.getLogger()
    if root.handlers:
        return
    handler = logging.StreamHandler()
    handler.setFormatter(formatter(log_format(flag)))
    root.addHandler(handler)
    root.setLevel(level)
