"""pytest plugin (auto-loaded through the ``pytest11`` entry point): the ``fake_receiver`` fixture."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .receiver import FakeReceiver


@pytest.fixture
def fake_receiver() -> Iterator[FakeReceiver]:
    """A started loopback :class:`FakeReceiver` that answers ``200 {"ok": true}`` by default."""
    with FakeReceiver() as receiver:
        yield receiver
