"""Admins' own templates, one per kind and language, over the shipped defaults."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal import i18n
from portal.i18n import _
from portal.models import ResponseTemplate, User
from portal.services import audit
from portal.services.errors import InvalidInputError
from portal.services.response_templates.catalogue import KINDS, check_text
from portal.services.response_templates.defaults import DEFAULTS


@dataclass(frozen=True)
class TemplateState:
    """One kind in one language as the admin page lists it."""

    kind: str
    language: str
    text: str
    # Whether an admin's own text replaces the default; when and by whom it was last saved.
    own: bool
    updated_at: datetime | None = None
    updated_by: str | None = None


def _check(kind: str, language: str) -> None:
    if kind not in KINDS:
        raise InvalidInputError(_("Unknown kind of message."))
    if language not in i18n.BY_CODE:
        raise InvalidInputError(_("Unknown language."))


def default_text(kind: str, language: str) -> str:
    """The shipped default for ``kind``, in ``language`` as the catalogue has it."""
    with i18n.in_language(language):
        return _(DEFAULTS[kind])


def _row(session: Session, kind: str, language: str) -> ResponseTemplate | None:
    return session.scalar(
        select(ResponseTemplate).where(
            ResponseTemplate.kind == kind, ResponseTemplate.language == language
        )
    )


def template_text(session: Session, kind: str, language: str) -> str:
    """The text a handler starts from for ``kind`` in ``language``: the admin's own, else the
    shipped default in that language (never another language's own text: the reporter reads
    their language)."""
    _check(kind, language)
    row = _row(session, kind, language)
    return row.text if row is not None else default_text(kind, language)


def template_state(session: Session, kind: str, language: str) -> TemplateState:
    _check(kind, language)
    row = _row(session, kind, language)
    if row is None:
        return TemplateState(kind, language, default_text(kind, language), own=False)
    author = session.get(User, row.updated_by_id) if row.updated_by_id else None
    return TemplateState(
        kind,
        language,
        row.text,
        own=True,
        updated_at=row.updated_at,
        updated_by=author.display_name if author is not None else None,
    )


def list_templates(session: Session, languages: list[str]) -> list[TemplateState]:
    """Every kind in each of ``languages``, kind by kind, in one query."""
    rows = {
        (row.kind, row.language): row
        for row in session.scalars(
            select(ResponseTemplate).where(ResponseTemplate.language.in_(languages))
        )
    }
    author_ids = {r.updated_by_id for r in rows.values() if r.updated_by_id is not None}
    names: dict[int, str] = {
        user_id: name
        for user_id, name in session.execute(
            select(User.id, User.display_name).where(User.id.in_(author_ids))
        ).tuples()
    }
    states = []
    for kind in KINDS:
        for language in languages:
            row = rows.get((kind, language))
            if row is None:
                states.append(TemplateState(kind, language, "", own=False))
            else:
                states.append(
                    TemplateState(
                        kind,
                        language,
                        row.text,
                        own=True,
                        updated_at=row.updated_at,
                        updated_by=names.get(row.updated_by_id or 0),
                    )
                )
    return states


def save_template(
    session: Session, kind: str, language: str, text: str, *, actor: User, now: datetime
) -> None:
    """Keep ``text`` as the template for ``kind`` in ``language``, in place of the default.

    Refused (InvalidInputError, nothing stored) for a placeholder the site does not fill, so a
    reporter never reads a ``{typo}``. Audited; commits once.
    """
    _check(kind, language)
    text = check_text(text)
    row = _row(session, kind, language)
    if row is None:
        session.add(
            ResponseTemplate(
                kind=kind, language=language, text=text, updated_at=now, updated_by_id=actor.id
            )
        )
    else:
        row.text, row.updated_at, row.updated_by_id = text, now, actor.id
    audit.record(
        session,
        "response_template_saved",
        now=now,
        actor_id=actor.id,
        detail=f"{kind}:{language}",
    )
    session.commit()


def reset_template(
    session: Session, kind: str, language: str, *, actor: User, now: datetime
) -> bool:
    """Drop the admin's own template: handlers start from the default again. Audited; commits
    once; False (nothing recorded) when there was none."""
    _check(kind, language)
    row = _row(session, kind, language)
    if row is None:
        return False
    session.delete(row)
    audit.record(
        session,
        "response_template_reset",
        now=now,
        actor_id=actor.id,
        detail=f"{kind}:{language}",
    )
    session.commit()
    return True
