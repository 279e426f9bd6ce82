"""What every response shares: the database session per request, headers, CSRF and error pages."""

from __future__ import annotations

import contextlib
import logging
import socket
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import babel.dates
import flask_babel
from flask import Flask, Response, current_app, g, make_response, render_template, request
from flask_limiter import Limiter
from flask_wtf.csrf import CSRFProtect
from markupsafe import Markup, escape
from sqlalchemy import Engine
from sqlalchemy.exc import InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session
from werkzeug.exceptions import BadRequest, HTTPException
from werkzeug.routing import IntegerConverter, Map
from wtforms.validators import Length

import crypto
from portal import i18n, uploads
from portal.argon2_gate import Argon2BusyError, Argon2Gate
from portal.config import Config
from portal.db import make_engine, make_session_factory
from portal.i18n import _, _l, _n
from portal.services import clock, masking, site_settings
from portal.services.attachments import (
    AttachmentMissingError,
    AttachmentStore,
    DatabaseStore,
    FolderStore,
    StoreUnavailableError,
)
from portal.services.lengths import too_long_message
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


class SecretLength(Length):
    """A maximum length for a secret field, checked on the server before any Argon2id work.

    Unlike ``Length`` it puts no ``maxlength`` on the input: a browser would silently cut a longer
    pasted passphrase or password, and the person would never learn why it did not match.
    """

    def __init__(self, name: str, limit: int) -> None:
        super().__init__(max=limit, message=too_long_message(name, limit))
        self.field_flags = {}


class IdConverter(IntegerConverter):
    """``<int:...>`` in a URL: only ASCII digits, and only ids the database can hold (else 404)."""

    regex = r"[0-9]{1,10}"

    def __init__(self, url_map: Map, fixed_digits: int = 0) -> None:
        super().__init__(url_map, fixed_digits=fixed_digits, min=1, max=MAX_ID)


def attachment_store_for(config: Config, engine: Engine) -> AttachmentStore:
    """The configured attachment store: the local folder, or the database all instances share."""
    if config.storage.backend == "database":
        return DatabaseStore(engine)
    return FolderStore(config.storage.attachments_dir)


def init_app(app: Flask, config: Config) -> None:
    # Before any blueprint registers a rule, so that every `<int:...>` part is bounded.
    app.url_map.converters["int"] = IdConverter
    engine = make_engine(config.database.url)
    app.extensions["candor.engine"] = engine
    app.extensions["candor.sessionmaker"] = make_session_factory(
        engine, integrity_key=config.security.integrity_key
    )
    app.extensions["candor.attachments"] = attachment_store_for(config, engine)
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
    # Flask-Limiter's INFO line for a refused request names the limit's key, which is the receipt
    # code being guessed (or a username): kept out of the log at any level a deployment sets.
    logging.getLogger("flask-limiter").setLevel(logging.WARNING)
    app.before_request(_refuse_nul_characters)
    csrf.init_app(app)
    limiter.init_app(app)
    app.teardown_request(discard_unclaimed_uploads)
    app.teardown_appcontext(_close_session)
    app.after_request(_security_headers)
    app.register_error_handler(HTTPException, http_error_page)
    app.register_error_handler(crypto.DecryptionError, _integrity_error)
    app.register_error_handler(AttachmentMissingError, _missing_attachment)
    app.register_error_handler(Argon2BusyError, _busy_error)
    app.register_error_handler(OperationalError, database_unavailable)
    app.register_error_handler(InterfaceError, database_unavailable)
    app.register_error_handler(StoreUnavailableError, _store_unavailable)
    app.context_processor(_template_globals)
    i18n.init_app(app)
    app.add_template_filter(local_date, "localdate")
    app.add_template_filter(local_datetime, "localdatetime")
    app.add_template_filter(local_time, "localtime")
    app.add_template_filter(format_number, "number")
    app.add_template_filter(capfirst, "capfirst")
    app.add_template_filter(mid_sentence, "mid_sentence")
    app.add_template_filter(_filesize, "filesize")
    app.add_template_filter(_duration, "duration")
    app.add_template_filter(_redaction_marks, "redaction_marks")


def _redaction_marks(text: str, phrases: Sequence[str]) -> Markup:
    """``text`` with the words redacted for others highlighted, for a handler who sees them.
    Every piece is escaped: the text stays the reporter's or a handler's, never markup."""
    return Markup("").join(
        Markup('<mark class="redacted">%s</mark>') % piece if marked else escape(piece)
        for piece, marked in masking.spans(text, phrases)
    )


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
    """The clock's settings with the admin's choice of holidays, read once per request."""
    if "clock_settings" not in g:
        base: clock.ClockSettings = current_app.extensions["candor.clock"]
        # Notifications queued by this request name the site as its admins call it now.
        base = replace(base, site_name=site_look().name)
        g.clock_settings = clock.with_holidays(db_session(), base)
    settings: clock.ClockSettings = g.clock_settings
    return settings


def argon2_profile() -> crypto.Argon2Profile:
    return crypto.PROFILES[app_config().security.argon2_profile]


def argon2_gate() -> Argon2Gate:
    """The process's Argon2id gate, for this request: under gunicorn, a request that waited for a
    slot gives up without the work if its client has closed the connection meanwhile."""
    gate: Argon2Gate = current_app.extensions["candor.argon2_gate"]
    client = request.environ.get("gunicorn.socket")
    if isinstance(client, socket.socket):
        return gate.for_client(lambda: client_connected(client))
    return gate


def client_connected(client: socket.socket) -> bool:
    """Whether the peer of ``client`` still has the connection open, without blocking: a peek
    that reads b"" means it closed (bytes, or nothing to read yet, mean it is there)."""
    try:
        return client.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) != b""
    except (BlockingIOError, InterruptedError):
        return True
    except OSError:
        return False


def receipt_delay_policy() -> DelayPolicy:
    policy: DelayPolicy = current_app.extensions["candor.receipt_delays"]
    return policy


def local_date(value: datetime) -> str:
    """A day, written for the page's language, in the site's time zone ("30 November 2026")."""
    return str(flask_babel.format_date(value, "long"))


def local_datetime(value: datetime) -> str:
    """A moment, written for the page's language, in the site's time zone: the long date and
    the short time, joined as the language joins them ("30 November 2026, 14:05")."""
    locale = flask_babel.get_locale() or i18n.BY_CODE[i18n.DEFAULT].babel_locale
    pattern = babel.dates.get_datetime_format("medium", locale=locale)
    time = str(flask_babel.format_time(value, "short"))
    return str(pattern).replace("{1}", local_date(value)).replace("{0}", time)


def local_time(value: datetime, now: datetime) -> str:
    """A moment in the site's time zone: the time alone if it falls on the same day there as
    ``now``, else with the date."""
    zone = _zone()
    if value.astimezone(zone).date() == now.astimezone(zone).date():
        return str(flask_babel.format_time(value, "short"))
    return local_datetime(value)


def capfirst(value: object) -> str:
    """The text with its first letter upper-case and the rest as written (Jinja's ``capitalize``
    lower-cases the rest, which breaks German nouns and names); Turkish "i" becomes "İ"."""
    text = str(value)
    first = text[:1]
    if first == "i" and i18n.current_language().code == "tr":
        return "İ" + text[1:]
    return first.upper() + text[1:]


def mid_sentence(value: object) -> str:
    """A label ("Fraud") as it reads inside a sentence: lower-case where the language writes
    common nouns so ("fraud"); German keeps its capitals, Turkish lower-cases "I" as dotless i."""
    text = str(value)
    code = i18n.current_language().code
    if code == "de":
        return text
    if code == "tr":
        text = text.replace("I", "\u0131").replace("\u0130", "i")
    return text.lower()


def format_number(value: float) -> str:
    return str(flask_babel.format_decimal(value))


def _zone() -> ZoneInfo:
    return ZoneInfo(app_config().site.timezone)


BUSY_TEXT = _l(
    "The site is busy right now; nothing was lost and nothing was sent. Try again in a few seconds."
)


def busy_headers(error: Argon2BusyError) -> dict[str, str]:
    return {"Retry-After": str(error.retry_after_seconds)}


# The database went away (restarted, failed over, its disk full, a network cut): a page asks
# to try again in a moment rather than a 500, and the next request finds it again by itself.
DATABASE_RETRY_SECONDS = 30
DATABASE_DOWN_TITLE = _l("Not saved yet: try again in a moment")
DATABASE_DOWN_TEXT = _l(
    "The site could not reach its database just now, so nothing was saved. Go back and try "
    "again in a minute."
)


def forget_database_connections() -> None:
    """Drop this request's session and every pooled connection after the database failed.

    A connection that failed mid-transaction may be dead (PostgreSQL restarted or the backend
    was terminated) or left in a state no later request should inherit; pre-ping would find a
    dead one at the next checkout, and disposing of the pool finds every other one now. Nothing
    the failed transaction wrote was committed: each use case commits once, at its end.
    """
    session = g.pop("db_session", None)
    if session is not None:
        # The connection may be gone already; closing below releases it either way.
        with contextlib.suppress(SQLAlchemyError):
            session.rollback()
        session.close()
    g.pop("site_settings", None)
    g.pop("clock_settings", None)
    factory = current_app.extensions["candor.sessionmaker"]
    engine = factory.kw.get("bind")
    if isinstance(engine, Engine):
        engine.dispose()


def database_unavailable(_error: SQLAlchemyError) -> tuple[str, int, dict[str, str]]:
    # Logged without the statement's parameters (make_engine hides them); the type is enough.
    logging.getLogger("candor.database").warning(
        "database unavailable: %s", type(getattr(_error, "orig", _error)).__name__
    )
    forget_database_connections()
    page = render_template(
        "error.html", error=ErrorTitle(str(DATABASE_DOWN_TITLE)), text=str(DATABASE_DOWN_TEXT)
    )
    return page, 503, {"Retry-After": str(DATABASE_RETRY_SECONDS)}


def _store_unavailable(_error: StoreUnavailableError) -> tuple[str, int, dict[str, str]]:
    # Pages with something typed worth keeping catch this themselves and show the form again.
    page = render_template(
        "error.html", error=ErrorTitle(_("Not saved")), text=str(uploads.STORE_FAILED_TEXT)
    )
    return page, 503, {"Retry-After": str(DATABASE_RETRY_SECONDS)}


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


# Every error page says, in plain words, what happened, whether anything was lost, and what to
# do now; never a raw status title.
ERROR_PAGES: dict[int, tuple[str, str]] = {
    400: (
        _l("The form was not accepted"),
        _l(
            "The form could not be accepted, perhaps because it was open too long. Nothing "
            "was sent. Go back, reload the page and send it again; your browser may have "
            "kept what you typed."
        ),
    ),
    401: (
        _l("Please sign in again"),
        _l("Your session has ended, so nothing was changed. Sign in again and try once more."),
    ),
    403: (
        _l("Not allowed"),
        _l(
            "Your account may not do this, so nothing was changed. If you think it should, "
            "ask an administrator."
        ),
    ),
    404: (
        _l("Page not found"),
        _l(
            "There is nothing at this address. Nothing was lost: check the address, or "
            "start again from the start page."
        ),
    ),
    405: (
        _l("That did not work"),
        _l(
            "This page cannot be used that way, so nothing was changed. Go back and use the "
            "page's own buttons and links."
        ),
    ),
    413: (
        _l("The upload is too large"),
        _l(
            "The upload is larger than this site accepts, so it was not received and "
            "nothing was sent. Go back, choose smaller or fewer files, and send again. Your "
            "browser may have kept what you typed."
        ),
    ),
    429: (
        _l("Too many attempts"),
        _l(
            "There were too many attempts in a short time, so this one was not carried out "
            "and nothing was changed. Wait a few minutes, then try again."
        ),
    ),
    # An unexpected error: the services commit once at the end, so a request that failed before
    # then saved nothing; one that failed after may have been saved, and the text says both.
    500: (
        _l("Something went wrong"),
        _l(
            "Something went wrong on our side and this page could not be shown. What you "
            "just sent may not have been saved; anything you sent before is safe. Go back, "
            "keep a copy of any text you typed, check whether it arrived, and if not send "
            "it again in a few minutes."
        ),
    ),
    503: (
        _l("The site is busy"),
        _l(
            "The site is too busy to answer right now, so this request was not carried out "
            "and nothing was saved from it. Wait a few seconds, then try again."
        ),
    ),
}


@dataclass(frozen=True)
class ErrorTitle:
    """What error.html shows as its heading."""

    name: str


SMALL_BODY_TEXT = _l(
    "This form sent more than this page accepts, so nothing was saved. Go back, shorten what "
    "you typed, and send it again."
)


class NulCharacterError(BadRequest):
    """A NUL character in the address or a form field: no person types one."""

    text = _l(
        "The form or address contained a character that this site does not accept (a NUL "
        "character, which no keyboard types). Nothing was saved. Go back, retype the text or "
        "paste it again as plain text, and send it again."
    )


def _refuse_nul_characters() -> None:
    # PostgreSQL refuses NUL in text, so a NUL that reached a query or a stored value would be a
    # 500 there and stored on SQLite; no person types one, so refuse the request before any view.
    fields = [request.path]
    for key, value in request.args.items(multi=True):
        fields += [key, value]
    if request.method == "POST":
        for key, value in request.form.items(multi=True):
            fields += [key, value]
    if any("\x00" in field for field in fields):
        raise NulCharacterError()


def http_error_page(error: HTTPException) -> Response:
    code = error.code or 500
    title, text = ERROR_PAGES.get(
        code,
        (
            _l("That did not work"),
            _l(
                "The request could not be completed and nothing was changed. Go back and try again."
            ),
        ),
    )
    text = getattr(error, "plain_text", None) or getattr(error, "text", None) or text
    if code == 503 and error.description and error.description != type(error).description:
        text = error.description  # raised with its own words, such as how long to wait
    if code == 413 and not uploads.takes_files(request.endpoint):
        title, text = _l("Too much was sent"), SMALL_BODY_TEXT
    elif code == 413:
        limit = _("The limit is %(size)s MB in all.", size=app_config().storage.max_upload_mb)
        text = f"{text} {limit}"
    page = render_template("error.html", error=ErrorTitle(str(title)), text=str(text))
    response = make_response(page, code)
    # Keep what the error itself says to the browser (Allow on a 405, Retry-After on a 503).
    for name, value in error.get_headers():
        if name.lower() != "content-type":
            response.headers[name] = value
    retry_after = getattr(error, "retry_after", None)
    if isinstance(retry_after, int):
        response.headers["Retry-After"] = str(retry_after)
    return response


def _duration(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return _n("%(num)d day %(hours)d h", "%(num)d days %(hours)d h", days, hours=hours)
    if hours:
        return _("%(hours)d h %(minutes)d min", hours=hours, minutes=minutes)
    return _("%(minutes)d min", minutes=minutes)


def _filesize(size: int) -> str:
    if size < 1024:
        return _n("%(num)d byte", "%(num)d bytes", size)
    for unit in ("KB", "MB", "GB"):
        size /= 1024  # type: ignore[assignment]
        if size < 1024 or unit == "GB":
            amount = flask_babel.format_decimal(round(size, 1), "#,##0.0")
            return _("%(amount)s %(unit)s", amount=amount, unit=unit)
    raise AssertionError("unreachable")


def _integrity_error(_error: crypto.DecryptionError) -> tuple[str, int]:
    current_app.logger.warning("refused a page: stored content failed its integrity check")
    # Refuse the whole page: nothing that fails to verify is shown, not even the parts that do.
    text = _(
        "Some of this content failed its integrity check, so none of it is shown. "
        "This can mean that stored data was altered; if it persists, tell the organisation "
        "through another channel."
    )
    return render_template(
        "error.html", error=ErrorTitle(_("Content could not be verified")), text=text
    ), 500


def _missing_attachment(_error: AttachmentMissingError) -> tuple[str, int]:
    # Raised before any byte of a download or an export goes out, so a page can still be shown.
    current_app.logger.warning("refused a download: an attachment's stored file is missing")
    text = _(
        "This file is no longer in the site's storage, so it cannot be downloaded. The rest of "
        "the case is unaffected. If it persists, tell the organisation through another channel."
    )
    return render_template("error.html", error=ErrorTitle(_("File not available")), text=text), 404


def _busy_error(error: Argon2BusyError) -> tuple[str, int, dict[str, str]]:
    # Pages with something typed worth keeping catch this themselves and show the form again.
    page = render_template("error.html", error=ErrorTitle(_("The site is busy")), text=BUSY_TEXT)
    return page, 503, busy_headers(error)


def current_settings() -> site_settings.SiteSettings:
    """The site's effective settings (configuration overridden by admins), read once a request."""
    if "site_settings" not in g:
        g.site_settings = site_settings.current(db_session(), app_config())
    settings: site_settings.SiteSettings = g.site_settings
    return settings


def intake_settings() -> site_settings.EffectiveIntake:
    """Categories, intake questions and reporter groups as they are now (admins may edit them),
    their labels in the page's language. ``current_settings().intake`` has them as written."""
    return site_settings.localised_intake(current_settings(), i18n.current_language().code)


def site_look() -> site_settings.SiteLook:
    return current_settings().look


def _template_globals() -> dict[str, Any]:
    config = app_config()
    try:
        look = site_look()
    except SQLAlchemyError:
        # An error page about the database itself still renders, with the configured name.
        look = site_settings.SiteLook(name=config.site.name)
    language = i18n.current_language()
    return {
        "language": language,
        # Words from data that the catalogue may hold (a preset policy's title or label, a
        # shipped category): in the page's language, else as written. Never Jinja's own ``_`` on
        # a value, which would take it as markup (unescaped) and as a format string.
        "translated": _,
        "language_links": _language_links,
        "site_name": look.name,
        "site_look": look,
        "clean_in_memory_mb": config.storage.clean_in_memory_mb,
        "emergency_number": config.site.emergency_number,
    }


@dataclass(frozen=True)
class LanguageLink:
    language: i18n.Language
    url: str
    current: bool


def _language_links(staff: bool = False) -> list[LanguageLink]:
    """A link to this page in each offered language (``?lang=xx``, kept in the session).

    Each link is the query alone, which the browser resolves against the page's own address: the
    page does not repeat its path (an activation link's token, a case's reference), so two pages
    that must read the same (two missing cases) do.
    """
    current = i18n.current_language().code
    offered = i18n.staff_languages() if staff else i18n.site_languages()
    args = request.args.to_dict()
    links = []
    for language in offered:
        args[i18n.QUERY_KEY] = language.code
        query = "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in args.items())
        links.append(LanguageLink(language, f"?{query}", language.code == current))
    return links
