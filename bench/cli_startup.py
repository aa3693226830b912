#!/usr/bin/env python3
"""Cold start of ``cavra runtime go-rollback-drill-schedule --json`` next to a bare pydantic import.

    python bench/cli_startup.py [--runs 15]

Each command runs as a fresh interpreter; the table shows the median and best wall time and the
ratio to ``python -c "import pydantic"`` measured in the same run (goal: within 1.5x).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EX = ROOT / "examples"
ARGS = ["--mode", "promoted", "--rollback-drill-history-path", str(EX / "history.json"),
        "--rollback-drill-schedule-path", str(EX / "schedule.json"), "--now", "2026-11-27T09:00:00Z", "--json"]
COMMANDS = {
    "python -c pass": [sys.executable, "-c", "pass"],
    "python -c 'import pydantic'": [sys.executable, "-c", "import pydantic"],
    "python -c 'from pydantic import BaseModel'": [sys.executable, "-c", "from pydantic import BaseModel"],
    "cavra ... go-rollback-drill-schedule --json": [sys.executable, "-m", "cavra_notify", "runtime",
                                                     "go-rollback-drill-schedule", *ARGS],
    "cavra ... go-rollback-drill-notification-plan --json": [
        sys.executable, "-m", "cavra_notify", "runtime", "go-rollback-drill-notification-plan", *ARGS,
        "--routing-policy", str(EX / "routing-policy.json")],
}


def timed(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    runs = parser.parse_args().runs
    samples: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for _ in range(runs):  # interleaved, so machine noise hits every command alike
        for name, argv in COMMANDS.items():
            samples[name].append(timed(argv))
    base = statistics.median(samples["python -c 'import pydantic'"])
    print(f"{'command':55} {'median ms':>10} {'best ms':>9} {'x pydantic':>11}")
    for name, values in samples.items():
        median = statistics.median(values)
        print(f"{name:55} {median * 1000:10.1f} {min(values) * 1000:9.1f} {median / base:11.2f}")


if __name__ == "__main__":
    main()
