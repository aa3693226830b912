"""Printing: ``--json`` payloads and short human tables. Everything printed goes through ``scrub``."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Sequence
from typing import Any

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # as redact.printable; newlines and tabs stay


def scrub(text: str) -> str:
    """What may reach the terminal: the process redactor's secrets masked, control characters
    (ANSI escapes) written as ``\\xNN``.

    Nothing can be seeded before the redactor's module is loaded (reading the connector config loads
    it), so a read-only command without a config never imports it: that keeps its start-up fast.
    """
    redact = sys.modules.get("cavra_notify.redact")
    if redact is not None:
        text = redact.process_redactor().scrub(text)
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def emit(text: str) -> None:
    sys.stdout.write(scrub(text) + "\n")


def warn(text: str) -> None:
    """One line on stderr, prefixed like an error but not one (the command still printed its payload)."""
    sys.stderr.write(f"cavra: {scrub(text)}\n")


def emit_json(payload: Any) -> None:
    """Strict JSON only: a non-finite number (NaN, Infinity) is an error of its own, never printed bare."""
    try:
        text = json.dumps(payload, indent=2, sort_keys=False, default=str, allow_nan=False)
    except ValueError:
        from ..errors import CavraError

        raise CavraError("the output holds a non-finite number (NaN or Infinity), which JSON cannot carry") from None
    emit(text)


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    cells = [[str(h) for h in headers]] + [["" if c is None else str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
