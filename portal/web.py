"""What every response shares: the database session per request, headers, CSRF and error pages."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask, Response, current_app, g, render_template
from flask_limiter import Limiter
from flask_wtf.csrf import CSRFProtect
from sqlalchemy.orm import Session
from werkzeug.exceptions import HTTPException

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


def init_app(app: Flask, config: Config) -> None:
    engine = make_engine(config.database.url)
    app.extensions["candor.engine"] = engine
    app.extensions["candor.sessionmaker"] = make_session_factory(
        engine, integrity_key=config.security.integrity_key
    )
    app.extensions["candor.attachments"] = AttachmentStore(config.storage.attachments_dir)
    app.extensions["candor.clock"] = clock.settings_for(config)
    app.request_class = EncryptingRequest
    app.config["RATELIMIT_STORAGE_URI"] = config.ratelimit.storage_url
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
    return response


ERROR_TEXTS = {
    413: "The upload is larger than this site accepts. Go back, choose smaller or fewer files, "
    "and send again. Your browser may have kept what you typed.",
    429: "Too many attempts. Wait a while before you try again.",
    400: "The form could not be accepted, perhaps because it was open too long. Go back, reload "
    "the page and send it again.",
}


def _http_error(error: HTTPException) -> tuple[str, int]:
    code = error.code or 500
    text = ERROR_TEXTS.get(code, error.description)
    if code == 413:
        text = f"{text} The limit is {app_config().storage.max_upload_mb} MB in all."
    return render_template("error.html", error=error, text=text), code


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
