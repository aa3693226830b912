"""Printing: ``--json`` payloads and short human tables. Everything printed goes through ``scrub``."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any

from ..redact import printable, process_redactor


def scrub(text: str) -> str:
    """What may reach the terminal: the process redactor's secrets masked, control characters
    (ANSI escapes) made visible."""
    return printable(process_redactor().scrub(text))


def emit(text: str) -> None:
    sys.stdout.write(scrub(text) + "\n")


def warn(text: str) -> None:
    """One line on stderr, prefixed like an error but not one (the command still printed its payload)."""
    sys.stderr.write(f"cavra: {scrub(text)}\n")


def emit_json(payload: Any) -> None:
    emit(json.dumps(payload, indent=2, sort_keys=False, default=str))


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    cells = [[str(h) for h in headers]] + [["" if c is None else str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
