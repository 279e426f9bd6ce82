"""What a handler's opening of a case page records: when they last saw it (the inbox's
"unread" mark) and, once per staff session, a "case opened" audit entry.

The set of cases a session has opened is kept server side, in ``case_openings`` keyed by the
staff session's id hash, rather than in the signed cookie: the cookie stays small whatever the
number of cases opened, the set cannot be replayed or trimmed by the client to skip or repeat
entries, and it goes with the session row when the session ends (sign-out, idle expiry or an
admin stopping the account), so the next session audits its first opening again.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.models import Case, CaseOpening, CaseView, User
from portal.services import audit


def record_opening(
    session: Session,
    handler: User,
    case: Case,
    *,
    session_id_hash: bytes | None,
    now: datetime,
) -> bool:
    """Note that ``handler`` opened ``case`` now; audit it if this staff session has not yet.

    Returns whether "case opened" was audited. With no session (a service called outside a
    request) every opening is audited, as before sessions were counted. Does not commit: the
    caller's one commit keeps the audit entry and the session's set together.
    """
    view = session.get(CaseView, (handler.id, case.id))
    if view is None:
        session.add(CaseView(user_id=handler.id, case_id=case.id, last_opened_at=now))
    elif view.last_opened_at < now:
        view.last_opened_at = now
    if session_id_hash is not None:
        seen = session.scalar(
            select(CaseOpening.case_id).where(
                CaseOpening.session_id_hash == session_id_hash, CaseOpening.case_id == case.id
            )
        )
        if seen is not None:
            return False
        session.add(CaseOpening(session_id_hash=session_id_hash, case_id=case.id))
    audit.record(session, "case_opened", now=now, actor_id=handler.id, case_id=case.id)
    return True
