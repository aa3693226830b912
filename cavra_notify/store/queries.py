"""Read models over the records table, shared by the SQL backends (``?`` placeholders).

History filters drive one index each; the counts behind the dashboard are one grouped query.
"""

from __future__ import annotations

from typing import Any

from ..errors import InputError
from . import codec
from .codec import RECORD_COLUMNS, col
from .protocol import KINDS, Timestamp

HISTORY_FILTERS = ("schedule_id", "provider", "kind", "outcome", "since", "until")
# Maintained by a trigger on every insert into records (schema version 3): the dashboard reads a few rows
# instead of counting every record ('' stands for NULL in the key).
COUNTS_SQL = "SELECT kind, NULLIF(outcome, ''), NULLIF(failure_class, ''), n FROM record_counts"
# A schedule's records with ``seq`` in [from, to], in store order (parameters: id, id, from, to).
EXPORT_SQL = (
    f"SELECT {RECORD_COLUMNS} FROM records WHERE (schedule_id = ?"
    " OR seq IN (SELECT seq FROM record_schedules WHERE schedule_id = ?)) AND seq >= ? AND seq <= ? ORDER BY seq"
)
LAST_SEQ_SQL = "SELECT COALESCE(MAX(seq), 0) FROM records"


def history_sql(
    *,
    schedule_id: str | None,
    provider: str | None,
    kind: str | None,
    outcome: str | None,
    since: Timestamp | None,
    until: Timestamp | None,
    limit: int,
    plus: bool = True,
) -> tuple[str, list[Any]]:
    """Records newest first; ``outcome`` is the delivery outcome, ack state, plan status or
    escalation alert level; ``until`` is exclusive. ``plus``: SQLite's unary-plus index hints."""
    if kind is not None and kind not in KINDS:
        raise InputError(f"unknown evidence kind '{kind}'; expected one of: {', '.join(KINDS)}")
    if limit < 1:
        raise InputError("history limit must be at least 1")
    where: list[str] = []
    args: list[Any] = []
    indexed = schedule_id is not None
    hint = "+" if plus else ""
    if schedule_id is not None:
        where.append("(schedule_id = ? OR seq IN (SELECT seq FROM record_schedules WHERE schedule_id = ?))")
        args += [schedule_id, schedule_id]
    # Only the most selective filter drives an index (schedule, provider, outcome, kind); the
    # unary + keeps SQLite from switching to a broad index such as kind when it has no statistics.
    if provider is not None:  # a provider plugin's name, or a connector's (deliveries only)
        prefix = hint if indexed else ""
        where.append(f"({prefix}provider = ? OR {prefix}connector = ?)")
        args += [provider, provider]
        indexed = True
    for column, value in (("outcome", outcome), ("kind", kind)):
        if value is not None:
            where.append(f"{hint if indexed else ''}{column} = ?")
            args.append(value)
            indexed = True
    if since is not None:
        where.append("recorded_at >= ?")
        args.append(col(since, "since"))
    if until is not None:
        where.append("recorded_at < ?")
        args.append(col(until, "until"))
    sql = f"SELECT {RECORD_COLUMNS} FROM records"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY recorded_at DESC, seq DESC LIMIT ?"
    args.append(limit)
    return sql, args


def counts(rows: list[tuple[Any, ...]], schedules: int, pending: int) -> dict[str, Any]:
    """The dashboard's totals from :data:`COUNTS_SQL` rows, the schedule count and the claims in flight."""
    by_outcome: dict[str, int] = {}
    by_class: dict[str, int] = {}
    by_state: dict[str, int] = {}
    plans = 0
    for kind, outcome, failure_class, n in rows:
        if kind == "plan":
            plans += n
        elif kind == "delivery":
            by_outcome[outcome] = by_outcome.get(outcome, 0) + n
            if outcome == "failed":
                cls = failure_class or "unknown"
                by_class[cls] = by_class.get(cls, 0) + n
        elif kind == "ack":
            by_state[outcome] = by_state.get(outcome, 0) + n
    return {
        "schedules": schedules,
        "plans": plans,
        "deliveries": {"total": sum(by_outcome.values()), "by_outcome": dict(sorted(by_outcome.items()))},
        "failures": {"total": sum(by_class.values()), "by_class": dict(sorted(by_class.items()))},
        "acknowledgements": {"total": sum(by_state.values()), "by_state": dict(sorted(by_state.items()))},
        "pending_intents": pending,
    }


def export_range(from_seq: int | None, to_seq: int | None, last_seq: int) -> tuple[int, int]:
    """The inclusive sequence range an export covers (``to_seq`` defaults to the store's last record)."""
    for name, value in (("from_seq", from_seq), ("to_seq", to_seq)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise InputError(f"export {name} must be a positive integer")
    high = last_seq if to_seq is None else min(to_seq, last_seq)
    return (from_seq or 1), high


def bundle_records(rows: list[tuple[Any, ...]]) -> list[dict[str, Any]]:
    """Export rows as bundle records: each record with its store sequence number."""
    return [{"seq": row[0], **codec.record(row)} for row in rows]
