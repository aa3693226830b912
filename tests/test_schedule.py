"""Every status path of the schedule report (SPEC §3)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from cavra_notify.errors import SettingsError
from cavra_notify.schedule import ScheduleReport, evaluate_schedule
from cavra_notify.settings import resolve

from .conftest import NOW

Write = Callable[[str, Any], str]


def report(schedule: str | None = None, history: str | None = None, mode: str = "promoted",
           now: Any = NOW, **kw: Any) -> ScheduleReport:
    settings = resolve(mode=mode, schedule_path=schedule, history_path=history, env={}, **kw)
    return evaluate_schedule(settings, now)


def failed(r: ScheduleReport) -> set[str]:
    return {c.id for c in r.failed_checks}


@pytest.mark.parametrize("mode", ["disabled", "shadow", "enforce"])
def test_not_requested_without_schedule(mode: str) -> None:
    r = report(mode=mode)
    assert r.status == "not_requested" and r.alert_level == "healthy" and r.acceptable


def test_default_mode_is_not_requested() -> None:
    r = evaluate_schedule(resolve(env={}), NOW)
    assert r.status == "not_requested" and r.settings.mode == "disabled"


def test_promoted_without_schedule_needs_attention() -> None:
    r = report(mode="promoted")
    assert r.status == "needs_attention" and failed(r) == {"schedule_configured"}


def test_shadow_with_explicit_schedule_is_evaluated(write_json: Write, schedule_doc: dict[str, Any]) -> None:
    schedule_doc["next_due_at"] = "2027-02-01T00:00:00Z"
    assert report(write_json("s.json", schedule_doc), mode="shadow").status == "ready"


def test_ready(write_json: Write, schedule_doc: dict[str, Any]) -> None:
    schedule_doc["next_due_at"] = "2027-01-15T00:00:00Z"
    r = report(write_json("s.json", schedule_doc))
    assert r.status == "ready" and not r.stale and not r.due_soon and r.alert_level == "healthy"
    assert r.as_dict()["schedule"]["next_due_at"] == "2027-01-15T00:00:00Z"


def test_due_soon_exactly_at_boundary(write_json: Write, schedule_doc: dict[str, Any]) -> None:
    schedule_doc["next_due_at"] = "2026-12-11T09:00:00Z"  # exactly 14 days after NOW
    r = report(write_json("s.json", schedule_doc))
    assert r.days_until_due == 14 and r.status == "due_soon" and r.alert_level == "warning"
    later = report(write_json("s.json", schedule_doc), now=NOW - timedelta(seconds=1))
    assert later.status == "ready"


def test_stale_one_second_past_due(write_json: Write, schedule_doc: dict[str, Any]) -> None:
    schedule_doc["next_due_at"] = "2026-11-27T09:00:00Z"
    assert report(write_json("s.json", schedule_doc)).status == "due_soon"  # due now, not yet past
    r = report(write_json("s.json", schedule_doc), now=NOW + timedelta(seconds=1))
    assert r.status == "needs_attention" and r.stale and "not_stale" in failed(r) and r.alert_level == "critical"


def test_next_due_derived_from_history(write_json: Write, schedule_doc: dict[str, Any],
                                       history_doc: dict[str, Any]) -> None:
    r = report(write_json("s.json", schedule_doc), write_json("h.json", history_doc))
    assert r.as_dict()["schedule"]["next_due_at"] == "2026-12-10T15:40:00Z"  # latest drill + 30 days
    assert r.status == "due_soon"


def test_history_missing_and_no_next_due(write_json: Write, schedule_doc: dict[str, Any], tmp_path: Path) -> None:
    r = report(write_json("s.json", schedule_doc))
    assert r.status == "needs_attention" and "next_due_derivable" in failed(r)
    r = report(write_json("s.json", schedule_doc), str(tmp_path / "missing.json"))
    assert {"next_due_derivable", "history_readable"} <= failed(r)


@pytest.mark.parametrize(("key", "value", "check"), [
    ("status", "paused", "schedule_active"),
    ("interval_days", 0, "interval_positive"),
    ("interval_days", -30, "interval_positive"),
    ("owners", [], "owners_configured"),
    ("notification_providers", [], "providers_configured"),
    ("runbook_ref", "", "runbook_ref_present"),
])
def test_content_problems(write_json: Write, schedule_doc: dict[str, Any], key: str, value: Any, check: str) -> None:
    schedule_doc.update({key: value, "next_due_at": "2027-01-15T00:00:00Z"})
    r = report(write_json("s.json", schedule_doc))
    assert r.status == "needs_attention" and check in failed(r)


def test_missing_runbook_key(write_json: Write, schedule_doc: dict[str, Any]) -> None:
    del schedule_doc["runbook_ref"]
    schedule_doc["next_due_at"] = "2027-01-15T00:00:00Z"
    assert "runbook_ref_present" in failed(report(write_json("s.json", schedule_doc)))


@pytest.mark.parametrize(("content", "check", "words"), [
    ('{"schema_version": "cavra.other.v1", "schedule_id": "x"}', "schedule_schema", "schema_version"),
    ("{not json", "schedule_readable", "invalid JSON at line 1"),
    ("", "schedule_readable", "empty"),
    ('{"schema_version": "cavra.go-backend-rollback-drill-schedule.v1", "schedule_id": "x",'
     ' "next_due_at": "2027-01-01T00:00:00"}', "schedule_schema", "$.next_due_at: Input should have timezone"),
])
def test_bad_files(write_json: Write, content: str, check: str, words: str) -> None:
    r = report(write_json("s.json", content))
    messages = {c.id: c.message for c in r.failed_checks}
    assert r.status == "needs_attention" and check in messages and words in messages[check]


def test_directory_as_path(tmp_path: Path) -> None:
    r = report(str(tmp_path))
    assert "is a directory" in r.failed_checks[0].message


def test_huge_file_is_refused(write_json: Write) -> None:
    r = report(write_json("s.json", " " * (6 * 1024 * 1024) + "{}"))
    assert "limit" in r.failed_checks[0].message


def test_guard_failure_names_path(write_json: Write, schedule_doc: dict[str, Any]) -> None:
    schedule_doc["runbook_ref"] = "https://wiki.corp.example/runbook"
    r = report(write_json("s.json", schedule_doc))
    (check,) = r.failed_checks
    assert check.id == "schedule_public_safe" and "$.runbook_ref" in check.message
    assert "wiki.corp" not in check.message


def test_deliverable_route_with_connector_config(write_json: Write, schedule_doc: dict[str, Any]) -> None:
    schedule_doc["next_due_at"] = "2027-01-15T00:00:00Z"
    path = write_json("s.json", schedule_doc)
    settings = resolve(mode="promoted", schedule_path=path, env={})
    bad = evaluate_schedule(settings, NOW, configured_connectors=frozenset({"pagerduty"}))
    assert bad.status == "needs_attention" and "deliverable_route" in failed(bad)
    good = evaluate_schedule(settings, NOW, configured_connectors=frozenset({"slack"}))
    assert good.status == "ready"


@pytest.mark.parametrize(("env", "words"), [
    ({"CAVRA_GO_BACKEND_MODE": "promtoed"}, "CAVRA_GO_BACKEND_MODE"),
    ({"CAVRA_GO_ROLLBACK_DRILL_DUE_SOON_DAYS": "abc"}, "CAVRA_GO_ROLLBACK_DRILL_DUE_SOON_DAYS"),
    ({"CAVRA_GO_ROLLBACK_DRILL_MAX_AGE_DAYS": "0"}, "CAVRA_GO_ROLLBACK_DRILL_MAX_AGE_DAYS"),
])
def test_invalid_environment_names_the_variable(env: dict[str, str], words: str) -> None:
    with pytest.raises(SettingsError, match=words):
        resolve(env=env)


def test_flag_wins_over_environment() -> None:
    settings = resolve(mode="shadow", due_soon_days="3", env={"CAVRA_GO_BACKEND_MODE": "promoted",
                                                            "CAVRA_GO_ROLLBACK_DRILL_DUE_SOON_DAYS": "30"})
    assert (settings.mode, settings.due_soon_days) == ("shadow", 3)
    with pytest.raises(SettingsError, match="--mode"):
        resolve(mode="sideways", env={})


def test_models_validate_with_the_generated_schema(schedule_doc: dict[str, Any], history_doc: dict[str, Any]) -> None:
    """Extra keys are kept apart from the fields (no key can shadow a field or method); models are read-only."""
    from cavra_notify.models import DrillHistory, DrillSchedule, validate

    schedule_doc.update(latest="x", __post_init__=1, schedule_id="s-1", owner_routes={"ops": {"escalation_owner": "a",
                                                                                         "pager": "p"}})
    history_doc.update(latest=[], drills=[{**d, "note": "n"} for d in history_doc["drills"]])
    schedule = validate(DrillSchedule, schedule_doc, "schedule")
    history = validate(DrillHistory, history_doc, "history")
    assert schedule.schedule_id == "s-1" and schedule.__pydantic_extra__ == {"latest": "x", "__post_init__": 1}
    assert schedule.owner_routes is not None and schedule.owner_routes["ops"].__pydantic_extra__ == {"pager": "p"}
    latest = history.latest()
    assert latest is not None and latest.__pydantic_extra__ == {"note": "n"}
    assert schedule == validate(DrillSchedule, schedule_doc, "schedule") and schedule != history
    with pytest.raises(AttributeError, match="read-only"):
        schedule.schedule_id = "other"  # type: ignore[misc]


@pytest.mark.parametrize(("patch", "words"), [
    ({"next_due_at": "2027-01-01T00:00:00"}, "$.next_due_at: Input should have timezone info"),
    ({"maintenance_windows": [{"window_id": "w", "start_at": "2027-01-01T00:00:00Z", "end_at": "2027-01-02T00:00:00"}]},
     "$.maintenance_windows[0].end_at: Input should have timezone info"),
    ({"owner_calendars": {"ops team": {"unavailable_windows": [
        {"start_at": "2027-01-02T00:00:00Z", "end_at": "2027-01-01T00:00:00Z"}]}}},
     '$.owner_calendars["ops team"].unavailable_windows[0]: Value error, end_at must be after start_at'),
    ({"owner_routes": {"ops": {"acknowledgement_minutes": 0}}},
     "$.owner_routes.ops.acknowledgement_minutes: Input should be greater than 0"),
    ({"schedule_id": ""}, "$.schedule_id: String should have at least 1 character"),
    ({"owners": "ops"}, "$.owners: Input should be a valid list"),
])
def test_schema_errors_name_file_and_json_path(write_json: Write, schedule_doc: dict[str, Any],
                                               patch: dict[str, Any], words: str) -> None:
    from cavra_notify.models import DrillSchedule, SchemaError, load

    path = write_json("s.json", {**schedule_doc, **patch})
    with pytest.raises(SchemaError) as caught:
        load(path, "schedule", DrillSchedule)
    assert str(caught.value).startswith(f"schedule {path}: ") and words in str(caught.value)


def test_naive_drill_timestamp_is_rejected(write_json: Write, history_doc: dict[str, Any]) -> None:
    from cavra_notify.models import DrillHistory, SchemaError, load

    history_doc["drills"][0]["executed_at"] = "2026-11-10T15:40:00"
    with pytest.raises(SchemaError, match=r"\$\.drills\[0\]\.executed_at: Input should have timezone info"):
        load(write_json("h.json", history_doc), "history", DrillHistory)


def test_generated_schema_is_current() -> None:
    """``_schemas.py`` is what the installed pydantic generates from models.py (under another
    pydantic-core the generated file is not used: see the next test)."""
    from pydantic_core import __version__

    from cavra_notify import _schemas
    from cavra_notify.models import _definitions, schema_module

    if __version__ != _schemas.PYDANTIC_CORE_VERSION:
        assert _definitions() is not _schemas.MODELS
        return
    assert _definitions() is _schemas.MODELS
    current = (Path(__file__).resolve().parents[1] / "cavra_notify" / "_schemas.py").read_text()
    assert current == schema_module(), "cavra_notify/_schemas.py is stale: run python -m cavra_notify.models"


def test_under_another_pydantic_core_the_schema_is_built_at_run_time(
        monkeypatch: pytest.MonkeyPatch, write_json: Write, schedule_doc: dict[str, Any],
        history_doc: dict[str, Any]) -> None:
    from cavra_notify import _schemas, models

    monkeypatch.setattr(_schemas, "PYDANTIC_CORE_VERSION", "0.0.0")
    models._validator.cache_clear()
    try:
        assert models._definitions() is not _schemas.MODELS
        schedule = models.load(write_json("s.json", schedule_doc), "schedule", models.DrillSchedule)
        assert schedule.schedule_id == schedule_doc["schedule_id"]
        history_doc["drills"][0]["executed_at"] = "2026-11-10T15:40:00"
        with pytest.raises(models.SchemaError, match=r"\$\.drills\[0\]\.executed_at: Input should have timezone"):
            models.load(write_json("h.json", history_doc), "history", models.DrillHistory)
    finally:
        models._validator.cache_clear()
