"""Languages: which ones the site speaks, how a page picks one, and the catalogue's words.

Every string a person reads goes through the functions here (``_``, ``_l``, ``_n``, ``N_``), and
templates use Jinja's ``{{ _("...") }}`` and ``{% trans %}``. The catalogues live in
``portal/translations/<code>/LC_MESSAGES/messages.po``; ``make translations`` compiles them (the
compiled ``.mo`` files are build outputs) and ``make messages`` extracts the strings again.

A page's language is, in order: the one the visitor chose with the language links (kept in the
session), else the browser's Accept-Language (used for that page only, never stored or logged),
else the site's default. Staff pages offer the staff languages only.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from flask import Flask, current_app, has_request_context, request, session
from flask_babel import Babel, force_locale, gettext, lazy_gettext, ngettext

if TYPE_CHECKING:
    from portal.config import Config

TRANSLATIONS_DIR = Path(__file__).resolve().parent / "translations"
# The session key that holds the language a visitor chose; its value is one of LANGUAGES' codes.
SESSION_KEY = "lang"
# The query parameter of the language links (``?lang=de``).
QUERY_KEY = "lang"


@dataclass(frozen=True)
class Language:
    code: str
    # The language's name in that language: a reporter looks for their own.
    name: str
    direction: str = "ltr"
    # Whether the staff pages are translated into it too.
    staff: bool = False
    # The Babel locale that writes its dates and numbers (English as written in Europe: "30
    # November 2026, 14:05").
    locale: str = ""

    @property
    def babel_locale(self) -> str:
        return self.locale or self.code


LANGUAGES: tuple[Language, ...] = (
    Language("en", "English", staff=True, locale="en_GB"),
    Language("de", "Deutsch", staff=True),
    Language("fr", "Français", staff=True),
    Language("es", "Español", staff=True),
    Language("it", "Italiano", staff=True),
    Language("nl", "Nederlands"),
    Language("pl", "Polski"),
    Language("pt", "Português"),
    Language("ro", "Română"),
    Language("sv", "Svenska"),
    Language("ar", "العربية", direction="rtl"),
    Language("tr", "Türkçe"),
)
BY_CODE = {language.code: language for language in LANGUAGES}
CODES = tuple(BY_CODE)
DEFAULT = "en"

# Which part of the site a catalogue entry belongs to, by where its string is written (the
# first prefix that matches). A catalogue's header comment says which parts it has complete
# ("# Complete: reporter, automatic, staff"); a test holds it to that.
PARTS = ("reporter", "automatic", "staff")
PART_OF_PATH: tuple[tuple[str, str], ...] = (
    # The admins' policy editor and preview: staff.
    ("portal/services/clock/event_words.py", "reporter"),
    ("portal/services/clock/policy_text.py", "staff"),
    ("portal/services/clock/versions.py", "staff"),
    ("portal/services/clock/preview.py", "staff"),
    ("portal/services/clock/holidays.py", "staff"),
    ("portal/services/clock/", "automatic"),
    ("portal/services/policies.py", "automatic"),
    ("portal/services/calendar.py", "automatic"),
    ("portal/policies/", "automatic"),
    ("portal/services/sitetext.py", "automatic"),
    ("portal/services/messaging.py", "automatic"),
    # The response templates' shipped texts, which reporters read in their thread.
    ("portal/services/response_templates/defaults.py", "automatic"),
    ("templates/reporter/", "reporter"),
    ("templates/base.html", "reporter"),
    ("templates/error.html", "reporter"),
    ("templates/_", "reporter"),
    ("portal/reporter/", "reporter"),
    ("portal/web.py", "reporter"),
    ("portal/i18n.py", "reporter"),
    ("portal/uploads.py", "reporter"),
    ("portal/intake_defaults.py", "reporter"),
    ("portal/services/intake.py", "reporter"),
    ("portal/services/drafts.py", "reporter"),
    ("portal/services/reporter_access.py", "reporter"),
    ("portal/services/receipt_delays.py", "reporter"),
    ("portal/services/lengths.py", "reporter"),
    ("portal/services/cleaning.py", "reporter"),
    ("portal/services/follow_ups.py", "reporter"),
    ("portal/services/errors.py", "reporter"),
    ("portal/services/quota.py", "reporter"),
    ("portal/services/reporting/", "reporter"),
    # The published policy (/policy and its PDF) is a reporter page.
    ("portal/services/policy_page/", "reporter"),
    ("portal/services/training_words.py", "reporter"),
)


def part_of(path: str) -> str:
    """The part of the site a string written in ``path`` (relative to the project) belongs to."""
    path = path.replace("\\", "/")
    for prefix, part in PART_OF_PATH:
        if path.startswith(prefix):
            return part
    return "staff"


# The catalogue's functions under their usual short names, typed. ``_l`` is lazy: for strings
# made at import time (form labels, module constants), translated each time they are shown (it
# acts as a str everywhere; str() of it is the text in the language of that moment).


def _(text: str, **variables: Any) -> str:
    """``text`` in the page's language; ``%(name)s`` placeholders filled from ``variables``."""
    return str(gettext(text, **variables))


def _l(text: str, **variables: Any) -> str:
    return cast(str, lazy_gettext(text, **variables))


def _n(singular: str, plural: str, num: int, **variables: Any) -> str:
    """The singular or plural (as the language counts) with ``%(num)d`` set to ``num``."""
    return str(ngettext(singular, plural, num, **variables))


def N_(text: str) -> str:
    """Marks ``text`` for the catalogue without translating it here (it is translated where it
    is shown, with ``_(value)``)."""
    return text


@contextmanager
def in_language(code: str | None) -> Iterator[None]:
    """Everything written inside is in ``code`` (such as a case's language), or the default."""
    with force_locale(BY_CODE[code if code in BY_CODE else site_default()].babel_locale):
        yield


def site_languages() -> tuple[Language, ...]:
    """The languages this site offers reporters, in the order the links show them."""
    config = _config()
    if config is None:
        return LANGUAGES
    return tuple(BY_CODE[code] for code in config.site.languages)


def staff_languages() -> tuple[Language, ...]:
    return tuple(language for language in site_languages() if language.staff)


def site_default() -> str:
    config = _config()
    return config.site.default_language if config is not None else DEFAULT


def _config() -> Config | None:
    try:
        config: Config = current_app.extensions["candor.config"]
    except (RuntimeError, KeyError):
        return None
    return config


def _offered() -> tuple[Language, ...]:
    """The languages this page may be in: staff pages have fewer."""
    if has_request_context() and request.blueprint in ("handler", "admin"):
        return staff_languages()
    return site_languages()


def select_locale() -> str:
    """The page's language: chosen, else the browser's first offered, else the default."""
    offered = _offered()
    codes = [language.code for language in offered]
    default = site_default()
    if not has_request_context():
        return BY_CODE[default].babel_locale
    chosen = session.get(SESSION_KEY)
    if chosen not in codes:
        if default not in codes:
            codes.insert(0, default)
        chosen = request.accept_languages.best_match(codes) or default
    return BY_CODE[str(chosen)].babel_locale


def current_language() -> Language:
    from flask_babel import get_locale

    locale = get_locale()
    code = locale.language if locale is not None else site_default()
    return BY_CODE.get(code, BY_CODE[DEFAULT])


def remember_choice() -> None:
    """``?lang=xx`` on any page: keep the choice in the session (the links carry it), if the page
    offers that language."""
    code = request.args.get(QUERY_KEY)
    if code is not None and code in {language.code for language in _offered()}:
        session[SESSION_KEY] = code


def clear_session() -> None:
    """Empty the session (signing in or out), keeping only the language the visitor chose: a
    choice from the site's own list, which says nothing about who they are."""
    chosen = session.get(SESSION_KEY)
    session.clear()
    if chosen is not None:
        session[SESSION_KEY] = chosen


def init_app(app: Flask) -> None:
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(TRANSLATIONS_DIR)
    Babel(app, locale_selector=select_locale, timezone_selector=_timezone)
    app.before_request(remember_choice)
    # WTForms' own messages ("This field is required.") in the page's language.
    app.config["WTF_I18N_ENABLED"] = True


def _timezone() -> str:
    config = _config()
    return config.site.timezone if config is not None else "UTC"
