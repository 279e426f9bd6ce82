"""How much a case may store, and who may send files before a form is read.

Checked while a form's body is still arriving: these functions change nothing, so that the view
that runs afterwards sees the request exactly as it would have without them.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.models import Attachment, AuthorKind, Case, ReporterSession, StaffSession, User
from portal.services import tokens
from portal.services.attachments import AttachmentStore


def find_reporter_case(
    session: Session, token: str, *, now: datetime, idle: timedelta
) -> Case | None:
    """The case of a live reporter session, or None; read only.

    Only the session id is checked here (the cookie key is checked by the page itself): this
    decides whether an upload may be written to disk at all, so that a request without a live
    session cannot fill the disk before it is refused.
    """
    row = session.get(ReporterSession, tokens.token_hash(token))
    if row is None or now - row.last_seen_at > idle:
        return None
    return session.get(Case, row.case_id)


def reporter_storage_used(session: Session, case: Case, store: AttachmentStore) -> int:
    """Bytes the reporter's files take in the attachment store (encrypted, as stored).

    The plaintext sizes are sealed to the case key, so the server counts what it can see
    anyway: the encrypted files. Handlers' files do not count against the reporter's quota.
    """
    uids = session.scalars(
        select(Attachment.uid).where(
            Attachment.case_id == case.id, Attachment.author_kind == AuthorKind.REPORTER
        )
    )
    used = 0
    for uid in uids:
        try:
            used += store.stored_size(uid) or 0
        except ValueError:
            continue
    return used


def find_staff_handler(
    session: Session, token: str, *, now: datetime, idle: timedelta
) -> User | None:
    """The active handler of a live staff session with its second factor done, or None; read
    only, for the same reason as :func:`find_reporter_case`."""
    row = session.get(StaffSession, tokens.token_hash(token))
    if row is None or now - row.last_seen_at > idle or not row.second_factor_done:
        return None
    user = session.get(User, row.user_id)
    if user is None or not user.active or not user.is_handler:
        return None
    return user
