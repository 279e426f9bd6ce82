"""What every response shares: the database session per request, headers, CSRF and error pages."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from flask import Flask, Response, current_app, g, make_response, render_template, request
from flask_limiter import Limiter
from flask_wtf.csrf import CSRFProtect
from sqlalchemy.orm import Session
from werkzeug.exceptions import HTTPException
from werkzeug.routing import IntegerConverter, Map

import crypto
from portal.config import Config
from portal.db import make_engine, make_session_factory
from portal.services import clock
from portal.services.attachments import AttachmentStore
from portal.uploads import EncryptingRequest, discard_unclaimed_uploads

csrf = CSRFProtect()
# Limits are keyed by what is being guessed (a receipt code, an account) or by the whole site;
# never by IP address, which this site does not record.
limiter = Limiter(key_func=lambda: "site", default_limits=[], headers_enabled=False)

# No script, no third-party origin, no framing; forms post only to this site.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self'; font-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "Referrer-Policy": "no-referrer",
    # Reporter pages must leave nothing in the browser's cache on a shared computer.
    "Cache-Control": "no-store, max-age=0",
    "Pragma": "no-cache",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), interest-cohort=()",
}
# One year. Browsers that saw the site over HTTPS refuse plain HTTP to it for that long, so a
# network attacker cannot strip TLS on a reporter's next visit. Not includeSubDomains or preload:
# the organisation's other hosts are not ours to commit.
HSTS_MAX_AGE_SECONDS = 365 * 24 * 60 * 60
# Characters kept as they are when the (decoded) path is copied into the Onion-Location header;
# the query string arrives still encoded, so its "%" escapes and "?" stay as they are too.
_PATH_SAFE = "/:@!$&'()*+,;=-._~"
_QUERY_SAFE = _PATH_SAFE + "%?"


# Row ids are `integer` columns (PostgreSQL's is 32 bits). A larger number used to reach the query
# and fail there with a 500; now it is refused before any query runs.
MAX_ID = 2**31 - 1


def parse_number(value: str, maximum: int = MAX_ID) -> int | None:
    """``value`` as a whole number from 0 to ``maximum``, or None when it is anything else.

    Only ASCII digits count: ``str.isdigit`` also says yes to "²", which ``int`` refuses, and
    ``int`` reads signs, spaces, underscores and other scripts' digits.
    """
    if not value or len(value) > len(str(maximum)) or not value.isascii() or not value.isdigit():
        return None
    number = int(value)
    return number if number <= maximum else None


def parse_id(value: str) -> int | None:
    """``value`` as a row id the database can hold, or None."""
    number = parse_number(value)
    return number if number else None


def coerce_number(value: object) -> int:
    """WTForms ``coerce`` for choices that are numbers: a ValueError becomes a form error."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_ID:
        return value
    number = parse_number(value) if isinstance(value, str) else None
    if number is None:
        raise ValueError("not a number from the list")
    return number


class IdConverter(IntegerConverter):
    """``<int:...>`` in a URL: only ASCII digits, and only ids the database can hold (else 404)."""

    regex = r"[0-9]{1,10}"

    def __init__(self, url_map: Map, fixed_digits: int = 0) -> None:
        super().__init__(url_map, fixed_digits=fixed_digits, min=1, max=MAX_ID)


def init_app(app: Flask, config: Config) -> None:
    # Before any blueprint registers a rule, so that every `<int:...>` part is bounded.
    app.url_map.converters["int"] = IdConverter
    engine = make_engine(config.database.url)
    app.extensions["candor.engine"] = engine
    app.extensions["candor.sessionmaker"] = make_session_factory(engine)
    app.extensions["candor.attachments"] = AttachmentStore(config.storage.attachments_dir)
    app.extensions["candor.clock"] = clock.settings_for(config)
    app.request_class = EncryptingRequest
    app.config["RATELIMIT_STORAGE_URI"] = config.ratelimit.storage_url
    # Flask-Limiter's INFO line for a refused request names the limit's key, which is the receipt
    # code being guessed (or a username): kept out of the log at any level a deployment sets.
    logging.getLogger("flask-limiter").setLevel(logging.WARNING)
    csrf.init_app(app)
    limiter.init_app(app)
    app.teardown_request(discard_unclaimed_uploads)
    app.teardown_appcontext(_close_session)
    app.after_request(_security_headers)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(crypto.DecryptionError, _integrity_error)
    app.context_processor(_template_globals)
    zone = ZoneInfo(config.site.timezone)
    app.add_template_filter(lambda value: value.astimezone(zone).strftime("%-d %B %Y"), "localdate")
    app.add_template_filter(
        lambda value: value.astimezone(zone).strftime("%-d %B %Y, %H:%M"), "localdatetime"
    )
    app.add_template_filter(_filesize, "filesize")
    app.add_template_filter(_duration, "duration")


def db_session() -> Session:
    """The request's database session, opened on first use and closed at teardown."""
    if "db_session" not in g:
        g.db_session = current_app.extensions["candor.sessionmaker"]()
    session: Session = g.db_session
    return session


def app_config() -> Config:
    config: Config = current_app.extensions["candor.config"]
    return config


def clock_settings() -> clock.ClockSettings:
    settings: clock.ClockSettings = current_app.extensions["candor.clock"]
    return settings


def argon2_profile() -> crypto.Argon2Profile:
    return crypto.PROFILES[app_config().security.argon2_profile]


def _close_session(_exc: BaseException | None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.close()


def _security_headers(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    # Static files too: even a cached style sheet tells whoever uses the computer next that this
    # site was visited.
    response.headers["Cache-Control"] = SECURITY_HEADERS["Cache-Control"]
    site = app_config().site
    if request.is_secure or site.base_url.startswith("https://"):
        response.headers["Strict-Transport-Security"] = f"max-age={HSTS_MAX_AGE_SECONDS}"
    if (
        site.onion_address
        and request.blueprint == "reporter"
        and not request.host.split(":")[0].endswith(".onion")
    ):
        # Tor Browser offers the same page on the onion service, which keeps the reporter's
        # visit inside Tor end to end.
        response.headers["Onion-Location"] = _onion_location(site.onion_address)
    return response


def _onion_location(onion_address: str) -> str:
    location = onion_address + quote(request.script_root + request.path, safe=_PATH_SAFE)
    query = request.query_string.decode("latin-1")
    return f"{location}?{quote(query, safe=_QUERY_SAFE)}" if query else location


ERROR_TEXTS = {
    403: "This page is not open to you. Nothing has changed. Go back to the start page, or sign "
    "in with an account that may see it.",
    404: "There is no page at this address, or it is not open to you. Nothing has changed. Check "
    "the address, or go back to the start page.",
    405: "This page cannot be used that way. Nothing has changed. Go back to the start page and "
    "follow the links from there.",
    # An unexpected error: the services commit once at the end, so a request that failed before
    # then saved nothing; one that failed after may have been saved, and the text says both.
    500: "Something went wrong on our side and this page could not be shown. What you just sent "
    "may not have been saved; anything you sent before is safe. Go back, keep a copy of any text "
    "you typed, check whether it arrived, and if not send it again in a few minutes.",
    503: "The site is busy right now. Nothing you sent with this request was saved. Wait a "
    "minute and try again.",
    413: "The upload is larger than this site accepts. Go back, choose smaller or fewer files, "
    "and send again. Your browser may have kept what you typed.",
    429: "Too many attempts. Wait a while before you try again.",
    400: "The form could not be accepted, perhaps because it was open too long. Go back, reload "
    "the page and send it again.",
}


def _http_error(error: HTTPException) -> Response:
    code = error.code or 500
    text = ERROR_TEXTS.get(code, error.description)
    if code == 503 and error.description != type(error).description:
        text = error.description  # raised with its own words, such as how long to wait
    if code == 413:
        text = f"{text} The limit is {app_config().storage.max_upload_mb} MB in all."
    response = make_response(render_template("error.html", error=error, text=text), code)
    # Keep what the error itself says to the browser (Allow on a 405, Retry-After on a 503).
    for name, value in error.get_headers():
        if name.lower() != "content-type":
            response.headers[name] = value
    return response


def _duration(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return f"{days} day{'s' if days != 1 else ''} {hours} h"
    return f"{hours} h {minutes} min" if hours else f"{minutes} min"


def _filesize(size: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024  # type: ignore[assignment]
    raise AssertionError("unreachable")


def _integrity_error(_error: crypto.DecryptionError) -> tuple[str, int]:
    current_app.logger.warning("refused a page: stored content failed its integrity check")
    # Refuse the whole page: nothing that fails to verify is shown, not even the parts that do.
    text = (
        "Some of this content failed its integrity check, so none of it is shown. "
        "This can mean that stored data was altered; if it persists, tell the organisation "
        "through another channel."
    )
    return render_template("error.html", error=_IntegrityFailure(), text=text), 500


class _IntegrityFailure:
    name = "Content could not be verified"


def _template_globals() -> dict[str, Any]:
    return {"site_name": app_config().site.name}
