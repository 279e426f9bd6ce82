"""The reporter bench's quick mode runs as a test, so that the bench cannot rot (it once crashed
as shipped: its configuration writer turned the categories' policy lists into strings)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_bench_reporter_quick_mode_runs_and_prints_each_figure() -> None:
    done = subprocess.run(  # noqa: S603  # our own interpreter and our own bench script
        [sys.executable, str(ROOT / "bench" / "bench_reporter.py"), "--quick"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    out = done.stdout
    assert "submit 2 KB report (n=5): p50" in out, out[-3000:]
    assert "POST minus its own in-request Argon2id" in out, out[-3000:]
    assert "upload 8 MiB:" in out, out[-3000:]
    assert "server peak RSS +" in out, out[-3000:]
