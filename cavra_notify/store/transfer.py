"""``cavra store copy``: move every table of one evidence store into an empty one (SQLite to PostgreSQL,
typically), keeping sequence numbers, then check that each schedule's bundle has the same chain hash
on both sides (what ``evidence verify`` would recompute)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ..errors import SettingsError, StoreError
from .sql import SQLStore

TABLES: dict[str, tuple[str, ...]] = {
    "records": ("seq", "kind", "id", "schedule_id", "provider", "connector", "outcome", "failure_class",
                "occurrence", "route_key", "plan_id", "recorded_at", "payload"),
    "record_schedules": ("schedule_id", "seq"),
    "plan_heads": ("schedule_id", "plan_id", "generated_at"),
    "notification_log": ("occurrence", "route_key", "connector", "delivery_key", "state", "claims", "claimed_at",
                         "lease_until", "delivered_at", "outcome", "completed_at"),
    "approval_uses": ("approval_id", "worker_run_id", "used_at"),  # an approval stays used once
}
_ORDER = {"records": "seq", "record_schedules": "seq, schedule_id", "plan_heads": "schedule_id",
          "notification_log": "occurrence, route_key, connector", "approval_uses": "approval_id"}


def _rows(store: SQLStore, table: str, batch: int) -> Iterator[list[tuple[Any, ...]]]:
    columns = ", ".join(TABLES[table])
    if table == "records":  # keyset pages: the big one never sits in memory whole
        last = 0
        while rows := _read(store, f"SELECT {columns} FROM records WHERE seq > ? ORDER BY seq LIMIT ?", (last, batch)):
            yield rows
            last = rows[-1][0]
        return
    offset = 0
    while rows := _read(store, f"SELECT {columns} FROM {table} ORDER BY {_ORDER[table]} LIMIT ? OFFSET ?",
                        (batch, offset)):
        yield rows
        offset += len(rows)


def _read(store: SQLStore, sql: str, args: tuple[Any, ...]) -> list[tuple[Any, ...]]:
    with store._read() as db:
        return [tuple(row) for row in store._all(db, sql, args)]


def copy_store(source: SQLStore, target: SQLStore, *, batch: int = 2000) -> dict[str, Any]:
    """Copy ``source`` into the empty ``target``; the counts copied and the schedules verified."""
    with target._read() as db:
        if int(target._one(db, "SELECT COUNT(*) FROM records")[0]) or int(
                target._one(db, "SELECT COUNT(*) FROM notification_log")[0]):
            raise StoreError(f"evidence store {target.label} is not empty; copy only into a new store")
    copied: dict[str, int] = {}
    for table, columns in TABLES.items():
        insert = (f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})")
        copied[table] = 0
        for rows in _rows(source, table, batch):
            with target._write() as db:
                db.executemany(target._sql(insert), rows)
            copied[table] += len(rows)
    target.after_copy()
    with source._read() as db:
        schedules = [r[0] for r in source._all(db, "SELECT DISTINCT schedule_id FROM records WHERE schedule_id IS "
                                                   "NOT NULL UNION SELECT DISTINCT schedule_id FROM record_schedules")]
    differing = [sid for sid in sorted(schedules)
                 if source.export(sid)["chain_hash"] != target.export(sid)["chain_hash"]]
    if differing:
        raise StoreError(f"copy verification failed: bundles differ for {len(differing)} schedule(s), first "
                         f"{differing[0]}")
    return {"source": source.label, "target": target.label, "copied": copied, "schedules_verified": len(schedules)}


def copy_between(source: str, target: str) -> dict[str, Any]:
    """Open both stores (the source read-only) and :func:`copy_store` from one into the other."""
    from . import open_store

    origin = open_store(source, read_only=True)
    try:
        destination = open_store(target)
        try:
            if not (isinstance(origin, SQLStore) and isinstance(destination, SQLStore)):
                raise SettingsError("store copy works between the SQLite and PostgreSQL stores only")
            return copy_store(origin, destination)
        finally:
            destination.close()
    finally:
        origin.close()
