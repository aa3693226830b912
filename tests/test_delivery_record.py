"""Outcomes are durable soon after the answer, and a database lock delays them but never drops them
(issue 15, item 4).

A lock taken on the evidence store during delivery used to end the run with nothing recorded
(exit 5), so the rerun sent every route again.
"""

from __future__ import annotations

import dataclasses
import sqlite3
import threading
from pathlib import Path

import pytest

from cavra_notify.delivery import deliver_plan
from cavra_notify.errors import StoreError
from cavra_notify.provider import DeliveryRequest, Provider, Receipt
from cavra_notify.store import files as store_files
from cavra_notify.store import open_store
from cavra_notify.store import sqlite as store_sqlite

from .test_delivery import FAST, ToySettings, toy_world

OWNERS = [f"owner-{i}" for i in range(5)]


@pytest.fixture
def short_busy_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    """The store gives up on a lock after 0.2 s instead of 15 s (so a test need not hold one for 15 s)."""
    monkeypatch.setattr(store_files, "BUSY_TIMEOUT_MS", 200)
    monkeypatch.setattr(store_sqlite, "BUSY_TIMEOUT_MS", 200, raising=False)


def locking_provider(db: Path, hold: float, sent: list[str]) -> Provider:
    """Delivers instantly; the first delivery makes another connection take the store's write lock
    for ``hold`` seconds, so the outcomes of every route meet that lock."""
    taken = threading.Event()

    def hold_lock() -> None:
        other = sqlite3.connect(str(db), isolation_level=None, check_same_thread=False)
        other.execute("BEGIN IMMEDIATE")
        taken.set()
        threading.Event().wait(hold)
        other.execute("COMMIT")
        other.close()

    async def deliver(request: DeliveryRequest) -> Receipt:
        if not sent:
            threading.Thread(target=hold_lock, daemon=True).start()
            taken.wait(5)
        sent.append(request.route.owner)
        return Receipt(200)

    return Provider("locked", ToySettings, deliver)


@pytest.mark.usefixtures("short_busy_timeout")
def test_an_outcome_write_that_meets_a_lock_waits_and_retries_instead_of_dropping_it(tmp_path: Path) -> None:
    db = tmp_path / "evidence.db"
    sent: list[str] = []
    registry, plan, connectors = toy_world(tmp_path, locking_provider(db, 1.5, sent), owners=OWNERS)
    store = open_store(db)
    result = deliver_plan(plan, connectors, registry, dataclasses.replace(FAST, deadline=10.0), store=store)

    assert result.outcome == "delivered" and sorted(sent) == OWNERS
    assert store.pending_intents() == [], "every outcome was stored once the lock was released"
    assert len(store.history(kind="delivery")) == len(OWNERS)
    again = deliver_plan(plan, connectors, registry, FAST, store=store)
    assert again.outcome == "nothing_to_deliver" and sorted(sent) == OWNERS, "nothing is sent twice"


@pytest.mark.usefixtures("short_busy_timeout")
def test_a_lock_that_outlasts_the_deadline_ends_the_run_with_the_store_error(tmp_path: Path) -> None:
    db = tmp_path / "evidence.db"
    sent: list[str] = []
    registry, plan, connectors = toy_world(tmp_path, locking_provider(db, 3.0, sent), owners=OWNERS)
    store = open_store(db)
    with pytest.raises(StoreError, match="locked"):
        deliver_plan(plan, connectors, registry, dataclasses.replace(FAST, deadline=1.0), store=store)
    assert len(store.pending_intents()) == len(OWNERS), "the claims stay: a later run settles them"
