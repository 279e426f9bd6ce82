"""Attack: escaping the per-code delay by typing the same receipt code in other characters.

Full-width digits, Arabic-Indic or Persian digits, Devanagari digits, spaces, dashes and invisible
marks all name the same case. Before, the limit was keyed on the raw text, so each spelling got a
fresh allowance. Now every limit and delay is keyed on the canonical code (an HMAC of it, in the
database, never the code itself), so every spelling counts against one delay; and each spelling
opens the case with the right passphrase.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

import crypto
from portal.models import ReceiptCodeDelay
from tests.factories import NOW, make_handler
from tests.portal.test_reporter_web import file_report
from tests.security.guessing_support import alert, check_back


def _digits(base: int) -> Callable[[str], str]:
    return lambda code: "".join(chr(base + int(d)) if d.isdigit() else d for d in code)


SPELLINGS: dict[str, Callable[[str], str]] = {
    "full-width": _digits(0xFF10),
    "Arabic-Indic": _digits(0x0660),
    "Persian": _digits(0x06F0),
    "Devanagari": _digits(0x0966),
    "no spaces": lambda code: code.replace(" ", ""),
    "dashes": lambda code: code.replace(" ", "-"),
    "en dashes and spaces": lambda code: code.replace(" ", " \u2013 "),
    "right-to-left marks": lambda code: "\u200f" + _digits(0x0660)(code).replace(" ", "\u200f "),
    "zero-width spaces": lambda code: code.replace(" ", "\u200b"),
}


@pytest.fixture
def report(
    client: FlaskClient, db: Session, monkeypatch: pytest.MonkeyPatch
) -> tuple[str, str, Callable[[], None]]:
    now = [NOW]
    monkeypatch.setattr("portal.reporter.views.utcnow", lambda: now[0])
    make_handler(db, "hanna")
    code, passphrase = file_report(client)

    def later() -> None:
        now[0] = datetime(2026, 11, 25, 9, 0, tzinfo=NOW.tzinfo)  # past any delay

    return code, passphrase, later


def test_each_spelling_opens_the_case(
    client: FlaskClient, report: tuple[str, str, Callable[[], None]]
) -> None:
    code, passphrase, _ = report
    for name, spell in SPELLINGS.items():
        fresh = client.application.test_client()
        assert crypto.normalize_receipt_code(spell(code)) == crypto.normalize_receipt_code(code)
        assert check_back(fresh, spell(code), passphrase).status_code == 302, name


def test_every_spelling_counts_against_one_delay(
    client: FlaskClient, db: Session, report: tuple[str, str, Callable[[], None]]
) -> None:
    code, passphrase, later = report
    spellings = list(SPELLINGS.values())
    responses = [check_back(client, spellings[i](code), f"guess {i}") for i in range(6)]
    assert [r.status_code for r in responses] == [400] * 6
    assert "Too many attempts for this receipt code." in alert(responses[-1])
    # Every other spelling, and the plain one, now meets the same delay.
    for spell in [*spellings[6:], lambda c: c]:
        assert check_back(client, spell(code), passphrase).status_code == 429
    # One row, keyed by an HMAC: the code is not stored in any spelling.
    keys = db.scalars(select(ReceiptCodeDelay.key)).all()
    canonical = crypto.normalize_receipt_code(code)
    assert len(keys) == 1
    assert canonical.encode() not in keys[0]
    later()
    assert check_back(client, SPELLINGS["Devanagari"](code), passphrase).status_code == 302
