"""Never non-JSON output (issue 15, item 10): the CLI and the API refuse to print bare NaN or Infinity."""

from __future__ import annotations

import json
import math

import pytest

from cavra_notify.api.app import reply
from cavra_notify.cli import output
from cavra_notify.errors import CavraError


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_emit_json_refuses_a_non_finite_number_in_one_clear_line(value: float,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(CavraError, match="non-finite number") as caught:
        output.emit_json({"recovery_minutes": value})
    assert "\n" not in str(caught.value) and "NaN" in str(caught.value)
    assert capsys.readouterr().out == "", "nothing half-printed"


def test_emit_json_still_prints_finite_payloads(capsys: pytest.CaptureFixture[str]) -> None:
    output.emit_json({"recovery_minutes": 4.5, "when": None})
    assert json.loads(capsys.readouterr().out) == {"recovery_minutes": 4.5, "when": None}


@pytest.mark.parametrize("value", [math.nan, math.inf])
def test_api_reply_with_a_non_finite_number_is_a_json_error_not_bare_nan(value: float) -> None:
    response = reply(None, {"recovery_minutes": value})  # type: ignore[arg-type]  # reply never reads the request
    body = bytes(response.body).decode()
    assert response.status_code == 400
    assert json.loads(body, parse_constant=lambda name: pytest.fail(f"bare {name} in the body"))["error"].startswith(
        "the response holds a non-finite number")


def test_api_reply_keeps_finite_payloads_and_their_status() -> None:
    response = reply(None, {"ok": 1.5}, 207)  # type: ignore[arg-type]
    assert response.status_code == 207 and json.loads(bytes(response.body)) == {"ok": 1.5}
