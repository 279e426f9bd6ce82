"""Staff-edited rich text: the one place where HTML is sanitised (bleach).

Each text may be given per language. The default language's text is stored under its key
("other_ways"), another language's under the key and the language ("other_ways:de"). A reader in
a language gets that language's own text if an admin gave one, else the default language's stored
text, else the built-in default (``DEFAULTS``) in the reader's language from the catalogue.
"""

from __future__ import annotations

import html
import threading
from datetime import datetime

import bleach
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal import i18n
from portal.i18n import N_, _
from portal.models import SiteText
from portal.services import audit
from portal.services.policy_page.texts import POLICY_TEXTS

ALLOWED_TAGS = frozenset(
    {"p", "br", "strong", "em", "ul", "ol", "li", "a", "h2", "h3", "blockquote"}
)
ALLOWED_ATTRIBUTES = {"a": ["href", "title"]}
ALLOWED_PROTOCOLS = frozenset({"https", "http", "mailto", "tel"})

DEFAULTS = {
    # The start page's welcome: empty means the built-in introduction (in the catalogue, in every
    # language); an admin's text, per language, takes its place.
    "welcome": "",
    # NOTE: HTML shown on the start page; keep the <p> and </p> tags as they are.
    "other_ways": N_(
        "<p>You may also report to a competent external authority, such as the authority for the "
        "area concerned or your country's whistleblowing authority, and in some cases publicly. "
        "Using this channel first is not required.</p>"
    ),
    # Sent in the reporter's thread when a complaint is not resolved within the policy's window
    # (seeds/000, line 12: the written notice of the external Dispute Resolution Officer /
    # Mediator, with "details about how to access them"). {duration} is the policy's window.
    # NOTE: keep {duration} as it is (the site writes the policy's time there) and the <p> tags.
    "mediator_notice": N_(
        "<p>We have not been able to resolve your complaint to your satisfaction within "
        "{duration}. You have the option to pursue resolution of your complaint with our "
        "external Dispute Resolution Officer / Mediator. To reach them, reply here and we will "
        "give you their name and contact details straight away.</p>"
    ),
    # The sections of the published policy (/policy) that only people can write.
    **POLICY_TEXTS,
}


def sanitize_html(html: str) -> str:
    """Keep only simple formatting and links; strip scripts, styles, event handlers and the rest."""
    clean: str = bleach.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        protocols=ALLOWED_PROTOCOLS,
        strip=True,
    )
    return clean


def sanitized_markup(html: str) -> Markup:
    """``html`` sanitised and marked safe for templates: the only place staff text is trusted.

    Templates autoescape everything else; this is what lets the kept formatting and links show
    as formatting rather than as tags.
    """
    return Markup(sanitize_html(html))  # noqa: S704  (bleach has just removed everything unsafe)


def _language(language: str | None) -> str:
    """``language`` if the site knows it, else the language of the moment (the page's, or the
    one an ``in_language`` block chose, or the site's default)."""
    if language is not None and language in i18n.BY_CODE:
        return language
    return i18n.current_language().code


def row_key(key: str, language: str | None) -> str:
    """Where ``key``'s text in ``language`` is stored: the bare key for the default language."""
    code = _language(language)
    return key if code == i18n.site_default() else f"{key}:{code}"


def has_own_text(session: Session, key: str, language: str | None) -> bool:
    """Whether an admin gave ``key`` a text of its own in ``language``."""
    if key not in DEFAULTS:
        raise KeyError(key)
    return session.get(SiteText, row_key(key, language)) is not None


def get_source(session: Session, key: str, language: str | None = None) -> str:
    """The (already sanitised) HTML a reader in ``language`` gets for ``key``, for editing or
    showing: the language's own text, else the default language's, else the built-in default
    in that language."""
    code = _language(language)
    for stored in dict.fromkeys((row_key(key, code), key)):
        row = session.get(SiteText, stored)
        if row is not None:
            return row.html
    if not DEFAULTS[key]:
        return ""
    with i18n.in_language(code):
        return _(DEFAULTS[key])


def get_text(session: Session, key: str, language: str | None = None) -> Markup:
    """Sanitised HTML for ``key`` in ``language`` (by default the page's), ready for a template."""
    return sanitized_markup(get_source(session, key, language))


# Sanitising is the costly part of showing a text (bleach parses the HTML), and texts change
# only when an admin edits one; so each process keeps the sanitised result of each source text
# it has shown, keyed by the source itself. The rows are still read on every page (one query),
# so an edit made through any instance is shown by every other on its next request, and a
# cached result can never be stale.
_cache_lock = threading.Lock()
_sanitised: dict[str, Markup] = {}
_CACHE_MAX = 512


def _sanitised_cached(source: str) -> Markup:
    with _cache_lock:
        found = _sanitised.get(source)
    if found is not None:
        return found
    clean = sanitized_markup(source)
    with _cache_lock:
        if len(_sanitised) >= _CACHE_MAX:
            _sanitised.clear()
        _sanitised[source] = clean
    return clean


def get_texts(session: Session, *keys: str, language: str | None = None) -> dict[str, Markup]:
    """``get_text`` for each of ``keys``, reading their rows in one query and sanitising each
    source text once per process."""
    code = _language(language)
    for key in keys:
        if key not in DEFAULTS:
            raise KeyError(key)
    wanted = {stored for key in keys for stored in (row_key(key, code), key)}
    rows: dict[str, str] = {
        stored: source
        for stored, source in session.execute(
            select(SiteText.key, SiteText.html).where(SiteText.key.in_(wanted))
        )
    }
    texts: dict[str, Markup] = {}
    for key in keys:
        source = rows.get(row_key(key, code), rows.get(key))
        if source is None:
            if DEFAULTS[key]:
                with i18n.in_language(code):
                    source = _(DEFAULTS[key])
            else:
                source = ""
        texts[key] = _sanitised_cached(source)
    return texts


def get_plain_text(
    session: Session, key: str, *, duration: str | None = None, language: str | None = None
) -> str:
    """The text for ``key`` in ``language`` without markup, for a message in a reporter's thread.

    With ``duration``, each ``{duration}`` in the text reads it: a notice takes the policy's
    time, not a number written once into the text that the policy may later contradict.
    """
    stripped = bleach.clean(get_source(session, key, language), tags=set(), strip=True)
    text = html.unescape(" ".join(stripped.split()))
    return text.replace("{duration}", duration) if duration is not None else text


def set_text(
    session: Session,
    key: str,
    html: str,
    now: datetime,
    actor_id: int | None = None,
    language: str | None = None,
) -> None:
    """Store ``html`` sanitised as ``key``'s text in ``language`` (by default the site's default
    language), so that even the raw column never holds a script. Commits once.

    The change is audited, as staff with ``actor_id`` or else as the system (a command).
    """
    if key not in DEFAULTS:
        raise KeyError(key)
    stored = key if language is None else row_key(key, language)
    row = session.get(SiteText, stored)
    clean = sanitize_html(html)
    if row is None:
        session.add(SiteText(key=stored, html=clean, updated_at=now))
    else:
        row.html, row.updated_at = clean, now
    audit.record(
        session,
        "site_text_changed",
        now=now,
        actor_id=actor_id,
        actor_kind="staff" if actor_id is not None else "system",
        detail=stored,
    )
    session.commit()


def remove_text(
    session: Session, key: str, language: str, now: datetime, actor_id: int | None = None
) -> bool:
    """Drop ``key``'s own text in ``language``: readers in it get the fallback again. Commits
    once, audited like an edit; False (and nothing recorded) when there was none."""
    if key not in DEFAULTS:
        raise KeyError(key)
    stored = row_key(key, language)
    row = session.get(SiteText, stored)
    if row is None:
        return False
    session.delete(row)
    audit.record(
        session,
        "site_text_removed",
        now=now,
        actor_id=actor_id,
        actor_kind="staff" if actor_id is not None else "system",
        detail=stored,
    )
    session.commit()
    return True
