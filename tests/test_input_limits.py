"""Loose, extreme and hostile input: one clear line naming the key or JSON path, never a crash (exit 70),
a hang, a bare NaN or a silently ignored key (issue 14 item 7; issue 15 items 8-11)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from cavra_notify.cli import main
from cavra_notify.connectors import api_token, read_config, resolve_secret
from cavra_notify.errors import ConfigError, SettingsError
from cavra_notify.models import DrillHistory, DrillSchedule, RoutingPolicy, SchemaError, load
from cavra_notify.settings import resolve
from cavra_notify.timeutil import parse_aware

from . import test_api
from .conftest import NOW_ISO, ROOT
from .test_api import Deployment, TestClient

# The API's fixtures (a deployment with its store, config and receivers, and a client of it).
api, dep, receivers, shared_receivers = test_api.api, test_api.dep, test_api.receivers, test_api.shared_receivers

Write = Callable[[str, Any], str]
EX = ROOT / "examples"
HUGE = "9" * 5000
EXIT_INTERNAL = 70


def example(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((EX / name).read_text())
    return loaded


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def schedule_cli(capsys: pytest.CaptureFixture[str], schedule: str, history: str = str(EX / "history.json"),
                 *extra: str) -> tuple[int, dict[str, Any], str]:
    code, out, err = cli(capsys, "runtime", "go-rollback-drill-schedule", "--mode", "promoted", "--now", NOW_ISO,
                         "--rollback-drill-schedule-path", schedule, "--rollback-drill-history-path", history,
                         "--json", *extra)
    assert code != EXIT_INTERNAL and "Traceback" not in err
    return code, json.loads(out) if out else {}, err


def failed(payload: dict[str, Any]) -> dict[str, str]:
    return {c["id"]: c["message"] for c in payload["checks"] if not c["passed"]}


# --- issue 14 item 7: unknown keys, strict types, duplicate owners -------------------------------------------


def test_unknown_routing_policy_key_is_an_error_naming_it(write_json: Write) -> None:
    policy = {**example("routing-policy.json"), "customer_deny_list": ["Example Customer"]}
    with pytest.raises(SchemaError, match=r"\$\.customer_deny_list: unknown key \(known keys: owner_routes"):
        load(write_json("p.json", policy), "routing policy", RoutingPolicy)


@pytest.mark.parametrize(("policy", "words"), [
    ({"owner_routes": {"ops": {"provider": ["slack"]}}}, "$.owner_routes.ops.provider: unknown key"),
    ({"maintenance_windows": [{"window_id": "w", "start_at": "2026-11-27T00:00:00Z", "end_at": "2026-11-28T00:00:00Z",
                               "owner": ["ops"]}]}, "$.maintenance_windows[0].owner: unknown key"),
    ({"owner_calendars": {"ops": {"unavailable_windows": [
        {"start_at": "2026-11-27T00:00:00Z", "end_at": "2026-11-28T00:00:00Z", "note": "x"}]}}},
     "$.owner_calendars.ops.unavailable_windows[0].note: unknown key"),
])
def test_unknown_keys_inside_a_routing_policy_are_errors(write_json: Write, policy: dict[str, Any], words: str) -> None:
    """A window with ``owner`` (for ``owners``) used to match every owner, suppressing every route."""
    with pytest.raises(SchemaError) as caught:
        load(write_json("p.json", policy), "routing policy", RoutingPolicy)
    assert words in str(caught.value)


def test_unknown_private_config_key_is_an_error_naming_it(write_json: Write) -> None:
    """``customer_deny_list`` for ``customer_denylist`` used to disable the customer guard silently."""
    path = write_json("c.json", {"connectors": {}, "customer_deny_list": ["Example Customer"]})
    with pytest.raises(ConfigError, match=r"\$\.customer_deny_list: unknown key \(known keys: connectors, "):
        read_config(path)
    with pytest.raises(ConfigError, match=r"\$\.api\.tokn: unknown key"):
        read_config(write_json("c2.json", {"connectors": {}, "api": {"tokn": "x"}}))


@pytest.mark.parametrize(("document", "words"), [
    ({"connectors": [], "customer_denylist": []}, "$.connectors: expected an object"),
    ({"connectors": {"w": {"provider": 3}}}, "$.connectors.w.provider: expected a plugin name"),
    ({"connectors": {}, "customer_denylist": "acme"}, "$.customer_denylist: expected a list of names"),
    ({"connectors": {}, "api": "token"}, "$.api: expected an object"),
    ({"connectors": {"w": {"timeout_seconds": float("inf")}}}, "$.connectors.w.timeout_seconds: only finite"),
])
def test_private_config_types_are_strict(write_json: Write, document: dict[str, Any], words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        read_config(write_json("c.json", json.dumps(document)) if "inf" not in str(document)
                    else write_json("c.toml", "[connectors.w]\ntimeout_seconds = inf\n"))
    assert words in str(caught.value)


@pytest.mark.parametrize(("field", "value", "words"), [
    ("fallback_verified", "true", "$.drills[1].fallback_verified: Input should be a valid boolean"),
    ("recovery_minutes", True, "$.drills[1].recovery_minutes: Input should be a valid number"),
    ("max_recovery_minutes", "15", "$.drills[1].max_recovery_minutes: Input should be a valid number"),
    ("executed_at", 1_790_000_000, "$.drills[1].executed_at: Value error, expected an ISO 8601 timestamp"),
])
def test_history_types_are_strict(capsys: pytest.CaptureFixture[str], write_json: Write, field: str,
                                  value: Any, words: str) -> None:
    history = example("history.json")
    history["drills"][1][field] = value
    code, payload, _ = schedule_cli(capsys, str(EX / "schedule.json"), write_json("h.json", history))
    assert code == 1 and words in failed(payload)["history_readable"]


@pytest.mark.parametrize(("patch", "words"), [
    ({"interval_days": True}, "$.interval_days: Input should be a valid integer"),
    ({"interval_days": "30"}, "$.interval_days: Input should be a valid integer"),
    ({"owners": ["platform-oncall", "release-governance", "platform-oncall"]},
     "$.owners: Value error, item 2 repeats item 0"),
    ({"notification_providers": ["slack", "slack"]}, "$.notification_providers: Value error, item 1 repeats item 0"),
    ({"owner_routes": {"ops": {"acknowledgement_minutes": True}}},
     "$.owner_routes.ops.acknowledgement_minutes: Input should be a valid integer"),
])
def test_schedule_types_are_strict_and_owners_unique(capsys: pytest.CaptureFixture[str], write_json: Write,
                                                     patch: dict[str, Any], words: str) -> None:
    code, payload, _ = schedule_cli(capsys, write_json("s.json", {**example("schedule.json"), **patch}))
    assert code == 1 and words in failed(payload)["schedule_schema"]


def test_a_repeated_json_key_is_an_error_naming_its_object(capsys: pytest.CaptureFixture[str],
                                                           write_json: Write) -> None:
    text = json.dumps(example("schedule.json")).replace(
        '"owner_routes": {', '"owner_routes": {"platform-oncall": {"providers": ["slack"]}, ', 1)
    code, payload, _ = schedule_cli(capsys, write_json("s.json", text))
    assert code == 1 and "$.owner_routes: key number 3 repeats an earlier key" in failed(payload)["schedule_readable"]


def test_routing_policy_types_are_strict(write_json: Write) -> None:
    with pytest.raises(SchemaError, match=r"\$\.repeat_interval_minutes: Input should be a valid integer"):
        load(write_json("p.json", {"repeat_interval_minutes": "60"}), "routing policy", RoutingPolicy)


@pytest.mark.parametrize(("policy", "fragment"), [
    ({"customer_deny_list": ["Another Customer"]}, "$.customer_deny_list: unknown key"),
    ({"acknowledgement_minutes": 1e12}, "$.acknowledgement_minutes: Input should be a valid integer"),
    ({"repeat_interval_minutes": 10**15}, "$.repeat_interval_minutes: Input should be less than or equal to 525600"),
    ({"maintenance_windows": [{"window_id": "w", "start_at": "2026-11-27T00:00:00Z",
                               "end_at": "2026-11-28T00:00:00Z", "reason": "\ud800"}]},
     "$.maintenance_windows[0].reason: holds a lone UTF-16 surrogate"),
])
def test_the_api_body_routing_policy_is_as_strict_as_the_file(dep: Deployment, api: TestClient, policy: Any,
                                                              fragment: str) -> None:
    response = api.post("/runtime/go-pilot/rollback-drill-notifications/plan",
                        content=json.dumps({"routing_policy": policy, "force": True}),
                        headers={**dep.auth, "content-type": "application/json"})
    assert response.status_code == 400 and fragment in response.json()["error"]


# --- issue 15 item 8: extreme but parseable values -------------------------------------------------------------


@pytest.mark.parametrize(("patch", "words"), [
    ({"interval_days": 1e12, "next_due_at": None}, "$.interval_days: Input should be a valid integer"),
    ({"interval_days": 10**12, "next_due_at": None}, "$.interval_days: Input should be less than or equal to 36500"),
    ({"next_due_at": "0001-01-01T00:00:00+01:00"}, "$.next_due_at: Value error, year 1 is outside 1970..9000"),
    ({"next_due_at": "9999-12-31T23:59:59-14:00"}, "$.next_due_at: Value error, year 9999 is outside 1970..9000"),
    ({"owner_routes": {"ops": {"acknowledgement_minutes": 10**12}}},
     "$.owner_routes.ops.acknowledgement_minutes: Input should be less than or equal to 525600"),
    ({"maintenance_windows": [{"window_id": "w", "start_at": "2026-01-01T00:00:00Z",
                               "end_at": "9999-12-31T23:59:59-14:00"}]},
     "$.maintenance_windows[0].end_at: Value error, year 9999"),
])
def test_extreme_schedule_values_are_schema_errors(capsys: pytest.CaptureFixture[str], write_json: Write,
                                                   patch: dict[str, Any], words: str) -> None:
    schedule = {k: v for k, v in {**example("schedule.json"), **patch}.items() if v is not None}
    code, payload, _ = schedule_cli(capsys, write_json("s.json", schedule))
    assert code == 1 and words in failed(payload)["schedule_schema"]


@pytest.mark.parametrize("executed_at", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-14:00"])
def test_extreme_drill_timestamps_are_schema_errors(capsys: pytest.CaptureFixture[str], write_json: Write,
                                                    executed_at: str) -> None:
    history = example("history.json")
    history["drills"][0]["executed_at"] = executed_at
    code, payload, _ = schedule_cli(capsys, str(EX / "schedule.json"), write_json("h.json", history))
    assert code == 1 and "$.drills[0].executed_at: Value error, year" in failed(payload)["history_readable"]


@pytest.mark.parametrize(("policy", "words"), [
    ({"acknowledgement_minutes": 1e12}, "$.acknowledgement_minutes: Input should be a valid integer"),
    ({"acknowledgement_minutes": 10**12}, "$.acknowledgement_minutes: Input should be less than or equal to 525600"),
    ({"repeat_interval_minutes": 10**15}, "$.repeat_interval_minutes: Input should be less than or equal to 525600"),
    ({"maintenance_windows": [{"window_id": "w", "start_at": "2026-01-01T00:00:00Z",
                               "end_at": "9999-12-31T23:59:59-14:00"}]}, "year 9999 is outside"),
])
def test_extreme_policy_values_exit_2_in_one_line(capsys: pytest.CaptureFixture[str], write_json: Write,
                                                  policy: dict[str, Any], words: str) -> None:
    code, out, err = cli(capsys, "runtime", "go-rollback-drill-notification-plan", "--mode", "promoted", "--now",
                         NOW_ISO, "--rollback-drill-schedule-path", str(EX / "schedule.json"),
                         "--rollback-drill-history-path", str(EX / "history.json"), "--force",
                         "--routing-policy", write_json("p.json", policy), "--json")
    assert code == 2 and out == "" and words in err and err.count("\n") == 1


@pytest.mark.parametrize("name", ["schedule.json", "history.json", "routing-policy.json", "connectors.json"])
def test_a_5000_digit_integer_anywhere_is_one_clear_error(write_json: Write, name: str) -> None:
    text = (EX / name).read_text().replace("{", '{"n": ' + HUGE + ", ", 1)
    path = write_json(name, text)
    if name == "connectors.json":
        with pytest.raises(ConfigError, match="an integer of 5000 digits is longer than the 20 digit limit"):
            read_config(path)
        return
    model = {"schedule.json": DrillSchedule, "history.json": DrillHistory}.get(name, RoutingPolicy)
    with pytest.raises(Exception, match="an integer of 5000 digits is longer than the 20 digit limit"):
        load(path, "file", model)


def test_a_5000_digit_integer_in_a_toml_config_is_one_clear_error(write_json: Write) -> None:
    with pytest.raises(ConfigError, match="invalid TOML"):
        read_config(write_json("c.toml", f"[connectors.w]\ntimeout_seconds = {HUGE}\n"))


@pytest.mark.parametrize(("kwargs", "words"), [
    ({"max_age_days": "1000000000"}, "must be within 1..36500 days, got 1000000000"),
    ({"max_age_days": HUGE}, "expected a whole number of days, got '99999999999999999999...'"),
    ({"due_soon_days": "36501"}, "must be within 0..36500 days"),
])
def test_day_settings_are_bounded(kwargs: dict[str, str], words: str) -> None:
    with pytest.raises(SettingsError, match=words):
        resolve(env={}, **kwargs)


def test_a_huge_max_age_is_exit_2_not_70(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAVRA_GO_ROLLBACK_DRILL_MAX_AGE_DAYS", "1000000000")
    code, _, err = cli(capsys, "runtime", "go-rollback-drills", "--mode", "promoted", "--now", NOW_ISO,
                       "--rollback-drill-history-path", str(EX / "history.json"), "--json")
    assert code == 2 and "CAVRA_GO_ROLLBACK_DRILL_MAX_AGE_DAYS: must be within 1..36500" in err


@pytest.mark.parametrize("value", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-14:00"])
def test_since_and_now_are_bounded_where_parsed(value: str) -> None:
    with pytest.raises(SettingsError, match="--since: year .* is outside 1970..9000"):
        parse_aware(value, "--since")


@pytest.mark.parametrize(("ref", "words"), [
    ({"env": "\ud800"}, "is not a valid environment variable name"),
    ({"env": "A=B"}, "is not a valid environment variable name"),
    ({"file": "a\u0000b"}, "not a valid file path"),
])
def test_hostile_secret_refs_are_config_errors(ref: dict[str, str], words: str) -> None:
    with pytest.raises(ConfigError, match=words):
        resolve_secret(ref, "connector 'w' field 'url'")


def test_a_lone_surrogate_in_a_config_file_is_refused(write_json: Write) -> None:
    with pytest.raises(ConfigError, match=r"\$\.connectors\.w\.url\.env: holds a lone UTF-16 surrogate"):
        read_config(write_json("c.json", '{"connectors": {"w": {"url": {"env": "\\ud800"}}}}'))


def test_a_non_utf8_secret_file_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "token").write_bytes(b"\xff\xfe secret")
    with pytest.raises(ConfigError, match="secret file .* is not UTF-8 text"):
        resolve_secret({"file": str(tmp_path / "token")}, "api.token")


# --- issue 15 item 9: only regular files; limits on counts ------------------------------------------------------


def fifo(tmp_path: Path) -> str:
    path = tmp_path / "fifo.json"
    os.mkfifo(path)
    return str(path)


@pytest.mark.parametrize("kind", ["/dev/zero", "fifo"])
def test_devices_and_fifos_are_refused_for_every_input(tmp_path: Path, kind: str) -> None:
    special = "/dev/zero" if kind == "/dev/zero" else fifo(tmp_path)
    for model in (DrillSchedule, DrillHistory, RoutingPolicy):
        with pytest.raises(Exception, match="not a regular file"):
            load(special, "file", model)
    with pytest.raises(ConfigError, match="not a regular file"):
        read_config(special)
    with pytest.raises(ConfigError, match="not a regular file"):
        resolve_secret({"file": special}, "api.token")


def test_a_fifo_schedule_does_not_hang_the_cli(tmp_path: Path) -> None:
    """Before the fix the process blocked forever opening the FIFO; the timeout only bounds the test."""
    proc = subprocess.run([sys.executable, "-m", "cavra_notify", "runtime", "go-rollback-drill-schedule",
                           "--mode", "promoted", "--now", NOW_ISO, "--json", "--rollback-drill-schedule-path",
                           fifo(tmp_path)], capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 1 and "not a regular file" in json.loads(proc.stdout)["checks"][0]["message"]


@pytest.mark.parametrize(("patch", "words"), [
    ({"owners": [f"o{i}" for i in range(1001)]}, "$.owners: List should have at most 1000 items"),
    ({"owners": [f"o{i}" for i in range(1000)], "notification_providers": [f"p{i}" for i in range(11)]},
     "$: Value error, 1000 owners x 11 providers make 11000 routes, more than the 10000 route limit"),
])
def test_counts_are_limited(write_json: Write, patch: dict[str, Any], words: str) -> None:
    with pytest.raises(SchemaError) as caught:
        load(write_json("s.json", {**example("schedule.json"), **patch}), "schedule", DrillSchedule)
    assert words in str(caught.value)


def test_a_schedule_with_400k_owners_is_refused_before_the_guard_and_the_plan(
        capsys: pytest.CaptureFixture[str], write_json: Write) -> None:
    """It took 63 s and 8 GB (a 2-million-route plan); now one failed check naming the per-file limit."""
    schedule = {**example("schedule.json"), "owners": [f"o{i}" for i in range(400_000)]}
    code, out, _ = cli(capsys, "runtime", "go-rollback-drill-notification-plan", "--mode", "promoted", "--now",
                       NOW_ISO, "--rollback-drill-schedule-path", write_json("s.json", schedule),
                       "--rollback-drill-history-path", str(EX / "history.json"), "--json")
    plan = json.loads(out)
    assert plan["status"] == "needs_attention" and len(out) < 100_000
    assert "more than 100000 JSON values (the per-file limit)" in out


# --- issue 15 item 10: non-finite numbers -----------------------------------------------------------------------


@pytest.mark.parametrize("value", ["Infinity", "NaN", "-Infinity", "1e999"])
def test_non_finite_recovery_minutes_never_pass_and_never_print(capsys: pytest.CaptureFixture[str],
                                                                  write_json: Write, value: str) -> None:
    text = json.dumps(example("history.json")).replace('"recovery_minutes": 4', f'"recovery_minutes": {value}')
    code, out, _ = cli(capsys, "runtime", "go-rollback-drills", "--mode", "promoted", "--now", NOW_ISO,
                       "--rollback-drill-history-path", write_json("h.json", text), "--json")

    def bare(name: str) -> None:
        raise AssertionError(f"bare {name} in the output")

    payload = json.loads(out, parse_constant=bare)
    assert code == 1 and payload["status"] == "needs_attention"
    assert "only finite numbers" in failed(payload)["history_readable"] or "out of range" in out


# --- issue 15 item 11: config without connectors, relative secret files -----------------------------------------


def test_connectors_check_without_connectors_is_an_error(capsys: pytest.CaptureFixture[str],
                                                         write_json: Write) -> None:
    code, out, err = cli(capsys, "connectors", "check", "--connector-config",
                         write_json("c.json", {"customer_denylist": []}))
    assert code == 2 and out == "" and "$.connectors: missing" in err


def test_a_relative_secret_file_resolves_from_the_config_folder(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "private"
    folder.mkdir()
    (folder / "api-token").write_text("tok-from-the-config-folder\n")
    (folder / "c.json").write_text(json.dumps({"connectors": {"w": {"url": {"file": "api-token"}}},
                                               "api": {"token": {"file": "api-token"}},
                                               "evidence_signing_key": {"file": "api-token"}}))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "api-token").write_text("the-wrong-file\n")
    monkeypatch.chdir(elsewhere)
    raw = read_config("../private/c.json")
    assert api_token(raw) == "tok-from-the-config-folder"
    assert resolve_secret(raw.connectors["w"]["url"], "w") == "tok-from-the-config-folder"
    assert resolve_secret(raw.signing_key_ref, "evidence_signing_key") == "tok-from-the-config-folder"


def test_relative_tls_paths_resolve_from_the_config_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "private"
    folder.mkdir()
    (folder / "c.json").write_text(json.dumps({"connectors": {"w": {
        "ca_bundle": "ca.pem", "client_cert": "tls/client.pem", "client_key": "/abs/client.key", "url": "x.pem"}}}))
    monkeypatch.chdir(tmp_path)
    entry = read_config("private/c.json").connectors["w"]
    assert Path(entry["ca_bundle"]).parent.resolve() == folder.resolve()
    assert Path(entry["client_cert"]).resolve() == (folder / "tls" / "client.pem").resolve()
    assert entry["client_key"] == "/abs/client.key" and entry["url"] == "x.pem", "only path settings move"
