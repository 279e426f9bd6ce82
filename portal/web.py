"""What every response shares: the database session per request, headers, CSRF and error pages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask, Response, current_app, g, render_template, request
from flask_limiter import Limiter
from flask_wtf.csrf import CSRFProtect
from sqlalchemy.orm import Session
from werkzeug.exceptions import HTTPException

import crypto
from portal import uploads
from portal.argon2_gate import Argon2BusyError, Argon2Gate
from portal.config import Config
from portal.db import make_engine, make_session_factory
from portal.services import clock
from portal.services.attachments import AttachmentStore
from portal.services.receipt_delays import DelayPolicy
from portal.uploads import EncryptingRequest, discard_unclaimed_uploads

csrf = CSRFProtect()
# Limits are keyed by what is being guessed (an account) or by the whole site; never by IP
# address, which this site does not record. Receipt codes meet a delay kept in the database
# instead (services/receipt_delays.py), and no limit locks reporters out site-wide.
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


def init_app(app: Flask, config: Config) -> None:
    engine = make_engine(config.database.url)
    app.extensions["candor.engine"] = engine
    app.extensions["candor.sessionmaker"] = make_session_factory(engine)
    app.extensions["candor.attachments"] = AttachmentStore(config.storage.attachments_dir)
    app.extensions["candor.clock"] = clock.settings_for(config)
    # One gate per process: a process's threads share its CPUs and memory.
    app.extensions["candor.argon2_gate"] = Argon2Gate(
        slots=config.security.argon2_concurrency,
        wait_seconds=config.security.argon2_queue_seconds,
        max_waiting=config.security.argon2_queue_max,
    )
    app.extensions["candor.receipt_delays"] = DelayPolicy.from_config(config.ratelimit)
    app.request_class = EncryptingRequest
    app.config["RATELIMIT_STORAGE_URI"] = config.ratelimit.storage_url
    # Before CSRF protection, which is the first to read a form: body limits come first.
    uploads.init_app(app, limiter)
    csrf.init_app(app)
    limiter.init_app(app)
    app.teardown_request(discard_unclaimed_uploads)
    app.teardown_appcontext(_close_session)
    app.after_request(_security_headers)
    app.register_error_handler(HTTPException, http_error_page)
    app.register_error_handler(crypto.DecryptionError, _integrity_error)
    app.register_error_handler(Argon2BusyError, _busy_error)
    app.context_processor(_template_globals)
    zone = ZoneInfo(config.site.timezone)
    app.add_template_filter(lambda value: value.astimezone(zone).strftime("%-d %B %Y"), "localdate")
    app.add_template_filter(
        lambda value: value.astimezone(zone).strftime("%-d %B %Y, %H:%M"), "localdatetime"
    )
    app.add_template_filter(local_time, "localtime")
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


def argon2_gate() -> Argon2Gate:
    gate: Argon2Gate = current_app.extensions["candor.argon2_gate"]
    return gate


def receipt_delay_policy() -> DelayPolicy:
    policy: DelayPolicy = current_app.extensions["candor.receipt_delays"]
    return policy


def local_time(value: datetime, now: datetime) -> str:
    """A moment in the site's time zone: the time alone if it falls on the same day there as
    ``now``, else with the date."""
    zone = ZoneInfo(app_config().site.timezone)
    local = value.astimezone(zone)
    if local.date() == now.astimezone(zone).date():
        return local.strftime("%H:%M")
    return local.strftime("%-d %B %Y, %H:%M")


BUSY_TEXT = (
    "The site is busy right now; nothing was lost and nothing was sent. Try again in a few seconds."
)


def busy_headers(error: Argon2BusyError) -> dict[str, str]:
    return {"Retry-After": str(error.retry_after_seconds)}


def _close_session(_exc: BaseException | None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.close()


def _security_headers(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


# Every error page says, in plain words, what happened, whether anything was lost, and what to
# do now; never a raw status title.
ERROR_PAGES: dict[int, tuple[str, str]] = {
    400: (
        "The form was not accepted",
        "The form could not be accepted, perhaps because it was open too long. Nothing was sent. "
        "Go back, reload the page and send it again; your browser may have kept what you typed.",
    ),
    401: (
        "Please sign in again",
        "Your session has ended, so nothing was changed. Sign in again and try once more.",
    ),
    403: (
        "Not allowed",
        "Your account may not do this, so nothing was changed. If you think it should, ask an "
        "administrator.",
    ),
    404: (
        "Page not found",
        "There is nothing at this address. Nothing was lost: check the address, or start again "
        "from the start page.",
    ),
    405: (
        "That did not work",
        "This page cannot be used that way, so nothing was changed. Go back and use the page's "
        "own buttons and links.",
    ),
    413: (
        "The upload is too large",
        "The upload is larger than this site accepts, so it was not received and nothing was "
        "sent. Go back, choose smaller or fewer files, and send again. Your browser may have "
        "kept what you typed.",
    ),
    429: (
        "Too many attempts",
        "There were too many attempts in a short time, so this one was not carried out and "
        "nothing was changed. Wait a few minutes, then try again.",
    ),
    500: (
        "Something went wrong",
        "Something went wrong on our side and this request was not completed; nothing was "
        "saved from it. Go back and try again in a moment. If it keeps happening, tell the "
        "organisation through another channel.",
    ),
    503: (
        "The site is busy",
        "The site is too busy to answer right now, so this request was not carried out and "
        "nothing was saved from it. Wait a few seconds, then try again.",
    ),
}


@dataclass(frozen=True)
class ErrorTitle:
    """What error.html shows as its heading."""

    name: str


SMALL_BODY_TEXT = (
    "This form sent more than this page accepts, so nothing was saved. Go back, shorten what "
    "you typed, and send it again."
)


def http_error_page(error: HTTPException) -> tuple[str, int, dict[str, str]]:
    code = error.code or 500
    title, text = ERROR_PAGES.get(
        code,
        (
            "That did not work",
            "The request could not be completed and nothing was changed. Go back and try again.",
        ),
    )
    text = getattr(error, "plain_text", None) or text
    if code == 413 and not uploads.takes_files(request.endpoint):
        title, text = "Too much was sent", SMALL_BODY_TEXT
    elif code == 413:
        text = f"{text} The limit is {app_config().storage.max_upload_mb} MB in all."
    retry_after = getattr(error, "retry_after", None)
    headers = {"Retry-After": str(retry_after)} if isinstance(retry_after, int) else {}
    return render_template("error.html", error=ErrorTitle(title), text=text), code, headers


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
    return render_template(
        "error.html", error=ErrorTitle("Content could not be verified"), text=text
    ), 500


def _busy_error(error: Argon2BusyError) -> tuple[str, int, dict[str, str]]:
    # Pages with something typed worth keeping catch this themselves and show the form again.
    page = render_template("error.html", error=ErrorTitle("The site is busy"), text=BUSY_TEXT)
    return page, 503, busy_headers(error)


def _template_globals() -> dict[str, Any]:
    config = app_config()
    return {"site_name": config.site.name, "clean_in_memory_mb": config.storage.clean_in_memory_mb}
