"""Active content in uploads: an SVG with a script or an HTML page, opened in the site's origin.

A file a reporter or handler attaches could run script with the site's cookies if a browser
rendered it inline. Every attachment leaves the site only as a download: always
``application/octet-stream`` whatever type the uploader claimed, ``Content-Disposition:
attachment``, ``X-Content-Type-Options: nosniff`` and the site's script-free CSP; the bytes come
back exactly as sent, never rendered or rewritten by the server.
"""

from __future__ import annotations

import io
import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from portal.models import User
from tests.portal.test_reporter_web import csrf_of
from tests.security.conftest import file_case, reporter_client, staff_client

SVG = (
    b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)">'
    b"<script>alert(document.cookie)</script></svg>"
)
HTML = b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>"
FILES = [
    ("drawing.svg", "image/svg+xml", SVG),
    ("page.html", "text/html", HTML),
    ("page.htm", "text/html; charset=utf-8", HTML),
    ("page.xhtml", "application/xhtml+xml", HTML),
    ("looks-like.png", "image/png", HTML),
]


def upload(name: str, content_type: str, data: bytes) -> tuple[io.BytesIO, str, str]:
    return io.BytesIO(data), name, content_type


def assert_download_only(response: object, data: bytes) -> None:
    headers = response.headers  # type: ignore[attr-defined]
    assert response.status_code == 200  # type: ignore[attr-defined]
    assert headers["Content-Type"] == "application/octet-stream"
    assert headers["Content-Disposition"].startswith("attachment;")
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert "default-src 'none'" in headers["Content-Security-Policy"]
    assert response.data == data  # type: ignore[attr-defined]


def links(html: str) -> dict[str, str]:
    return {
        name: href
        for href, name in re.findall(r'<a href="([^"]+/attachments/[0-9a-f]+)">([^<]+)</a>', html)
    }


@pytest.mark.parametrize(("name", "content_type", "data"), FILES)
def test_a_reporter_upload_is_only_ever_a_download(
    app: Flask, db: Session, team: dict[str, User], name: str, content_type: str, data: bytes
) -> None:
    case = file_case(app.test_client(), db, attachments=[upload(name, content_type, data)])
    handler = staff_client(app, db, team["hanna"])
    reporter = reporter_client(app, case)
    for client, page in ((handler, case.url), (reporter, "/case")):
        found = links(client.get(page).get_data(as_text=True))
        assert set(found) == {name}
        assert_download_only(client.get(found[name]), data)


def test_a_handler_upload_is_only_ever_a_download_for_the_reporter(
    app: Flask, db: Session, team: dict[str, User]
) -> None:
    case = file_case(app.test_client(), db)
    handler: FlaskClient = staff_client(app, db, team["hanna"])
    token = csrf_of(handler.get(case.url).get_data(as_text=True))
    response = handler.post(
        f"{case.url}/messages",
        data={
            "csrf_token": token,
            "kind": "reply",
            "body": "See the drawing.",
            "attachments": [upload("drawing.svg", "image/svg+xml", SVG)],
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    reporter = reporter_client(app, case)
    found = links(reporter.get("/case").get_data(as_text=True))
    assert set(found) == {"drawing.svg"}
    assert_download_only(reporter.get(found["drawing.svg"]), SVG)
