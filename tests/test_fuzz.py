"""Fuzz (hypothesis) every loader, the private config and the read-only commands' flags (issue 15).

Hostile values (5,000-digit integers, NaN and Infinity, timestamps from year 1 to 9999 with offsets,
lone surrogates, NULs, repeated keys, wrong types) go into the example files at random places, and
random values into every flag. Whatever comes in: no exit 70, no traceback, one line on stderr for an
error, and with ``--json`` a stdout that is strict JSON (no bare NaN). Hypothesis's ``deadline``
bounds each example's time (a hang fails the run); nothing here times anything.
"""

from __future__ import annotations

import json
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cavra_notify.cli import main
from cavra_notify.connectors import api_token, read_config, resolve_secret
from cavra_notify.errors import CavraError, ConfigError
from cavra_notify.models import DrillHistory, DrillSchedule, RoutingPolicy, load

from .conftest import NOW_ISO, ROOT

EX = ROOT / "examples"
EXIT_INTERNAL = 70
HUGE_INT = "9" * 5000
FUZZ = settings(max_examples=60, deadline=timedelta(seconds=20), derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

# Values a JSON file can hold, the hostile ones first. Literals that json.dumps cannot write (a 5,000-digit
# integer, NaN spelled by hand) travel as marker strings and are spliced into the text afterwards.
MARKERS = {"@@HUGE@@": HUGE_INT, "@@NAN@@": "NaN", "@@INF@@": "Infinity", "@@BIG@@": "1e999",
           "@@SURROGATE@@": '"\\ud800"', "@@NUL@@": '"a\\u0000b"'}
timestamps = st.builds(
    lambda year, offset: f"{year:04d}-12-31T23:59:59{offset}",
    st.sampled_from([1, 2, 1969, 1970, 2026, 9000, 9001, 9998, 9999]),
    st.sampled_from(["Z", "+14:00", "-14:00", "+01:00", "", "+24:00"]))
scalars = (st.sampled_from(list(MARKERS)) | timestamps | st.none() | st.booleans()
           | st.integers(min_value=-(10**30), max_value=10**30) | st.floats(allow_nan=False, allow_infinity=False)
           | st.text(max_size=12) | st.sampled_from(["true", "30", "1e12", "", "promoted", "slack", "pass"]))
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
    st.text(max_size=8), inner, max_size=3), max_leaves=8)


def paths_of(node: Any, parts: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in a document a value could be put."""
    found = [parts]
    children = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, child in children:
        found += paths_of(child, (*parts, key))
    return found


def mutate(document: Any, edits: list[tuple[int, Any, bool]]) -> str:
    """The document with values replaced (or a key added next to them), as JSON text with markers spliced."""
    for pick, value, add_key in edits:
        places = paths_of(document)
        place = places[pick % len(places)]
        if not place:
            document = value
            continue
        parent = document
        for part in place[:-1]:
            parent = parent[part]
        if add_key and isinstance(parent, dict):
            parent[f"{place[-1]}_"] = value
        else:
            parent[place[-1]] = value
    text = json.dumps(document)
    for marker, literal in MARKERS.items():
        text = text.replace(json.dumps(marker), literal)
    return text


edits = st.lists(st.tuples(st.integers(min_value=0, max_value=10_000), values, st.booleans()), min_size=1, max_size=3)
repeat_key = st.booleans()


def example(name: str) -> Any:
    return json.loads((EX / name).read_text())


def with_repeated_key(text: str, repeat: bool) -> str:
    return text.replace("{", '{"schema_version": "x", ', 1) if repeat and text.startswith("{") else text


def check_cli(capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    """One run: no internal error, one stderr line on error, and strict JSON on stdout."""
    code = main(argv)
    out, err = capsys.readouterr()
    assert code != EXIT_INTERNAL, err
    assert "Traceback" not in err and "internal error" not in err
    assert code in (0, 1, 2), (code, err)
    if code == 2 and not out:  # a bad input: one line (``connectors check`` also exits 2 after its report)
        assert err.count("\n") == 1 and err.startswith("cavra: error: "), err

    def bare(name: str) -> None:
        raise AssertionError(f"bare {name} printed")

    if "--json" in argv and out:
        json.loads(out, parse_constant=bare)


@FUZZ
@given(schedule=edits, history=edits, policy=edits, repeat=repeat_key)
def test_every_loader_and_the_plan_survive_hostile_files(capsys: pytest.CaptureFixture[str], schedule: Any,
                                                         history: Any, policy: Any, repeat: bool) -> None:
    with tempfile.TemporaryDirectory() as folder:
        files = {}
        for name, changes in (("schedule.json", schedule), ("history.json", history), ("routing-policy.json", policy)):
            files[name] = Path(folder) / name
            files[name].write_text(with_repeated_key(mutate(example(name), changes), repeat))
        for name, model in (("schedule.json", DrillSchedule), ("history.json", DrillHistory),
                            ("routing-policy.json", RoutingPolicy)):
            try:
                load(str(files[name]), name, model, ["Example Customer Ltd"])
            except CavraError as exc:
                assert str(exc) and "\n" not in str(exc)
        common = ["--mode", "promoted", "--now", NOW_ISO, "--json",
                  "--rollback-drill-history-path", str(files["history.json"])]
        check_cli(capsys, ["runtime", "go-rollback-drills", *common])
        common += ["--rollback-drill-schedule-path", str(files["schedule.json"])]
        check_cli(capsys, ["runtime", "go-rollback-drill-schedule", *common])
        check_cli(capsys, ["runtime", "go-rollback-drill-notification-plan", *common, "--force",
                           "--routing-policy", str(files["routing-policy.json"])])


secret_refs = st.one_of(
    st.fixed_dictionaries({"env": st.sampled_from(["HOME", "CAVRA_FUZZ_UNSET", "\ud800", "A=B", ""])
                           | st.text(max_size=10)}),
    st.fixed_dictionaries({"file": st.sampled_from(
        ["/dev/zero", "/", "a\u0000b", "token", "../token", "/nonexistent/x", "\udcff", ""]) | st.text(max_size=10)}),
    values)
connector_entries = st.dictionaries(st.sampled_from(["provider", "url", "token", "channel", "timeout_seconds"]),
                                    secret_refs, max_size=3)
configs = st.fixed_dictionaries(
    {"connectors": st.dictionaries(st.sampled_from(["slack", "webhook", "w"]), connector_entries, max_size=3)},
    optional={"customer_denylist": st.lists(st.text(max_size=8), max_size=2) | values,
              "api": st.fixed_dictionaries({"token": secret_refs}) | values,
              "customer_deny_list": values}) | values


@FUZZ
@given(document=configs, raw=st.binary(max_size=60), toml=st.text(max_size=60), form=st.sampled_from(
    ["json", "binary", "toml"]))
def test_the_private_config_raises_only_config_errors(capsys: pytest.CaptureFixture[str], document: Any, raw: bytes,
                                                      toml: str, form: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "token").write_bytes(b"\xff\xfe not utf-8")
        path = Path(folder) / ("c.toml" if form == "toml" else "c.json")
        text = mutate(document, []) if form == "json" else None
        path.write_bytes(text.encode() if text is not None else raw if form == "binary"
                         else toml.encode("utf-8", "surrogatepass"))
        try:
            config = read_config(path)
        except ConfigError as exc:
            assert str(exc) and "\n" not in str(exc)
        else:
            for entry in config.connectors.values():
                for key, value in entry.items():
                    try:
                        resolve_secret(value, f"field {key!r}")
                    except ConfigError as exc:
                        assert "\n" not in str(exc)
            try:
                api_token(config)
            except ConfigError as exc:
                assert "\n" not in str(exc)
        check_cli(capsys, ["connectors", "check", "--json", "--connector-config", str(path)])


DAYS = st.sampled_from(["0", "-1", "36500", "36501", HUGE_INT, "1e12", "nan", "1000000000", " 7 ", "٣", "abc"])
PATHS = st.sampled_from(["/dev/zero", "/", "/nonexistent", "", "\udcff", "a\x00b", *(str(EX / name) for name in (
    "schedule.json", "history.json", "routing-policy.json", "connectors.json"))])
TEXT = st.text(max_size=16)
FLAGS = {
    "--mode": st.sampled_from(["promoted", "shadow", "promtoed", "", "PROMOTED"]) | TEXT,
    "--now": timestamps | st.sampled_from(["nan", "2026-11-27T09:00:00", "0001-01-01T00:00:00+01:00"]) | TEXT,
    "--rollback-drill-due-soon-days": DAYS,
    "--rollback-drill-max-age-days": DAYS,
    "--rollback-drill-history-path": PATHS | TEXT,
    "--rollback-drill-schedule-path": PATHS | TEXT,
    "--routing-policy": PATHS | TEXT,
    "--connector-config": PATHS | TEXT,
    "--provider": st.sampled_from(["all", "slack,teams", ",", "pagerduty", "", "slack,slack"]) | TEXT,
}
COMMANDS = {
    "go-rollback-drills": ["--mode", "--rollback-drill-history-path", "--rollback-drill-max-age-days",
                           "--connector-config", "--now"],
    "go-rollback-drill-schedule": ["--mode", "--rollback-drill-history-path", "--rollback-drill-schedule-path",
                                   "--rollback-drill-due-soon-days", "--rollback-drill-max-age-days",
                                   "--connector-config", "--now"],
    "go-rollback-drill-notification-plan": ["--mode", "--rollback-drill-history-path",
                                            "--rollback-drill-schedule-path", "--rollback-drill-due-soon-days",
                                            "--rollback-drill-max-age-days", "--now", "--routing-policy",
                                            "--provider"],
}


@settings(FUZZ, max_examples=150)
@given(command=st.sampled_from(sorted(COMMANDS)), data=st.data(), as_json=st.booleans())
def test_read_only_flags_never_crash(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
                                     command: str, data: st.DataObject, as_json: bool) -> None:
    for name in ("CAVRA_GO_BACKEND_MODE", "CAVRA_GO_ROLLBACK_DRILL_HISTORY", "CAVRA_GO_ROLLBACK_DRILL_SCHEDULE",
                 "CAVRA_CONNECTOR_CONFIG", "CAVRA_GO_ROLLBACK_DRILL_DUE_SOON_DAYS",
                 "CAVRA_GO_ROLLBACK_DRILL_MAX_AGE_DAYS"):
        monkeypatch.delenv(name, raising=False)
    chosen = data.draw(st.lists(st.sampled_from(COMMANDS[command]), min_size=1, max_size=2, unique=True))
    flags = {flag: data.draw(FLAGS[flag]) for flag in chosen}
    defaults = {"--mode": "promoted", "--now": NOW_ISO, "--rollback-drill-history-path": str(EX / "history.json"),
                "--rollback-drill-schedule-path": str(EX / "schedule.json")}
    argv = ["runtime", command]
    for flag, value in {**{k: v for k, v in defaults.items() if k in COMMANDS[command]}, **flags}.items():
        argv.append(f"{flag}={value}")
    if as_json:
        argv.append("--json")
    check_cli(capsys, argv)
