"""Telling the handlers who hold a case that something happened on it: a new report, the
reporter's message, an appeal.

Each handler chooses to be told at once or in the daily digest; a tier 1 (critical) case is told
at once whatever they chose, because someone may be in immediate danger. What is sent is a case
reference and a link, never content (see ``notifications``).
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.i18n import N_, _, in_language
from portal.models import Case, CaseExclusion, CaseKeyGrant, DigestEntry, DigestKind, User
from portal.services import notifications

if TYPE_CHECKING:
    from portal.services.clock import ClockSettings

# What each event says in an e-mail sent at once: whole sentences, no case content. Written in
# the site's default language (staff have none of their own on record).
NEWS = {
    DigestKind.REPORT: N_("a new report arrived"),
    DigestKind.MESSAGE: N_("the reporter wrote a new message"),
    DigestKind.APPEAL: N_("the reporter appealed the decision"),
}


def holders_to_tell(session: Session, case: Case) -> list[User]:
    """Active handlers who hold the case key, minus any the reporter excluded.

    An excluded handler never holds the key; the exclusion is checked again here so that no
    later grant can make the case's events reach them.
    """
    excluded = select(CaseExclusion.user_id).where(CaseExclusion.case_id == case.id)
    return list(
        session.scalars(
            select(User)
            .join(CaseKeyGrant, CaseKeyGrant.user_id == User.id)
            .where(
                CaseKeyGrant.case_id == case.id,
                User.active.is_(True),
                User.is_handler.is_(True),
                User.id.not_in(excluded),
            )
            .order_by(User.id)
        )
    )


def tell_holders(
    session: Session,
    case: Case,
    kind: DigestKind,
    settings: ClockSettings,
    *,
    now: datetime,
    what: str | None = None,
    skip: Collection[int] = (),
) -> int:
    """Tell each holder of ``case`` (but those in ``skip``, told otherwise) about ``kind``: at
    once, or as an entry of their next daily digest if they chose it and the case is not tier 1.

    Content-free: the e-mail carries the case reference and a link; a digest entry keeps only the
    case and the kind of event. Written in the caller's transaction. Returns how many were told
    at once. ``what``, when given, is already in the site's default language.
    """
    at_once = []
    for user in holders_to_tell(session, case):
        if user.id in skip or not user.email:
            continue
        if user.notify_by_digest and case.tier != 1:
            session.add(DigestEntry(user_id=user.id, case_id=case.id, kind=kind, created_at=now))
        else:
            at_once.append(user)
    if what is None:
        with in_language(None):
            what = _(NEWS[kind])
    return notifications.notify_users(session, at_once, settings, case=case, what=what, now=now)
