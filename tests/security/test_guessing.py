"""Attack: guessing receipt codes and passphrases through the check-back page.

The passphrase has about 90 bits, so guessing it online is hopeless; what a flood of guesses can
really hurt is the server's CPU and one reporter's access. The site therefore has no lockout at
all: a few failures on one receipt code are free, then each further failure sets a growing delay
on that code (1, 2, 4, ... minutes up to an hour), which the page states as a local time; an
attempt before it does no Argon2id work; a success clears the count. Made-up codes meet the same
delay, so it does not tell whether a case exists. Nothing is keyed on the whole site or on an IP
address: strangers flooding other codes never stop the reporter with the right passphrase, and
the CPU is protected by the Argon2id gate instead (tests/security/test_argon2_gate.py).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

import crypto
from portal.argon2_gate import Argon2Gate
from portal.models import ReceiptCodeDelay, ReporterSession
from portal.services import receipt_delays, reporter_access
from portal.services.receipt_delays import DelayPolicy
from tests.factories import NOW, make_handler
from tests.portal.test_reporter_web import file_report
from tests.security.guessing_support import (
    FixedClock,
    alert,
    check_back,
    count_argon2_runs,
    made_up_code,
)

# NOW is 09:00 UTC, 10:00 in Berlin (the test site's time zone).

_NO_MATCH = (
    "That receipt code and passphrase do not match a report. A case may also have been deleted "
    "once the time it is kept after closing had run out."
)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FixedClock:
    fixed = FixedClock(NOW)
    monkeypatch.setattr("portal.reporter.views.utcnow", lambda: fixed.now)
    return fixed


@pytest.fixture
def argon2_runs(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    return count_argon2_runs(monkeypatch)


@pytest.fixture
def report(client: FlaskClient, db: Session, clock: FixedClock) -> tuple[str, str]:
    make_handler(db, "hanna")
    return file_report(client)


def test_wrong_guesses_meet_a_growing_delay_stated_on_the_page(
    client: FlaskClient, report: tuple[str, str], clock: FixedClock, argon2_runs: list[int]
) -> None:
    code, passphrase = report
    for i in range(5):
        response = check_back(client, code, f"wrong guess {i}")
        assert response.status_code == 400
        assert alert(response) == _NO_MATCH
    # The sixth failure starts the delay and says so at once.
    sixth = check_back(client, code, "wrong guess 5")
    assert sixth.status_code == 400
    assert "Too many attempts for this receipt code. Try again after 10:01." in alert(sixth)

    # Before that time: refused without any Argon2id work, the time stated, the code kept.
    runs = len(argon2_runs)
    early = check_back(client, code, passphrase)
    assert early.status_code == 429
    assert early.headers["Retry-After"] == "60"
    assert alert(early) == "Too many attempts for this receipt code. Try again after 10:01."
    assert f'value="{code}"' in early.get_data(as_text=True)
    assert len(argon2_runs) == runs

    # Each further failure doubles the delay: 2 minutes, then 4.
    clock.advance(minutes=1)
    assert "Try again after 10:03." in alert(check_back(client, code, "wrong guess 6"))
    clock.advance(minutes=1)
    assert check_back(client, code, "wrong guess 7").status_code == 429
    clock.advance(minutes=1)
    assert "Try again after 10:07." in alert(check_back(client, code, "wrong guess 8"))

    # The right passphrase gets in once the time has come, and clears the count.
    clock.advance(minutes=4)
    assert check_back(client, code, passphrase).status_code == 302
    after = check_back(client.application.test_client(), code, "one more slip")
    assert alert(after) == _NO_MATCH


def test_the_delay_doubles_up_to_an_hour_and_is_forgotten_after_a_quiet_day(
    db: Session,
) -> None:
    policy = DelayPolicy()
    minutes = [policy.delay_after(n) for n in range(1, 14)]
    assert minutes[:5] == [None] * 5
    assert minutes[5:] == [timedelta(minutes=m) for m in (1, 2, 4, 8, 16, 32, 60, 60)]

    key = crypto.receipt_delay_key(bytes(32), made_up_code(1))
    retry = None
    for _ in range(12):
        retry = receipt_delays.record_failure(db, key, NOW, policy)
    db.commit()
    assert retry == NOW + timedelta(hours=1)
    assert receipt_delays.retry_at(db, key, NOW) == retry
    later = NOW + receipt_delays.FORGET_AFTER + timedelta(minutes=1)
    assert receipt_delays.retry_at(db, key, later) is None
    # A failure a quiet day later starts from one again, and the stale row is gone.
    assert receipt_delays.record_failure(db, key, later, policy) is None
    db.commit()
    assert db.scalar(select(ReceiptCodeDelay.failures)) == 1


def test_made_up_codes_meet_the_same_delay_as_real_ones(
    client: FlaskClient, report: tuple[str, str], clock: FixedClock
) -> None:
    code, _ = report
    real = [check_back(client, code, f"guess {i}") for i in range(7)]
    made_up = [check_back(client, made_up_code(7), f"guess {i}") for i in range(7)]
    assert [r.status_code for r in real] == [r.status_code for r in made_up]
    assert [alert(r) for r in real] == [alert(r) for r in made_up]


def test_a_flood_on_other_codes_does_not_stop_the_right_reporter(
    client: FlaskClient, db: Session, report: tuple[str, str], clock: FixedClock
) -> None:
    code, passphrase = report
    # More failures than the old site-wide lockout allowed in an hour (300), on 62 codes.
    statuses = [
        check_back(client, made_up_code(n // 5), f"flood {n}").status_code for n in range(310)
    ]
    assert set(statuses) == {400}
    # Hammering made-up codes beyond their delay is refused cheaply, and still locks out nobody.
    assert check_back(client, made_up_code(0), "again").status_code == 400
    assert check_back(client, made_up_code(0), "and again").status_code == 429
    # No site-wide lockout: a fresh code is still checked, and the right reporter gets in.
    assert check_back(client, made_up_code(999), "a first try").status_code == 400
    assert check_back(client, code, passphrase).status_code == 302
    assert db.scalar(select(func.count()).select_from(ReporterSession)) == 1


def test_the_right_reporter_waits_for_a_slot_while_strangers_hold_them_all(
    app: Flask, db: Session, report: tuple[str, str], clock: FixedClock
) -> None:
    """Decision: a legitimate request waits its turn in the bounded queue and gets in when a slot
    frees; if none frees within the wait, it gets 503 with Retry-After and may simply retry
    (tests/security/test_argon2_gate.py). Either way it is never locked out."""
    code, passphrase = report
    gate = Argon2Gate(slots=2, wait_seconds=30, max_waiting=4)
    app.extensions["candor.argon2_gate"] = gate
    results: list[int] = []
    strangers = [gate.slot() for _ in range(gate.slots)]
    for held in strangers:
        held.__enter__()
    reporter = threading.Thread(
        target=lambda: results.append(check_back(app.test_client(), code, passphrase).status_code)
    )
    reporter.start()
    try:
        assert gate.wait_until_waiting(1, timeout=10)
        assert results == []  # still waiting: every slot is taken
    finally:
        strangers.pop().__exit__(None, None, None)
        reporter.join(timeout=30)
        for held in strangers:
            held.__exit__(None, None, None)
    assert results == [302]


def test_the_service_refuses_a_delayed_code_without_argon2(
    db: Session, argon2_runs: list[int]
) -> None:
    make_handler(db, "hanna")
    pepper = bytes(range(32))
    code = made_up_code(3)
    kwargs: dict[str, Any] = {
        "pepper": pepper,
        "profile": crypto.TEST,
        "now": NOW,
        "idle": timedelta(minutes=30),
    }
    for i in range(6):
        with pytest.raises(reporter_access.AccessDeniedError):
            reporter_access.sign_in(db, code, f"guess {i}", **kwargs)
    runs = len(argon2_runs)
    with pytest.raises(reporter_access.TooManyAttemptsError) as refused:
        reporter_access.sign_in(db, code, "guess 6", **kwargs)
    assert refused.value.retry_at == NOW + timedelta(minutes=1)
    assert len(argon2_runs) == runs


@pytest.fixture(autouse=True)
def _no_leftover_threads() -> Iterator[None]:
    before = threading.active_count()
    yield
    assert threading.active_count() <= before
