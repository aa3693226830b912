"""Arbitrary JSON into every loader: only the project's own clean errors, never another exception."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cavra_notify.errors import CavraError
from cavra_notify.guard import findings
from cavra_notify.models import DrillHistory, DrillSchedule, RoutingPolicy, load

scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30)
documents = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
    st.text(max_size=12), inner, max_size=5), max_leaves=20)
keys = st.sampled_from(["schema_version", "schedule_id", "drills", "next_due_at", "owners", "owner_routes",
                        "maintenance_windows", "owner_calendars", "interval_days", "executed_at"])
shaped = st.dictionaries(keys, documents, max_size=6).map(lambda d: {
    "schema_version": "cavra.go-backend-rollback-drill-schedule.v1", **d})


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(document=documents | shaped, raw=st.binary(max_size=40))
def test_loaders_raise_only_clean_errors(document: Any, raw: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        for index, content in enumerate((json.dumps(document).encode(), raw)):
            path = Path(folder) / f"doc{index}.json"
            path.write_bytes(content)
            for model in (DrillSchedule, DrillHistory, RoutingPolicy):
                try:
                    load(str(path), "file", model, ["customer"])
                except CavraError as exc:
                    assert str(exc) and "\n" not in str(exc)
    assert isinstance(findings(document), list)
