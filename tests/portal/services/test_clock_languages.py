"""The clock writes to a reporter in their case's language: the breach notice and the mediator
notice, with the policy's promise and the duration in that language too.

The shipped catalogues are not translated yet, so each test compiles a small catalogue of its own
(the few entries it reads) and points the app at it, as a translated site would be.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po
from flask import Flask
from flask_babel import get_babel
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.i18n import in_language
from portal.models import Case, OutboxMessage, User
from portal.services import clock, sitetext
from portal.services.calendar import Duration, Unit
from tests.portal.services.test_clock import T0, file_case, ladder, settings
from tests.portal.services.test_seed_complaints import system_messages

__all__ = ["ladder", "settings"]  # fixtures, shared with the clock's own tests

BREACH = (
    "We have not managed to %(promise)s in the time we promised. Your report has been passed to "
    "someone more senior, who will answer you here."
)
PROMISE = "acknowledge your report"
DAYS = ("%(num)d calendar day", "%(num)d calendar days")

# Each language's words for the entries above; Arabic has six plural forms (45 takes the fifth).
WORDS: dict[str, dict[str, str | tuple[str, ...]]] = {
    "de": {
        BREACH: "Es ist uns nicht gelungen, %(promise)s, wie wir es versprochen hatten. Ihre "
        "Meldung wurde an eine höhere Stelle weitergegeben, die Ihnen hier antworten wird.",
        PROMISE: "Ihre Meldung zu bestätigen",
        DAYS[0]: ("%(num)d Kalendertag", "%(num)d Kalendertagen"),
    },
    "ar": {
        BREACH: "لم نتمكن من %(promise)s في الوقت الذي وعدنا به. أُحيل بلاغك إلى شخص أعلى "
        "مسؤولية، وسيرد عليك هنا.",
        PROMISE: "الإقرار باستلام بلاغك",
        DAYS[0]: (
            "%(num)d يوم تقويمي",
            "يوم تقويمي واحد",
            "يومان تقويميان",
            "%(num)d أيام تقويمية",
            "%(num)d يومًا تقويميًا",
            "%(num)d يوم تقويمي",
        ),
    },
}


@pytest.fixture
def translated(app: Flask, tmp_path: Path) -> Flask:
    """The app reading a German and an Arabic catalogue of the entries above."""
    directory = tmp_path / "translations"
    for code, words in WORDS.items():
        catalog = Catalog(locale=code)
        for msgid, msgstr in words.items():
            catalog.add(DAYS if msgid == DAYS[0] else msgid, msgstr)
        folder = directory / code / "LC_MESSAGES"
        folder.mkdir(parents=True)
        # Written as a .po, read back and compiled, as `make translations` does.
        with (folder / "messages.po").open("wb") as po:
            write_po(po, catalog)
        with (folder / "messages.po").open("rb") as po:
            compiled = read_po(po, locale=code)
        with (folder / "messages.mo").open("wb") as mo:
            write_mo(mo, compiled)
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(directory)
    get_babel(app).translation_directories = [str(directory)]
    return app


def in_case_language(db: Session, case: Case, language: str | None) -> Case:
    case.language = language
    db.commit()
    return case


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        (
            "de",
            "Es ist uns nicht gelungen, Ihre Meldung zu bestätigen, wie wir es versprochen hatten.",
        ),
        ("ar", "لم نتمكن من الإقرار باستلام بلاغك في الوقت الذي وعدنا به."),
        (None, "We have not managed to acknowledge your report in the time we promised."),
    ],
)
def test_the_breach_notice_is_written_in_the_cases_language(
    db: Session,
    translated: Flask,
    settings: clock.ClockSettings,
    ladder: dict[int, User],
    language: str | None,
    expected: str,
) -> None:
    case = in_case_language(db, file_case(db, translated, settings), language)
    # The worker runs in an app context (`flask candor clock run`), with no page to decide.
    with translated.app_context():
        clock.tick(db, now=T0 + timedelta(days=7), settings=settings)
    (notice,) = system_messages(db, case, ladder[1])
    assert notice.startswith(expected)
    # The handlers are told in the site's language (English here), whatever the reporter's.
    subjects = db.scalars(
        select(OutboxMessage.subject).where(OutboxMessage.recipient_id.is_not(None))
    )
    assert any(s.endswith(": overdue: acknowledge the report") for s in subjects)


@pytest.mark.parametrize(
    ("language", "window"),
    [("de", "45 Kalendertagen"), ("ar", "45 يومًا تقويميًا"), (None, "45 calendar days")],
)
def test_the_mediator_notice_is_written_in_the_cases_language(
    db: Session,
    translated: Flask,
    settings: clock.ClockSettings,
    ladder: dict[int, User],
    language: str | None,
    window: str,
) -> None:
    case = file_case(db, translated, settings, policies=("seed-complaints",))
    in_case_language(db, case, language)
    with translated.app_context():
        clock.tick(db, now=T0 + timedelta(days=45), settings=settings)
        with in_language(language):
            # The site's text for that language, its window in that language's words.
            expected = sitetext.get_plain_text(
                db,
                "mediator_notice",
                duration=Duration(45, Unit.CALENDAR_DAYS).words(),
                language=language,
            )
    notices = [m for m in system_messages(db, case, ladder[1]) if window in m]
    assert notices == [expected]
    assert "{duration}" not in expected
