"""Property-based run of the API against its own OpenAPI schema: no 5xx, every answer as documented.

Schemathesis generates requests for every operation (authenticated, so the bodies reach the core)
against a server whose schedule is stale and whose one connector delivers to a local webhook fake.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

schemathesis = pytest.importorskip("schemathesis")
pytest.importorskip("fastapi")
fake = pytest.importorskip("cavra_notify_webhook.fake")

from hypothesis import HealthCheck, given, settings  # noqa: E402
from schemathesis.checks import (  # noqa: E402
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from cavra_notify.api import create_app  # noqa: E402

from .conftest import NOW, ROOT  # noqa: E402

TOKEN = "api-" + "canary" + "0f3c9a7e5b1d4c2a"
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture(scope="module")
def receiver() -> Iterator[Any]:
    with fake.FakeWebhookReceiver() as rx:
        yield rx


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory: pytest.TempPathFactory, receiver: Any) -> Any:
    tmp: Path = tmp_path_factory.mktemp("schemathesis")
    schedule = json.loads((ROOT / "examples" / "schedule.json").read_text())
    schedule.update(next_due_at=(NOW - timedelta(days=2)).isoformat(), notification_providers=["webhook"],
                    owner_routes={})
    (tmp / "schedule.json").write_text(json.dumps(schedule))
    (tmp / "connectors.json").write_text(json.dumps({"connectors": {"webhook": {"url": receiver.url}},
                                                     "api": {"token": TOKEN}}))
    env = {"CAVRA_GO_BACKEND_MODE": "promoted", "CAVRA_GO_ROLLBACK_DRILL_SCHEDULE": str(tmp / "schedule.json"),
           "CAVRA_GO_ROLLBACK_DRILL_HISTORY": str(ROOT / "examples" / "history.json"),
           "CAVRA_CONNECTOR_CONFIG": str(tmp / "connectors.json"),
           "CAVRA_GO_POLICY_PATH": str(tmp / "connectors.json")}
    return schemathesis.openapi.from_asgi("/openapi.json", create_app(env, str(tmp / "evidence.db")))


OPERATIONS = sorted((method.upper(), path) for path, methods in create_app({}).openapi()["paths"].items()
                    for method in methods)


@pytest.mark.parametrize("method, path", OPERATIONS)
def test_api_conforms_to_its_schema(api_schema: Any, method: str, path: str) -> None:
    operation = api_schema[path][method]

    @given(case=operation.as_strategy())
    @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def run(case: Any) -> None:
        response = case.call_and_validate(headers={"Authorization": f"Bearer {TOKEN}"}, checks=CHECKS)
        assert response.status_code < 500
        assert TOKEN not in response.text

    run()
