#!/usr/bin/env python3
"""Cold start of the read-only ``cavra`` commands next to a bare pydantic import.

    python bench/cli_startup.py [--runs 21]

Each command runs as a fresh interpreter, interleaved with the others so that machine noise hits
every command alike. The table shows, per command, the median and best wall time, the median CPU time
(user + system of the child: steadier than wall time on a busy machine), and both medians as ratios
to ``python -c "import pydantic"`` measured in the same run. Goal: the schedule command within 1.5x.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EX = ROOT / "examples"
ARGS = ["--mode", "promoted", "--rollback-drill-history-path", str(EX / "history.json"),
        "--rollback-drill-schedule-path", str(EX / "schedule.json"), "--now", "2026-11-27T09:00:00Z", "--json"]
CAVRA = [sys.executable, "-m", "cavra_notify", "runtime"]
BASE = "python -c 'import pydantic'"
GOAL = "cavra ... go-rollback-drill-schedule --json"
COMMANDS = {
    "python -c pass": [sys.executable, "-c", "pass"],
    BASE: [sys.executable, "-c", "import pydantic"],
    "python -c 'from pydantic import BaseModel'": [sys.executable, "-c", "from pydantic import BaseModel"],
    GOAL: [*CAVRA, "go-rollback-drill-schedule", *ARGS],
    "cavra ... go-rollback-drills --json": [*CAVRA, "go-rollback-drills", *ARGS[:4], *ARGS[6:]],
    "cavra ... go-rollback-drill-notification-plan --json": [
        *CAVRA, "go-rollback-drill-notification-plan", *ARGS, "--routing-policy", str(EX / "routing-policy.json")],
}
LIMIT = 1.5


def timed(argv: list[str]) -> tuple[float, float]:
    """Wall and CPU seconds of one run of ``argv`` (which must succeed)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True, cwd=ROOT)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=21)
    runs = parser.parse_args().runs
    for argv in COMMANDS.values():  # warm the file cache and the bytecode caches; fail early
        timed(argv)
    wall: dict[str, list[float]] = {name: [] for name in COMMANDS}
    cpu: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for _ in range(runs):
        for name, argv in COMMANDS.items():
            seconds, cpu_seconds = timed(argv)
            wall[name].append(seconds)
            cpu[name].append(cpu_seconds)
    base_wall, base_cpu = statistics.median(wall[BASE]), statistics.median(cpu[BASE])
    print(f"{runs} interleaved runs each")
    print(f"{'command':53} {'wall ms':>8} {'best ms':>8} {'cpu ms':>7} {'wall x':>7} {'cpu x':>6}")
    for name in COMMANDS:
        median, cpu_median = statistics.median(wall[name]), statistics.median(cpu[name])
        print(f"{name:53} {median * 1000:8.1f} {min(wall[name]) * 1000:8.1f} {cpu_median * 1000:7.1f} "
              f"{median / base_wall:7.2f} {cpu_median / base_cpu:6.2f}")
    ratio = statistics.median(wall[GOAL]) / base_wall
    print(f"goal: schedule --json within {LIMIT}x of import pydantic (wall medians): {ratio:.2f}x, "
          + ("met" if ratio <= LIMIT else "NOT met"))


if __name__ == "__main__":
    main()
