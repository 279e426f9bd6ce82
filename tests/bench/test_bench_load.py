"""The load bench's quick mode runs as a test, so that the bench cannot rot; and a flood in it
is never answered with a 500."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_bench_load_quick_mode_runs_and_prints_each_figure() -> None:
    if shutil.which("wrk") is None:
        pytest.skip("wrk is missing: `make bench` as root installs it (apt-get install wrk)")
    done = subprocess.run(  # noqa: S603  # our own interpreter and our own bench script
        [sys.executable, str(ROOT / "bench" / "bench_load.py"), "--quick"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    out = done.stdout
    for figure in (
        "bare Flask-WTF page:",
        "GET /        ",
        "GET /report  ",
        "GET /check   ",
        "flood:",
        "every 429/503 with Retry-After: yes",
        "legitimate p95",
        "== memory: gunicorn workers' RSS",
    ):
        assert figure in out, (figure, out[-3000:])
    flood = next(line for line in out.splitlines() if line.startswith("flood:"))
    assert " 500: 0," in flood, flood
    assert "site log has a traceback" not in out, out[-3000:]
