"""The optional JSON log format (issue 19 item 4): one object per line, scrubbed like every record."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path

import pytest

from cavra_notify.errors import SettingsError
from cavra_notify.logs import JsonFormatter, log_format


def test_json_lines_carry_time_level_logger_message_and_only_the_exception_type() -> None:
    try:
        raise ValueError("inner text")
    except ValueError:
        record = logging.LogRecord("cavra_notify.delivery", logging.ERROR, __file__, 1, "route %s failed",
                                   ("r1",), sys.exc_info())
    line = json.loads(JsonFormatter().format(record))
    assert line["level"] == "error" and line["logger"] == "cavra_notify.delivery"
    assert line["message"] == "route r1 failed" and line["exception"] == "ValueError"
    assert line["time"].endswith("Z") and "inner text" not in json.dumps(line)


def test_the_format_comes_from_the_flag_else_the_environment() -> None:
    assert log_format(None, {}) == "text"
    assert log_format(None, {"CAVRA_LOG_FORMAT": "JSON"}) == "json"
    assert log_format("text", {"CAVRA_LOG_FORMAT": "json"}) == "text"
    with pytest.raises(SettingsError, match="CAVRA_LOG_FORMAT: unknown log format 'xml'"):
        log_format(None, {"CAVRA_LOG_FORMAT": "xml"})


def test_a_process_logging_in_json_scrubs_a_configured_secret(tmp_path: Path) -> None:
    config = tmp_path / "c.json"
    config.write_text(json.dumps({"connectors": {"w": {"provider": "webhook",
                                                       "url": "http://127.0.0.1:9/hooks/log-canary-7f3a9c2e"}}}))
    script = ("import logging; from cavra_notify.connectors import read_config;"
              "from cavra_notify.logs import configure;"
              f"read_config({str(config)!r}); configure();"
              "logging.getLogger('urllib3').warning('POST /hooks/log-canary-7f3a9c2e?sig=1')")
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True,
                          env={"CAVRA_LOG_FORMAT": "json", "PATH": ""})
    [line] = proc.stderr.splitlines()
    entry = json.loads(line)
    assert entry["logger"] == "urllib3" and "log-canary-7f3a9c2e" not in line
