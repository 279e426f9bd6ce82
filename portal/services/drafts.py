"""A handler's unsent reply or note, kept across a new sign-in without being readable meanwhile.

When a staff session ends while a handler is typing, the post that follows cannot be acted on.
Rather than lose the text, the server seals it to the case's public key (which it holds) and
hands the handler's browser a token; after the next sign-in, the handler's own case key opens it
again on the case page. Neither the token alone nor a copy of the database reveals the text.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from portal.models import Case, StaffDraft
from portal.services import contexts, integrity, tokens

# Long enough to cover a night's sleep; short enough that forgotten drafts do not pile up.
DRAFT_LIFETIME = timedelta(hours=24)
KINDS = frozenset({"reply", "note"})
MAX_DRAFT_LENGTH = 20_000


@dataclass(frozen=True)
class Draft:
    kind: str
    body: str
    created_at: datetime


def keep_draft(
    session: Session, case_uid: str, kind: str, body: str, *, now: datetime
) -> str | None:
    """Seal ``body`` to the case's public key and return the token that finds it again.

    Security property: the server cannot read what it keeps (sealed to the case key), and only
    the browser that posted it holds the token. Returns None when there is nothing to keep, or
    no such case (the same answer either way). Commits once.
    """
    if kind not in KINDS or not body.strip():
        return None
    case = session.scalar(select(Case).where(Case.uid == case_uid))
    if case is None:
        return None
    token = secrets.token_urlsafe(32)
    uid = secrets.token_hex(16)
    sealed_body, tag = integrity.seal_item(
        session,
        integrity.case_public_key(session, case),
        body[:MAX_DRAFT_LENGTH].encode(),
        contexts.staff_draft(case.uid, uid),
        kind.encode(),
    )
    session.add(
        StaffDraft(
            id_hash=tokens.token_hash(token),
            uid=uid,
            case_id=case.id,
            kind=kind,
            sealed_body=sealed_body,
            tag=tag,
            created_at=now,
        )
    )
    session.commit()
    return token


def take_drafts(
    session: Session,
    draft_tokens: list[str],
    case: Case,
    case_private_key: bytes,
    *,
    now: datetime,
) -> tuple[list[Draft], list[str]]:
    """Open and forget this case's drafts among ``draft_tokens``.

    Returns the drafts (oldest first) and the tokens that belong to other cases, which the caller
    keeps. A draft that fails to open, or whose tag shows a database writer forged or altered
    it, raises ``DecryptionError`` (the integrity page): nothing is half-shown. Expired drafts
    are removed. Commits once.
    """
    session.execute(delete(StaffDraft).where(StaffDraft.created_at < now - DRAFT_LIFETIME))
    by_hash = {tokens.token_hash(t): t for t in draft_tokens}
    rows = (
        session.scalars(
            select(StaffDraft)
            .where(StaffDraft.id_hash.in_(list(by_hash)))
            .order_by(StaffDraft.created_at)
        ).all()
        if by_hash
        else []
    )
    found = {row.id_hash for row in rows}
    keep = [t for h, t in by_hash.items() if h in found]
    drafts: list[Draft] = []
    for row in rows:
        if row.case_id != case.id:
            continue
        body = integrity.open_item(
            session,
            case_private_key,
            row.sealed_body,
            row.tag,
            contexts.staff_draft(case.uid, row.uid),
            row.kind.encode(),
        ).decode()
        drafts.append(Draft(kind=row.kind, body=body, created_at=row.created_at))
        keep.remove(by_hash[row.id_hash])
        session.delete(row)
    session.commit()
    return drafts, keep
