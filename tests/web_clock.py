"""A fixed clock for every view: tests move it instead of sleeping (as tests/security does)."""

from __future__ import annotations

import sys
from datetime import datetime

import pytest

from portal import timeutil
from tests.factories import NOW

_real_utcnow = timeutil.utcnow


class WebClock:
    """The time every view sees."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def web_clock(monkeypatch: pytest.MonkeyPatch) -> WebClock:
    """Fix the clock of every module that reads it (``portal.timeutil.utcnow``) at NOW."""
    clock = WebClock(NOW)
    monkeypatch.setattr(timeutil, "utcnow", clock)
    for name, module in list(sys.modules.items()):
        if name.split(".")[0] == "portal" and getattr(module, "utcnow", None) is _real_utcnow:
            monkeypatch.setattr(module, "utcnow", clock)
    return clock
