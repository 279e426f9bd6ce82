"""Every word a person reads comes from the catalogue.

The site is served in a pseudo-locale: a catalogue built from messages.pot in which each string
is itself wrapped in markers ("⟦File a report⟧"), compiled for the English locale the site uses.
Every GET route is then rendered for an anonymous visitor, a signed-in reporter, a handler and
an admin, with the main error pages, and the text people read is collected: text nodes outside
<script> and <style>, the <title>, and the attributes that are read (placeholder, title,
aria-label, alt, the value of a button). Once the marked segments and the data this test made
(names, codes, the report, dates) are taken out, no letter may remain: anything left is a
string that no translation would reach.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import ClassVar

import pytest
import wtforms
from babel import Locale
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.test import TestResponse

from portal import create_app, i18n
from portal.config import Config
from portal.models import Attachment, User
from portal.services import accounts, inbox
from portal.timeutil import utcnow
from tests.factories import file_bytes, make_admin, make_handler
from tests.portal.test_reporter_web import REPORT_TEXT, csrf_of, intake_fields, receipt_of
from tests.security.conftest import URL_VALUES, FiledCase, file_case, reporter_client, staff_client
from tests.security.test_csrf import fill

OPEN, CLOSE = "⟦", "⟧"
MARKED = re.compile(f"{OPEN}[^{OPEN}{CLOSE}]*{CLOSE}")
# Text nodes are joined with this, so that one marked string may span several elements (a
# {% trans %} paragraph with a link) and what is left can still be told apart node by node.
SEP = "\x1f"
READ_ATTRIBUTES = ("placeholder", "title", "aria-label", "alt")
BUTTON_TYPES = {"submit", "button", "reset"}
LETTER = re.compile(r"[^\W\d_]")
ENGLISH = Locale.parse(next(x for x in i18n.LANGUAGES if x.code == "en").babel_locale)
# The test's own data: shown as it was entered, never translated.
UPLOAD_NAME = "ledger-march.csv"
INVITED = ("newcomer", "Newcomer")
POLICY_DIR = Path(i18n.__file__).resolve().parent / "policies"


def pseudo_catalogue(pot: Path, locale: str, parts: set[str] | None = None) -> Catalog:
    """Every msgid of ``pot`` translated as itself between markers (plurals alike); with
    ``parts``, only the messages of those parts of the site."""
    with pot.open("rb") as f:
        template = read_po(f)
    catalog = Catalog(locale=locale)
    for message in template:
        if not message.id:
            continue
        if parts is not None and not {i18n.part_of(path) for path, _ in message.locations} & parts:
            continue
        if isinstance(message.id, tuple):
            singular, plural = message.id[0], message.id[1]
            forms = [singular] + [plural] * (catalog.num_plurals - 1)
            string: str | tuple[str, ...] = tuple(f"{OPEN}{form}{CLOSE}" for form in forms)
        else:
            string = f"{OPEN}{message.id}{CLOSE}"
        catalog.add(message.id, string, flags=message.flags, context=message.context)
    return catalog


@pytest.fixture
def pseudo_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> Path:
    """The pseudo catalogue compiled where the app will look for its translations (of the parts
    the test names with indirect parametrisation, else of all)."""
    parts = getattr(request, "param", None)
    locale = i18n.BY_CODE[i18n.DEFAULT].babel_locale
    root = tmp_path / "pseudo-translations"
    target = root / locale / "LC_MESSAGES"
    target.mkdir(parents=True)
    with (target / "messages.mo").open("wb") as f:
        write_mo(f, pseudo_catalogue(i18n.TRANSLATIONS_DIR / "messages.pot", locale, parts))
    # i18n.init_app reads the directory when the app is made.
    monkeypatch.setattr(i18n, "TRANSLATIONS_DIR", root)
    return root


@pytest.fixture
def app(pseudo_dir: Path, config: Config, database: tuple[str, sessionmaker[Session]]) -> Flask:
    app = create_app(config)
    app.config["TESTING"] = True
    app.config["PROPAGATE_EXCEPTIONS"] = False
    app.extensions["candor.sessionmaker"] = database[1]
    config.storage.attachments_dir.mkdir(parents=True, exist_ok=True)
    assert app.config["BABEL_TRANSLATION_DIRECTORIES"] == str(pseudo_dir)
    return app


class VisibleText(HTMLParser):
    """The text a person reads on a page: text nodes, the title, read attributes."""

    SKIP: ClassVar[set[str]] = {"script", "style", "template", "code"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.body: list[str] = []
        self.attributes: list[str] = []
        self.title: list[str] = []
        self.open: list[str] = []
        # Open elements that say their text is not for translation: a quote in another language
        # (lang="en" on a quoted source), or translate="no" (stored audit details).
        self.not_translated: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for name in READ_ATTRIBUTES:
            if values.get(name):
                self.attributes.append(str(values[name]))
        if tag == "input" and (values.get("type") or "") in BUTTON_TYPES and values.get("value"):
            self.attributes.append(str(values["value"]))
        if tag not in {"br", "hr", "img", "input", "link", "meta", "wbr", "source", "col"}:
            self.open.append(tag)
            if tag != "html" and (values.get("lang") or values.get("translate") == "no"):
                self.not_translated.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in self.open:
            while self.open and self.open.pop() != tag:
                pass
            if tag in self.not_translated:
                self.not_translated.remove(tag)

    def handle_data(self, data: str) -> None:
        if self.not_translated or any(tag in self.SKIP for tag in self.open):
            return
        (self.title if "title" in self.open else self.body).append(data)


def unmarked(html: str, known: list[str]) -> list[str]:
    """The pieces of text on ``html`` that did not come from the catalogue."""
    parser = VisibleText()
    parser.feed(html)
    parser.close()
    found: list[str] = []
    for text in [SEP.join(parser.body), SEP.join(parser.title), *parser.attributes]:
        previous = None
        while previous != text:
            previous, text = text, MARKED.sub(SEP, text)
        for piece in text.split(SEP):
            rest = without_data(piece, known)
            if LETTER.search(rest):
                found.append(" ".join(piece.split()))
    return found


def without_data(text: str, known: list[str]) -> str:
    for value in known:
        text = text.replace(value, " ")
    return DATES.sub(" ", text)


WTFORMS_MESSAGES = [
    message.id
    for message in read_po(
        io.BytesIO((Path(wtforms.__file__).parent / "locale" / "wtforms.pot").read_bytes())
    )
    if message.id and isinstance(message.id, str)
]


def _alternatives(words: list[str]) -> str:
    return "|".join(re.escape(word) for word in sorted(set(words), key=len, reverse=True))


# Dates and times as Babel writes them in the site's English: "30 November 2026, 14:05",
# "Monday 30 Nov", "2:05 pm" (the words are Babel's locale data, not the catalogue's).
_MONTHS = _alternatives(
    [
        *ENGLISH.months["format"]["wide"].values(),
        *ENGLISH.months["format"]["abbreviated"].values(),
    ]
)
_DAYS = _alternatives(
    [*ENGLISH.days["format"]["wide"].values(), *ENGLISH.days["format"]["abbreviated"].values()]
)
_PERIODS = _alternatives(
    [str(p) for p in ENGLISH.day_periods["format"]["abbreviated"].values() if len(str(p)) <= 4]
)
DATES = re.compile(
    rf"(?:\b(?:{_DAYS}),?\s+)?\b\d{{1,2}}\s+(?:{_MONTHS})\.?(?:\s+\d{{4}})?"
    rf"|\b\d{{1,2}}[:.]\d{{2}}\s*(?:{_PERIODS})\b"
    rf"|\b(?:{_MONTHS})\s+\d{{4}}\b"
)


@dataclass
class Site:
    """The people and things of a small site, and a value for every URL placeholder."""

    values: dict[str, str]
    clients: dict[str, FlaskClient]
    known: list[str] = field(default_factory=list)


@pytest.fixture
def site(app: Flask, db: Session) -> Iterator[Site]:
    admin = make_admin(db, "boss", also_handler=True)
    hanna = make_handler(db, "hanna")
    make_handler(db, "sven", level=2)
    case: FiledCase = file_case(
        app.test_client(), db, attachments=[file_bytes(UPLOAD_NAME, b"a;b\n1;2\n")]
    )
    _, token = accounts.invite_user(
        db,
        admin,
        username=INVITED[0],
        display_name=INVITED[1],
        title="",
        level=1,
        is_handler=True,
        is_admin=False,
        categories=[],
        now=utcnow(),
    )
    attachment = db.scalars(select(Attachment.uid)).one()
    values = {
        **URL_VALUES,
        "uid": case.uid,
        "attachment_uid": attachment,
        "user_id": str(hanna.id),
        "token": token,
    }
    config: Config = app.extensions["candor.config"]
    users = list(db.scalars(select(User)))
    known = [
        config.site.name,
        case.uid,
        f"C-{case.uid[: inbox.REFERENCE_DIGITS].upper()}",
        case.receipt_code,
        *case.passphrase.split(),
        REPORT_TEXT,
        "Last week, depot 4",
        UPLOAD_NAME,
        *[user.display_name for user in users],
        *[user.username for user in users],
        *[user.title for user in users if user.title],
        *[category.label for category in config.intake.categories],
        *[category.key for category in config.intake.categories],
        *[question.label for question in config.intake.questions],
        *[language.name for language in i18n.LANGUAGES],
        *INVITED,
        config.site.timezone,
        # Countries as Babel names them (locale data, like dates).
        *[f"{name} ({code})" for code, name in ENGLISH.territories.items()],
        # WTForms' own messages, which its own catalogues translate.
        *WTFORMS_MESSAGES,
        # Policy keys, shown beside a policy's title to tell presets apart.
        *[path.stem for path in POLICY_DIR.glob("*.toml")],
    ]
    known.extend(_more_test_labels(config))
    yield Site(
        values=values,
        clients={
            "anonymous": app.test_client(),
            "reporter": reporter_client(app, case),
            "handler": staff_client(app, db, hanna),
            "admin": staff_client(app, db, admin),
        },
        known=sorted({k for k in known if k}, key=len, reverse=True),
    )


def _more_test_labels(config: Config) -> list[str]:
    """Group and other labels the test configuration names, if it has any."""
    labels: list[str] = []
    for group in getattr(config.intake, "groups", ()) or ():
        labels.append(str(getattr(group, "label", "")))
    return labels


def get_rules(app: Flask) -> list[str]:
    rules = sorted(
        r.rule
        for r in app.url_map.iter_rules()
        if "GET" in (r.methods or ()) and r.endpoint != "static"
    )
    assert len(rules) > 30, "fewer GET routes than the site has: the walk is broken"
    return rules


def is_page(response: TestResponse) -> bool:
    return response.mimetype == "text/html" and not 300 <= response.status_code < 400


def error_pages(app: Flask, site: Site) -> Iterator[tuple[str, TestResponse]]:
    """The main pages a failed request ends on."""
    visitor = app.test_client()
    token = csrf_of(visitor.get("/check").get_data(as_text=True))
    yield (
        "POST /check (a wrong passphrase)",
        visitor.post(
            "/check",
            data={"csrf_token": token, "receipt_code": "0000 0000 0000 0000", "passphrase": "x"},
        ),
    )
    fields = intake_fields(visitor)
    empty = {name: fields[name] for name in ("csrf_token", "form_token")}
    yield "POST /report (an empty form)", visitor.post("/report", data=empty)
    yield "POST /check (an empty form)", visitor.post("/check", data={"csrf_token": token})
    yield (
        "POST /staff/sign-in (an empty form)",
        visitor.post(
            "/staff/sign-in",
            data={"csrf_token": csrf_of(visitor.get("/staff/sign-in").get_data(as_text=True))},
        ),
    )
    yield "POST /check (no CSRF token)", visitor.post("/check", data={})
    yield "GET /no-such-page (404)", visitor.get("/no-such-page")
    yield "DELETE / (405)", visitor.delete("/")
    yield (
        "POST /check (413)",
        visitor.post("/check", data={"csrf_token": token, "draft": "d" * 2_000_000}),
    )
    filer = app.test_client()
    yield (
        "POST /report (the receipt)",
        filer.post("/report", data=intake_fields(filer), follow_redirects=True),
    )
    yield (
        "POST /report (files too large)",
        visitor.post(
            "/report",
            data={**fields, "attachments": [(io.BytesIO(b"x" * (6 << 20)), "big.bin")]},
            content_type="multipart/form-data",
        ),
    )


def test_every_page_shows_only_catalogue_text(app: Flask, site: Site) -> None:
    findings: dict[str, list[str]] = {}
    checked = 0
    for who, client in site.clients.items():
        for rule in get_rules(app):
            response = client.get(fill(rule, site.values))
            assert response.status_code != 500, (who, rule)
            if not is_page(response):
                continue
            checked += 1
            left = unmarked(response.get_data(as_text=True), site.known)
            if left:
                findings[f"GET {rule} ({who}, {response.status_code})"] = left
    for where, response in error_pages(app, site):
        assert is_page(response), (where, response.status_code)
        checked += 1
        html = response.get_data(as_text=True)
        known = site.known
        if "receipt" in where:
            code, passphrase = receipt_of(html)
            known = [*known, code, *passphrase.split()]
        left = unmarked(html, known)
        if left:
            findings[f"{where}, {response.status_code}"] = left
    assert checked > 60, f"only {checked} pages rendered: the walk is broken"
    distinct = {text for texts in findings.values() for text in texts}
    report = "\n".join(
        f"{where} -> {text!r}" for where, texts in findings.items() for text in dict.fromkeys(texts)
    )
    assert not findings, (
        f"{len(distinct)} distinct texts on {len(findings)} pages are not from the catalogue "
        f"(mark them with _() or {{% trans %}}):\n{report}"
    )


@pytest.mark.parametrize("pseudo_dir", [{"reporter", "automatic"}], indirect=True)
def test_reporter_pages_need_only_the_reporter_and_automatic_parts(app: Flask, site: Site) -> None:
    """A language that ships only the reporter and automatic parts leaves no English on any
    page a reporter sees: every string those pages show is filed under those parts."""
    findings: dict[str, list[str]] = {}
    rules = sorted(
        r.rule
        for r in app.url_map.iter_rules()
        if "GET" in (r.methods or ()) and r.endpoint.startswith("reporter.")
    )
    for who in ("anonymous", "reporter"):
        for rule in rules:
            response = site.clients[who].get(fill(rule, site.values))
            if is_page(response):
                left = unmarked(response.get_data(as_text=True), site.known)
                if left:
                    findings[f"GET {rule} ({who})"] = left
    for where, response in error_pages(app, site):
        if "/staff" in where:
            continue
        html = response.get_data(as_text=True)
        known = site.known
        if "receipt" in where:
            code, passphrase = receipt_of(html)
            known = [*known, code, *passphrase.split()]
        if left := unmarked(html, known):
            findings[where] = left
    assert not findings, "\n".join(f"{k} -> {v}" for k, v in findings.items())


def test_the_pseudo_locale_reaches_the_pages(app: Flask) -> None:
    """A control: the pseudo catalogue is the one the pages are written with."""
    page = app.test_client().get("/").get_data(as_text=True)
    assert f"{OPEN}Confidential reporting{CLOSE}" in page
    assert unmarked(f"<p>{OPEN}Text{CLOSE} <a>{OPEN}a link{CLOSE}</a></p>", []) == []
    assert unmarked("<p>Unmarked</p><input type=submit value=Send>", []) == [
        "Unmarked",
        "Send",
    ]
    assert unmarked(f"<p>{OPEN}Sent on{CLOSE} 30 November 2026, 14:05</p>", []) == []
