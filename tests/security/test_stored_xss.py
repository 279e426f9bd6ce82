"""Stored cross-site scripting: text one person writes runs as script in another's browser.

Every field a reporter, a handler or an admin writes (intake answers, name, contact, messages,
notes, replies, file names, staff display names and titles) is escaped by the templates'
autoescaping wherever it is shown: the reporter's intake form, receipt and case pages, the
handler's inbox and case page, and the admin pages. The one place staff-written markup is kept
(the site texts) goes through one sanitiser that drops scripts, event attributes and
``javascript:`` links. Pages are parsed with ``html.parser`` and must hold no live script tag, no
event-handler attribute and no ``javascript:`` URL; and the Content-Security-Policy forbids
scripts anyway.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.models import Case, User
from tests.factories import file_bytes, make_admin
from tests.portal.test_reporter_web import csrf_of, intake_fields, receipt_of
from tests.security.conftest import FiledCase, reporter_client, staff_client

ATTACK = (
    '<script>alert(1)</script>"><img src=x onerror=alert(2)>'
    '</textarea><a href="javascript:alert(3)">j</a>'
)

# A file name keeps only what follows its last slash, so this attack has none.
FILE_NAME_ATTACK = 'FILENAME <img src=x onerror=alert(2)>"><svg onload=alert(1)>.txt'


def payload(label: str) -> str:
    return f"{label} {ATTACK}"


class LiveContent(HTMLParser):
    """Collects what a browser would run: script elements, on* attributes, javascript: URLs."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in {"script", "iframe", "object", "embed"}:
            self.found.append(f"<{tag}>")
        for name, value in attrs:
            if name.startswith("on"):
                self.found.append(f"<{tag} {name}=...>")
            if (
                name in {"href", "src", "action", "formaction"}
                and value
                and re.sub(r"[\s\x00-\x1f]", "", value)
                .lower()
                .startswith(("javascript:", "data:", "vbscript:"))
            ):
                self.found.append(f"<{tag} {name}={value}>")


def assert_inert(html: str, where: str, *labels: str) -> None:
    parser = LiveContent()
    parser.feed(html)
    parser.close()
    assert parser.found == [], f"live content on {where}: {parser.found}"
    for label in labels:
        # The text is shown (escaped), so this page really is one that displays it.
        assert label in html, f"{label} not shown on {where}"


def test_the_check_sees_an_unescaped_attack() -> None:
    for raw in (ATTACK, FILE_NAME_ATTACK, '<p><a href=" javascript:x">y</a></p>'):
        parser = LiveContent()
        parser.feed(f"<textarea>{raw}</textarea>")
        assert parser.found


def test_csp_forbids_scripts(app: Flask, db: Session) -> None:
    csp = app.test_client().get("/check").headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp
    assert "script-src" not in csp and "unsafe-inline" not in csp


def post(client: FlaskClient, path: str, form_page: str, **fields: object) -> str:
    token = csrf_of(client.get(form_page).get_data(as_text=True))
    response = client.post(path, data={"csrf_token": token, **fields})
    assert response.status_code in {200, 302}, (path, response.status_code)
    return response.get_data(as_text=True)


def test_every_written_field_is_escaped_on_every_page(
    app: Flask, db: Session, team: dict[str, User]
) -> None:
    hanna = team["hanna"]
    admin = staff_client(app, db, make_admin(db, "boss"))
    # Staff display name and title: shown to reporters on the intake form, and to staff.
    post(
        admin,
        f"/admin/users/{hanna.id}",
        f"/admin/users/{hanna.id}",
        display_name=payload("NAME1")[:128],
        title=payload("TITLE1")[:128],
        email="",
        level="1",
        is_handler="y",
    )
    reporter = app.test_client()
    assert_inert(reporter.get("/report").get_data(as_text=True), "intake form", "NAME1", "TITLE1")

    filed = reporter.post(
        "/report",
        data=intake_fields(
            reporter,
            q_what_happened=payload("ANSWER1"),
            q_when_where=payload("ANSWER2"),
            anonymity="confidential",
            name=payload("REPNAME"),
            contact=payload("CONTACT"),
            attachments=[file_bytes(FILE_NAME_ATTACK, b"evidence")],
        ),
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    assert filed.status_code == 200
    assert_inert(filed.get_data(as_text=True), "receipt")
    code, passphrase = receipt_of(filed.get_data(as_text=True))
    case = FiledCase(uid=_only_case_uid(db), receipt_code=code, passphrase=passphrase)

    handler = staff_client(app, db, hanna)
    post(handler, f"{case.url}/messages", case.url, kind="reply", body=payload("REPLY"))
    post(handler, f"{case.url}/notes", case.url, body=payload("NOTE"))

    signed_in = reporter_client(app, case)
    post(signed_in, "/case/messages", "/case", body=payload("FOLLOWUP"))
    assert_inert(
        signed_in.get("/case").get_data(as_text=True),
        "reporter case page",
        "ANSWER1",
        "ANSWER2",
        "REPLY",
        "FOLLOWUP",
        "FILENAME",
    )

    inbox = handler.get("/staff/inbox").get_data(as_text=True)
    assert_inert(inbox, "handler inbox", "ANSWER1")
    page = handler.get(case.url).get_data(as_text=True)
    assert_inert(page, "case page", "ANSWER1", "ANSWER2", "REPLY", "FOLLOWUP", "NOTE", "FILENAME")
    identity = post(handler, f"{case.url}/identity", case.url)
    assert_inert(identity, "case page with identity", "REPNAME", "CONTACT")

    for path in (
        "/admin/users",
        f"/admin/users/{hanna.id}",
        f"/admin/users/{hanna.id}/deactivate",
        f"/admin/users/{hanna.id}/reset-second-factor",
        f"/admin/users/{hanna.id}/reset-without-recovery",
        "/admin/categories",
    ):
        assert_inert(admin.get(path).get_data(as_text=True), path, "NAME1")


def _only_case_uid(db: Session) -> str:
    db.expire_all()
    return db.scalars(select(Case.uid)).one()


def test_site_texts_pass_the_sanitiser(app: Flask, db: Session, team: dict[str, User]) -> None:
    admin = staff_client(app, db, make_admin(db, "boss"))
    html = (
        f"<p>SITETEXT {ATTACK}</p>"
        '<a href=" JaVaScRiPt:alert(4)">spaced</a><a href="data:text/html,x">data</a>'
        '<p onclick="alert(5)" style="x">styled</p><svg onload="alert(6)"></svg>'
    )
    preview = post(admin, "/admin/texts", "/admin/texts", html=html, action="preview")
    assert_inert(preview, "site text preview", "SITETEXT")
    post(admin, "/admin/texts", "/admin/texts", html=html, action="save")
    assert_inert(admin.get("/admin/texts").get_data(as_text=True), "site text editor", "SITETEXT")
    assert_inert(app.test_client().get("/").get_data(as_text=True), "start page", "SITETEXT")
