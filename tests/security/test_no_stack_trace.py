"""Attack: provoke an error and read the stack trace (code, paths, SQL, secrets in exception text).

An exception in a view ends in the plain error page: what happened, whether anything was lost and
what to do, with the security headers, and no traceback, exception type or exception text. This
holds with the settings of production (no TESTING, no DEBUG, exceptions not propagated).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask, abort
from sqlalchemy.exc import OperationalError

from portal import create_app
from portal.config import Config
from tests.security.test_security_headers import assert_security_headers

CANARY = "canary-7f3a91"

FAILURES: dict[str, Callable[[], BaseException]] = {
    "runtime": lambda: RuntimeError(f"secret {CANARY}"),
    "key": lambda: KeyError(CANARY),
    "database": lambda: OperationalError(
        "SELECT * FROM cases WHERE uid = :uid", {"uid": CANARY}, Exception(CANARY)
    ),
    "integrity": lambda: AssertionError(CANARY),
}
LEAKS = ("Traceback", 'File "', CANARY, "RuntimeError", "OperationalError", "KeyError", "SELECT")


def production_app(config: Config, app: Flask, *, testing: bool) -> Flask:
    # The test app's database, with the settings of production (TESTING off) or TESTING on with
    # propagation off; create_app itself never turns DEBUG on.
    prod = create_app(config)
    prod.extensions["candor.sessionmaker"] = app.extensions["candor.sessionmaker"]
    if testing:
        prod.config.update(TESTING=True, PROPAGATE_EXCEPTIONS=False)
    assert not prod.debug
    return prod


@pytest.mark.parametrize("testing", [False, True], ids=["production", "testing-no-propagation"])
@pytest.mark.parametrize("failure", sorted(FAILURES))
def test_an_exception_in_a_view_gives_the_plain_error_page(
    config: Config, app: Flask, testing: bool, failure: str
) -> None:
    prod = production_app(config, app, testing=testing)

    def explode() -> str:
        raise FAILURES[failure]()

    prod.add_url_rule("/test-only/explode", "test_only_explode", explode)
    response = prod.test_client().get("/test-only/explode")
    page = response.get_data(as_text=True)
    if failure == "database":
        # The database went away: a page that says to try again in a moment (test_faults.py).
        assert response.status_code == 503 and response.headers["Retry-After"]
        assert "could not reach its database just now, so nothing was saved" in page
    else:
        assert response.status_code == 500
        assert "Something went wrong on our side" in page
        assert "may not have been saved" in page and "anything you sent before is safe" in page
    assert "Back to the start page" in page
    for leak in LEAKS:
        assert leak not in page, leak
    assert_security_headers(response, "500")
    assert CANARY not in str(response.headers)


def test_a_500_raised_with_a_description_shows_the_plain_text(config: Config, app: Flask) -> None:
    prod = production_app(config, app, testing=False)

    def fail() -> str:
        abort(500, f"internal detail {CANARY}")

    prod.add_url_rule("/test-only/abort", "test_only_abort", fail)
    response = prod.test_client().get("/test-only/abort")
    assert response.status_code == 500
    page = response.get_data(as_text=True)
    assert CANARY not in page and "Something went wrong on our side" in page


def test_the_real_app_never_runs_in_debug_mode(config: Config) -> None:
    prod = create_app(config)
    assert prod.debug is False and prod.testing is False
    assert not prod.config["PROPAGATE_EXCEPTIONS"]


def test_database_errors_never_carry_their_parameters(tmp_path: Path) -> None:
    # A traceback that reached a log would otherwise quote lookups, tags and ciphertexts.
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    from portal.db import make_engine

    engine = make_engine(f"sqlite:///{tmp_path / 'p.sqlite3'}")
    secret = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT * FROM no_such_table WHERE x = :x"), {"x": secret})
    except DBAPIError as exc:
        assert secret not in str(exc)
        assert "hidden due to hide_parameters" in str(exc)
    else:
        raise AssertionError("the query should have failed")
    finally:
        engine.dispose()
