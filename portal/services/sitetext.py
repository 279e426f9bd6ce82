"""Staff-edited rich text: the one place where HTML is sanitised (bleach)."""

from __future__ import annotations

import html
from datetime import datetime

import bleach
from markupsafe import Markup
from sqlalchemy.orm import Session

from portal.models import SiteText
from portal.services import audit

ALLOWED_TAGS = frozenset(
    {"p", "br", "strong", "em", "ul", "ol", "li", "a", "h2", "h3", "blockquote"}
)
ALLOWED_ATTRIBUTES = {"a": ["href", "title"]}
ALLOWED_PROTOCOLS = frozenset({"https", "http", "mailto", "tel"})

DEFAULTS = {
    "other_ways": (
        "<p>You may also report to a competent external authority, such as the authority for the "
        "area concerned or your country's whistleblowing authority, and in some cases publicly. "
        "Using this channel first is not required.</p>"
    ),
    # Sent in the reporter's thread when a complaint is not resolved within the policy's window
    # (seeds/000, line 12: the written notice of the external Dispute Resolution Officer /
    # Mediator, with "details about how to access them"). {duration} is the policy's window.
    "mediator_notice": (
        "<p>We have not been able to resolve your complaint to your satisfaction within "
        "{duration}. You have the option to pursue resolution of your complaint with our "
        "external Dispute Resolution Officer / Mediator. To reach them, reply here and we will "
        "give you their name and contact details straight away.</p>"
    ),
}
LABELS = {
    "other_ways": "Other ways to report (start page)",
    "mediator_notice": (
        "Notice of the external mediator (sent to the reporter by the clock): name the mediator "
        "and how to reach them; {duration} is replaced by the policy's time to resolve"
    ),
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


def get_source(session: Session, key: str) -> str:
    """The stored (already sanitised) HTML for ``key`` as plain text, for editing."""
    row = session.get(SiteText, key)
    return row.html if row is not None else DEFAULTS[key]


def get_text(session: Session, key: str) -> Markup:
    """Sanitised HTML for ``key``, or the built-in default, ready for a template."""
    row = session.get(SiteText, key)
    return sanitized_markup(row.html if row is not None else DEFAULTS[key])


def get_plain_text(
    session: Session, key: str, *, duration: str | None = None, language: str | None = None
) -> str:
    """The text for ``key`` without markup, for a message in a reporter's thread.

    With ``duration``, each ``{duration}`` in the text reads it: a notice takes the policy's
    time, not a number written once into the text that the policy may later contradict.
    """
    stripped = bleach.clean(get_source(session, key), tags=set(), strip=True)
    text = html.unescape(" ".join(stripped.split()))
    return text.replace("{duration}", duration) if duration is not None else text


def set_text(
    session: Session, key: str, html: str, now: datetime, actor_id: int | None = None
) -> None:
    """Store ``html`` sanitised, so that even the raw column never holds a script. Commits once.

    The change is audited, as staff with ``actor_id`` or else as the system (a command).
    """
    if key not in DEFAULTS:
        raise KeyError(key)
    row = session.get(SiteText, key)
    clean = sanitize_html(html)
    if row is None:
        session.add(SiteText(key=key, html=clean, updated_at=now))
    else:
        row.html, row.updated_at = clean, now
    audit.record(
        session,
        "site_text_changed",
        now=now,
        actor_id=actor_id,
        actor_kind="staff" if actor_id is not None else "system",
        detail=key,
    )
    session.commit()
