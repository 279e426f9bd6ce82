"""Staff-edited rich text: the one place where HTML is sanitised (bleach)."""

from __future__ import annotations

from datetime import datetime

import bleach
from sqlalchemy.orm import Session

from portal.models import SiteText

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


def get_text(session: Session, key: str) -> str:
    """Sanitised HTML for ``key``, or the built-in default."""
    row = session.get(SiteText, key)
    return sanitize_html(row.html if row is not None else DEFAULTS[key])


def set_text(session: Session, key: str, html: str, now: datetime) -> None:
    if key not in DEFAULTS:
        raise KeyError(key)
    row = session.get(SiteText, key)
    clean = sanitize_html(html)
    if row is None:
        session.add(SiteText(key=key, html=clean, updated_at=now))
    else:
        row.html, row.updated_at = clean, now
    session.commit()
