"""What a worker's chunk reads once for all its cases: keyholders and open deadlines.

A chunk of due deadlines is acted on in one transaction; rather than a query per deadline, it
reads the keyholders and the open deadlines of all its cases up front and keeps them in the
session until the transaction ends. Outside a chunk the same questions go to the database.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.models import Case, CaseKeyGrant, Deadline, User

# The session.info key of what the chunk in progress has read.
KEY = "candor.clock_chunk"


@dataclass(frozen=True)
class Reads:
    holders: dict[int, list[User]]
    open_deadlines: dict[int, list[Deadline]]


def current(session: Session) -> Reads | None:
    """What the worker's chunk in progress on this session has read, if one is."""
    return session.info.get(KEY)


def load(session: Session, case_ids: Sequence[int], held: Sequence[Deadline] = ()) -> Reads:
    """The active keyholders and the open deadlines of each case, in a query or two each.

    ``held`` are deadlines of these cases already loaded (the claimed ones); they are not read
    again.
    """
    grants = session.execute(
        select(CaseKeyGrant.case_id, CaseKeyGrant.user_id)
        .join(User, User.id == CaseKeyGrant.user_id)
        .where(CaseKeyGrant.case_id.in_(case_ids), User.active.is_(True))
        .order_by(CaseKeyGrant.user_id)
    ).all()
    # The same few handlers hold most cases: each is loaded once, not once per case.
    user_ids = {user_id for _, user_id in grants}
    users = (
        {u.id: u for u in session.scalars(select(User).where(User.id.in_(user_ids)))}
        if user_ids
        else {}
    )
    holders: dict[int, list[User]] = {case_id: [] for case_id in case_ids}
    for case_id, user_id in grants:
        holders[case_id].append(users[user_id])
    open_deadlines: dict[int, list[Deadline]] = {case_id: [] for case_id in case_ids}
    others = session.scalars(
        select(Deadline).where(
            Deadline.case_id.in_(case_ids),
            Deadline.stopped_at.is_(None),
            Deadline.id.not_in([d.id for d in held]),
        )
    )
    for deadline in [*held, *others]:
        open_deadlines[deadline.case_id].append(deadline)
    return Reads(holders=holders, open_deadlines=open_deadlines)


def responsible(session: Session, case: Case, level: int, *, exact: bool = False) -> list[User]:
    """Active handlers holding the case key at ``level`` (or up to it, when not ``exact``)."""
    reads = current(session)
    if reads is not None and case.id in reads.holders:
        holders = reads.holders[case.id]
    else:
        holders = load(session, [case.id]).holders[case.id]
    return [u for u in holders if (u.level == level if exact else u.level <= level)]
