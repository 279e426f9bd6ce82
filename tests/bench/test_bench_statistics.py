"""The statistics bench's quick mode: a small data set through the same code, so a bench that no
longer runs (a renamed service, a changed page) fails here rather than on the next bench day."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_bench_statistics_quick_mode_runs_and_checks_its_totals() -> None:
    result = subprocess.run(  # noqa: S603  # our own script, with our own interpreter
        [sys.executable, str(ROOT / "bench" / "bench_statistics.py"), "--quick"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "statistics HTTP GET /staff/statistics (SQLite, 2,000 cases" in result.stdout
    assert "figures computed):" in result.stdout and "figures kept):" in result.stdout
    assert "statistics SQLite: worst service p95" in result.stdout
