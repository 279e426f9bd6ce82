"""Attack: pages without security headers (framing, sniffing, caching, referrer leak, TLS strip).

Every route of the URL map, signed out and signed in, and every error page carries the full set:
a Content-Security-Policy that allows no script, no-referrer, no-store, nosniff and frame denial.
When the site is served over HTTPS, Strict-Transport-Security pins browsers to HTTPS (so a network
attacker cannot strip TLS on a reporter's next visit) and the session cookie is Secure; when an
onion service is configured, reporter pages carry Onion-Location so Tor Browser offers it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, abort
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.test import TestResponse

from portal import create_app
from portal.config import ConfigError
from portal.web import HSTS_MAX_AGE_SECONDS
from tests.conftest import make_config
from tests.factories import make_admin, sign_in_as
from tests.portal.test_reporter_web import csrf_of, file_report

# The Tor Project's own v3 address: a real, well-formed one.
ONION = "http://2gzyxa5ihm7nsggfxnu52rck2vv4rvmdlkiu3zzui5du4xyclen53wid.onion"
ERROR_CODES = (400, 403, 404, 405, 413, 429, 500, 503)
HSTS = f"max-age={HSTS_MAX_AGE_SECONDS}"

AppFactory = Callable[..., Flask]


def assert_security_headers(response: TestResponse, where: str) -> None:
    headers = response.headers
    csp = headers.get("Content-Security-Policy", "")
    assert "default-src 'none'" in csp, where
    assert "script-src" not in csp and "'unsafe-inline'" not in csp, where
    assert "frame-ancestors 'none'" in csp, where
    assert headers.get("Referrer-Policy") == "no-referrer", where
    assert "no-store" in headers.get("Cache-Control", ""), where
    assert headers.get("X-Content-Type-Options") == "nosniff", where
    assert headers.get("X-Frame-Options") == "DENY", where


@pytest.fixture
def make_app(database: tuple[str, sessionmaker[Session]], tmp_path: Path) -> Iterator[AppFactory]:
    def build(**overrides: Any) -> Flask:
        config = make_config(database[0], tmp_path, **overrides)
        app = create_app(config)
        app.config["TESTING"] = True
        app.config["PROPAGATE_EXCEPTIONS"] = False
        app.extensions["candor.sessionmaker"] = database[1]
        config.storage.attachments_dir.mkdir(parents=True, exist_ok=True)

        # Test-only routes that end in each error code.
        def fail(code: int) -> str:
            if code == 500:
                raise RuntimeError("a test-only failure")
            abort(code)

        app.add_url_rule("/test-only/error/<int:code>", "test_only_error", fail)
        return app

    yield build


def placeholder_path(rule: str, user_id: int) -> str:
    path = re.sub(r"<int:[^>]+>", str(user_id), rule)
    path = re.sub(r"<path:[^>]+>", "candor.css", path)
    path = re.sub(r"<any\(([^,)]+)[^>]*>", r"\1", path)
    return re.sub(r"<[^>]+>", "0123456789abcdef", path)


def get_routes(app: Flask, user_id: int) -> list[str]:
    paths = [
        placeholder_path(r.rule, user_id)
        for r in app.url_map.iter_rules()
        if "GET" in (r.methods or ()) and not r.rule.startswith("/test-only")
    ]
    assert len(paths) > 20, "fewer GET routes than the site has: the walk is broken"
    return paths


def post_routes(app: Flask, user_id: int) -> list[str]:
    return [
        placeholder_path(r.rule, user_id)
        for r in app.url_map.iter_rules()
        if "POST" in (r.methods or ())
    ]


@pytest.mark.parametrize(
    "overrides",
    [{}, {"site__base_url": "https://whistle.example.org"}, {"site__onion_address": ONION}],
    ids=["http", "https", "onion"],
)
def test_every_route_signed_out_and_in_carries_the_headers(
    make_app: AppFactory, db: Session, overrides: dict[str, str]
) -> None:
    app = make_app(**overrides)
    admin = make_admin(db, also_handler=True)
    https = "site__base_url" in overrides
    reporter = app.test_client()
    code, passphrase = file_report(reporter)
    page = reporter.get("/check").get_data(as_text=True)
    reporter.post(
        "/check",
        data={"csrf_token": csrf_of(page), "receipt_code": code, "passphrase": passphrase},
    )
    assert reporter.get("/case").status_code == 200
    staff = app.test_client()
    sign_in_as(staff, db, admin)
    clients = {"signed out": app.test_client(), "reporter": reporter, "staff": staff}
    for who, client in clients.items():
        for path in get_routes(app, admin.id):
            response = client.get(path)
            where = f"GET {path} ({who})"
            assert response.status_code != 500, where
            assert_security_headers(response, where)
            hsts = response.headers.get("Strict-Transport-Security")
            assert hsts == (HSTS if https else None), where
        for path in post_routes(app, admin.id):
            # Without a CSRF token: refused, still with the headers. A reporter's follow-up with
            # no session answers 401: the sign-in page, keeping the typed message.
            response = client.post(path)
            refused = (400, 401) if path == "/case/messages" else (400,)
            assert response.status_code in refused, f"POST {path} ({who})"
            assert_security_headers(response, f"POST {path} ({who})")


@pytest.mark.parametrize("https", [False, True])
def test_every_error_page_carries_the_headers(make_app: AppFactory, https: bool) -> None:
    app = make_app(**({"site__base_url": "https://whistle.example.org"} if https else {}))
    client = app.test_client()
    for code in ERROR_CODES:
        response = client.get(f"/test-only/error/{code}")
        assert response.status_code == code
        assert_security_headers(response, f"error {code}")
        assert response.headers.get("Strict-Transport-Security") == (HSTS if https else None)
        page = response.get_data(as_text=True)
        assert "Back to the start page" in page and "<script" not in page


def test_real_errors_carry_the_headers(make_app: AppFactory, db: Session) -> None:
    app = make_app()
    app.config["MAX_CONTENT_LENGTH"] = 1024
    client = app.test_client()
    cases = {
        400: client.post("/check", data={"receipt_code": "1", "passphrase": "x"}),
        404: client.get("/no-such-page"),
        405: client.get("/logout"),
        413: client.post("/check", data={"receipt_code": "1" * (300 * 1024)}),
    }
    admin = make_admin(db)  # an admin who is not a handler may not open the inbox
    sign_in_as(client, db, admin)
    cases[403] = client.get("/staff/inbox")
    for code, response in cases.items():
        assert response.status_code == code
        assert_security_headers(response, f"error {code}")
    assert "POST" in cases[405].headers["Allow"]


def test_hsts_when_the_request_itself_came_over_https(make_app: AppFactory) -> None:
    app = make_app()
    assert app.test_client().get("/").headers.get("Strict-Transport-Security") is None
    secure = app.test_client().get("/", base_url="https://localhost")
    assert secure.headers["Strict-Transport-Security"] == HSTS


def test_onion_location_on_reporter_pages_with_the_same_path_and_query(
    make_app: AppFactory, db: Session
) -> None:
    app = make_app(site__onion_address=ONION + "/")
    client = app.test_client()
    reporter_paths = [
        placeholder_path(r.rule, 1)
        for r in app.url_map.iter_rules()
        if r.endpoint.startswith("reporter.") and "GET" in (r.methods or ())
    ]
    assert "/" in reporter_paths and "/report" in reporter_paths
    # The published policy and its PDF are reporter pages too.
    assert "/policy" in reporter_paths and "/policy.pdf" in reporter_paths
    for path in reporter_paths:
        response = client.get(path)
        assert response.headers.get("Onion-Location") == ONION + path, path
    query = client.get("/check", query_string="lang=en&x=%C3%A9")
    assert query.headers["Onion-Location"] == ONION + "/check?lang=en&x=%C3%A9"
    escaped = client.get("/case/attachments/a%25b%20c%C3%A9")
    assert escaped.headers["Onion-Location"] == ONION + "/case/attachments/a%25b%20c%C3%A9"
    # Staff pages and pages already served on the onion service carry none.
    assert client.get("/staff/sign-in").headers.get("Onion-Location") is None
    onion_host = ONION.removeprefix("http://")
    assert client.get("/", headers={"Host": onion_host}).headers.get("Onion-Location") is None


def test_no_onion_location_without_an_onion_address(make_app: AppFactory) -> None:
    client = make_app().test_client()
    for path in ("/", "/report", "/check"):
        assert client.get(path).headers.get("Onion-Location") is None


@pytest.mark.parametrize(
    "address",
    [
        "https://example.org",
        "http://expyuzz4wqqyqhjn.onion",  # a retired v2 address
        ONION + "/report",  # a path
        ONION.replace("wid.onion", "wia.onion"),  # not version 3
        "ftp://" + ONION.removeprefix("http://"),
        ONION.upper(),
    ],
)
def test_onion_address_must_be_a_v3_onion_url(tmp_path: Path, address: str) -> None:
    with pytest.raises(ConfigError, match=r"^site\.onion_address: "):
        make_config("sqlite://", tmp_path, site__onion_address=address)


def test_onion_address_is_optional(tmp_path: Path) -> None:
    assert make_config("sqlite://", tmp_path).site.onion_address is None
    assert make_config("sqlite://", tmp_path, site__onion_address="").site.onion_address is None
    with_onion = make_config("sqlite://", tmp_path, site__onion_address=ONION + "/")
    assert with_onion.site.onion_address == ONION


def test_session_cookie_is_secure_only_over_https(make_app: AppFactory) -> None:
    plain = make_app().test_client().get("/check")
    assert "Secure" not in plain.headers["Set-Cookie"]
    https = make_app(site__base_url="https://whistle.example.org").test_client()
    cookie = https.get("/check", base_url="https://localhost").headers["Set-Cookie"]
    assert "; Secure" in cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie


def test_forms_post_over_https_without_a_referer(make_app: AppFactory) -> None:
    # no-referrer means browsers send no Referer; the forms must still work over HTTPS.
    client = make_app(site__base_url="https://whistle.example.org").test_client()
    page = client.get("/check", base_url="https://localhost").get_data(as_text=True)
    response = client.post(
        "/check",
        base_url="https://localhost",
        data={"csrf_token": csrf_of(page), "receipt_code": "1234", "passphrase": "x"},
    )
    assert "could not be accepted" not in response.get_data(as_text=True)


def test_the_published_policy_and_its_pdf_carry_the_reporter_headers(
    make_app: AppFactory, db: Session
) -> None:
    client = make_app().test_client()
    page = client.get("/policy")
    assert page.status_code == 200 and "<script" not in page.get_data(as_text=True)
    assert_security_headers(page, "GET /policy")
    document = client.get("/policy.pdf")
    assert document.status_code == 200 and document.mimetype == "application/pdf"
    assert document.data.startswith(b"%PDF-") and b"/JavaScript" not in document.data
    assert_security_headers(document, "GET /policy.pdf")
