"""Metrics (issue 19 item 4): ``/metrics`` after a delivery with a failure, and the sweep's text file."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

pytest.importorskip("fastapi")

from fastapi.testclient import TestClient  # noqa: E402
from prometheus_client.parser import text_string_to_metric_families  # noqa: E402

from cavra_notify.api import create_app  # noqa: E402
from cavra_notify.cli import main  # noqa: E402
from cavra_notify.testkit import FakeReceiver, closed_port  # noqa: E402

from .conftest import ROOT  # noqa: E402

EX = ROOT / "examples"
DUE = "2026-12-20T00:00:00Z"  # the example schedule is overdue then


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def world(tmp_path: Path, url: str) -> tuple[dict[str, str], str, str, str]:
    """Two connectors (one answering, one refused), a schedule routing every owner to both."""
    ok, down, secret = f"hook-{uuid.uuid4().hex[:8]}", f"down-{uuid.uuid4().hex[:8]}", "whsec-canary" + uuid.uuid4().hex
    schedule = json.loads((EX / "schedule.json").read_text())
    schedule.update(notification_providers=[ok, down], owner_routes={})
    (tmp_path / "schedule.json").write_text(json.dumps(schedule))
    (tmp_path / "schedule.history.json").write_text((EX / "history.json").read_text())
    config = {"connectors": {ok: {"provider": "webhook", "url": url + "/h?sig=" + secret, "signing_secret": secret},
                             down: {"provider": "webhook", "url": f"http://127.0.0.1:{closed_port()}/h"}},
              "api": {"token": "api-canary" + uuid.uuid4().hex}}
    (tmp_path / "connectors.json").write_text(json.dumps(config))
    return config, ok, down, secret


def test_metrics_after_a_delivery_with_one_failure(tmp_path: Path) -> None:
    with FakeReceiver() as rx:
        config, ok, down, secret = world(tmp_path, rx.url)
        env = {"CAVRA_GO_BACKEND_MODE": "promoted", "CAVRA_GO_ROLLBACK_DRILL_HISTORY": str(EX / "history.json"),
               "CAVRA_GO_ROLLBACK_DRILL_SCHEDULE": str(tmp_path / "schedule.json"),
               "CAVRA_CONNECTOR_CONFIG": str(tmp_path / "connectors.json")}
        with TestClient(create_app(env, str(tmp_path / "e.db"))) as api:
            delivered = api.post("/runtime/go-pilot/rollback-drill-notifications/deliver",
                                 json={"now": DUE, "retries": 1, "timeout_seconds": 2},
                                 headers={"Authorization": f"Bearer {config['api']['token']}"})
            assert delivered.status_code == 207, delivered.text
            scraped = api.get("/metrics")
    assert scraped.status_code == 200 and scraped.headers["content-type"].startswith("text/plain")
    found = samples(scraped.text)
    assert found[("cavra_deliveries_total", (("connector", ok), ("failure_class", "none"), ("outcome", "delivered"),
                                             ("provider", "webhook")))] == 2
    assert found[("cavra_deliveries_total", (("connector", down), ("failure_class", "connection"),
                                             ("outcome", "failed"), ("provider", "webhook")))] == 2
    assert found[("cavra_delivery_retries_total", (("connector", down), ("provider", "webhook")))] == 2
    assert found[("cavra_delivery_attempt_seconds_count", (("provider", "webhook"), ("result", "connection")))] >= 4
    assert found[("cavra_claims_in_flight", ())] == 0
    assert found[("cavra_acknowledgements_outstanding", ())] >= 2
    assert ("cavra_schedule_status", (("schedule_id", "go_backend_python_fallback_monthly"),
                                      ("status", "needs_attention"))) in found
    for leak in (secret, config["api"]["token"], rx.url, "127.0.0.1"):
        assert leak not in scraped.text


def test_the_sweep_writes_a_metrics_textfile(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    textfile = tmp_path / "metrics" / "cavra.prom"
    textfile.parent.mkdir()
    with FakeReceiver() as rx:
        _, ok, down, secret = world(tmp_path, rx.url)
        code = main(["runtime", "go-rollback-drill-sweep", "--schedules", str(tmp_path), "--connector-config",
                     str(tmp_path / "connectors.json"), "--evidence-db", str(tmp_path / "e.db"), "--now", DUE,
                     "--retries", "0", "--timeout-seconds", "2", "--metrics-textfile", str(textfile), "--json"])
    capsys.readouterr()
    assert code == 3  # partial: the refused connector
    text = textfile.read_text()
    found = samples(text)
    assert found[("cavra_deliveries_total", (("connector", down), ("failure_class", "connection"),
                                             ("outcome", "failed"), ("provider", "webhook")))] == 2
    assert found[("cavra_sweep_duration_seconds", ())] > 0
    assert ("cavra_schedule_status", (("schedule_id", "go_backend_python_fallback_monthly"),
                                      ("status", "needs_attention"))) in found
    assert secret not in text and "127.0.0.1" not in text


def test_a_metrics_textfile_in_a_missing_folder_is_one_clear_line(tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["runtime", "go-rollback-drill-sweep", "--schedules", str(tmp_path), "--evidence-db",
                 str(tmp_path / "e.db"), "--metrics-textfile", str(tmp_path / "missing" / "cavra.prom")])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("cavra: error: --metrics-textfile") and "Traceback" not in err
