"""Aware timestamps only: parse ISO 8601 with an offset, format as UTC ``Z``."""

from __future__ import annotations

from datetime import UTC, datetime

from .errors import SettingsError


def utcnow() -> datetime:
    return datetime.now(UTC)


def parse_aware(value: str, what: str = "--now") -> datetime:
    """Parse an ISO 8601 timestamp that carries ``Z`` or an offset; naive values are an error."""
    try:
        parsed = datetime.fromisoformat(value.strip().replace("z", "Z"))
    except ValueError:
        raise SettingsError(f"{what}: not an ISO 8601 timestamp") from None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise SettingsError(f"{what}: timestamp has no UTC offset (add Z or +HH:MM; no zone is guessed)")
    if not 1970 <= parsed.year <= 9000:
        raise SettingsError(f"{what}: year {parsed.year} is outside 1970..9000")
    return parsed


def iso(moment: datetime | None) -> str | None:
    """UTC ISO 8601 with a ``Z`` suffix, to the second (or microsecond when present)."""
    if moment is None:
        return None
    text = moment.astimezone(UTC).isoformat()
    return text.replace("+00:00", "Z")
