"""Aware timestamps only: parse ISO 8601 with an offset, format as UTC ``Z``."""

from __future__ import annotations

from datetime import UTC, datetime

from .errors import SettingsError

MIN_YEAR, MAX_YEAR = 1970, 9000
"""Every timestamp read from a file, a flag or a request lies in these years (as written, before its
offset is applied), so no date arithmetic of the product (a year-long span at most) can overflow."""
MAX_SPAN_DAYS = 36_500
"""The longest span in days a setting or a file may give (100 years): intervals, ages, due-soon."""
MAX_MINUTES = 525_600
"""The longest span in minutes a file may give (one year): acknowledgement and repeat intervals."""


def year_problem(moment: datetime) -> str | None:
    """Why ``moment`` is outside the accepted years, or ``None``."""
    if MIN_YEAR <= moment.year <= MAX_YEAR:
        return None
    return f"year {moment.year} is outside {MIN_YEAR}..{MAX_YEAR}"


def utcnow() -> datetime:
    return datetime.now(UTC)


def parse_aware(value: str, what: str = "--now") -> datetime:
    """Parse an ISO 8601 timestamp that carries ``Z`` or an offset; naive values are an error."""
    try:
        parsed = datetime.fromisoformat(value.strip().replace("z", "Z"))
    except (ValueError, TypeError):
        raise SettingsError(f"{what}: not an ISO 8601 timestamp") from None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise SettingsError(f"{what}: timestamp has no UTC offset (add Z or +HH:MM; no zone is guessed)")
    problem = year_problem(parsed)
    if problem:
        raise SettingsError(f"{what}: {problem}")
    return parsed


def iso(moment: datetime | None) -> str | None:
    """UTC ISO 8601 with a ``Z`` suffix, to the second (or microsecond when present)."""
    if moment is None:
        return None
    text = moment.astimezone(UTC).isoformat()
    return text.replace("+00:00", "Z")
