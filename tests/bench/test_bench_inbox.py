"""The inbox bench's quick mode runs as a test, so that the bench keeps up with the inbox."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_bench_inbox_quick_mode_runs_and_prints_each_figure() -> None:
    done = subprocess.run(  # noqa: S603  # our own interpreter and our own bench script
        [sys.executable, str(ROOT / "bench" / "bench_inbox.py"), "--quick"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    out = done.stdout
    for figure in (
        "default page (next due)",
        "sort=tier desc",
        "sort=assigned asc",
        "unread only",
        "deep page (cursor after 10 pages)",
        "search: exact reference [1 matching]",
        "inbox HTTP GET /staff/inbox",
    ):
        assert figure in out, (figure, out[-3000:])
    assert out.count("p95/target") >= 20
    assert "sign-in" not in out  # the quick mode leaves out the Argon2 part
