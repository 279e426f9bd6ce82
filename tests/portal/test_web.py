from __future__ import annotations

from flask.testing import FlaskClient


def test_landing_page_is_served_with_strict_headers(client: FlaskClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert b"Test Organisation" in response.data
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "script-src" not in csp
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert "no-store" in response.headers["Cache-Control"]
    assert b"<script" not in response.data


def test_unknown_page_gets_a_readable_error(client: FlaskClient) -> None:
    response = client.get("/no-such-page")
    assert response.status_code == 404
    page = " ".join(response.get_data(as_text=True).split())
    assert "<h1>Page not found</h1>" in page and "Not Found" not in page
    assert "Nothing was lost" in page
    assert "Back to the start page" in page


def test_every_error_page_says_what_happened_in_plain_words(client: FlaskClient) -> None:
    # Each says what happened, whether anything was lost, and what to do now; no raw titles.
    from werkzeug.exceptions import default_exceptions

    from portal.web import ERROR_PAGES

    for code, (title, text) in ERROR_PAGES.items():
        assert title != default_exceptions[code].name
        assert "nothing" in text.lower() or "not " in text.lower(), code
    too_large = client.post(
        "/report",
        data=b"x=" + b"x" * (12 * 1024 * 1024),
        content_type="application/x-www-form-urlencoded",
    )
    page = " ".join(too_large.get_data(as_text=True).split())
    assert too_large.status_code == 413
    assert "The upload is too large" in page and "Request Entity Too Large" not in page
    assert "The limit is 5 MB in all." in page
