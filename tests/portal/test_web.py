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
    assert b"Not Found" in response.data
    assert b"Back to the start page" in response.data
