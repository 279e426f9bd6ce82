"""Key escrow: the escrow key pair, its escrow custodians' shares, and every case key sealed to it.

A handler who loses both password and recovery key, or leaves without handing over, would
otherwise take their cases with them. Every case key is also sealed to the escrow public key; the
escrow private key exists only as M-of-N shares (SLIP-39 words, see ``crypto.escrow``), each
sealed to a staff escrow custodian's own public key or printed once for a paper custodian. It is
rebuilt only in memory, when M escrow custodians approve a request (``escrow_requests``).

The escrow public key lives in the database, since admins create it from the pages; it carries an
integrity tag under the configuration's integrity key, so a database writer cannot swap in a key
of their own and read every case sealed to it next.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

import crypto
from crypto.escrow import MAX_SHARES, MIN_THRESHOLD
from portal.i18n import _
from portal.models import Case, CaseEscrowKey, CaseStatus, Escrow, EscrowCustodian, User
from portal.services import audit, contexts, integrity
from portal.services.errors import AlreadyExistsError, InvalidInputError, NotFoundError

# Escrow custodians are supervisors or above: the people a departed handler's cases go up to.
MIN_CUSTODIAN_LEVEL = 2
MAX_NAME = 128


class NoEscrowError(NotFoundError):
    """No escrow has been created yet."""


@dataclass(frozen=True)
class CustodianChoice:
    """Who is to hold one share: a staff account (``user_id``) or a person on paper (a name)."""

    user_id: int | None = None
    paper_name: str | None = None

    def as_json(self) -> dict[str, int | str]:
        if self.user_id is not None:
            return {"user_id": self.user_id}
        return {"paper_name": self.paper_name or ""}


@dataclass(frozen=True)
class PaperShare:
    """A paper custodian's share, to show once and never store."""

    name: str
    index: int
    words: tuple[str, ...]

    def __repr__(self) -> str:
        return f"PaperShare(name={self.name!r}, words=<hidden>)"


@dataclass(frozen=True)
class CustodianView:
    id: int
    name: str
    paper: bool
    user_id: int | None


@dataclass(frozen=True)
class EscrowStatus:
    escrow: Escrow
    custodians: tuple[CustodianView, ...]
    open_cases: int
    covered: int

    @property
    def uncovered(self) -> int:
        return self.open_cases - self.covered


def find_escrow(session: Session) -> Escrow | None:
    return session.scalar(select(Escrow).order_by(Escrow.id).limit(1))


def get_escrow(session: Session) -> Escrow:
    escrow = find_escrow(session)
    if escrow is None:
        raise NoEscrowError(_("No escrow has been created."))
    return escrow


def escrow_public_key(session: Session, escrow: Escrow) -> bytes:
    """The escrow public key, only if it is the one the server stored (its tag verifies)."""
    crypto.verify_tag(
        integrity.integrity_key(session),
        integrity.PUBLIC_KEY,
        contexts.escrow_public_key(escrow.id),
        escrow.public_key,
        escrow.public_key_tag,
    )
    return escrow.public_key


def custodian_candidates(session: Session) -> list[User]:
    """Active staff at level 2 or above whose public key verifies: who may hold a share.
    Identity custodians and analysts see nothing else than their own pages, so never a share."""
    users = session.scalars(
        select(User)
        .where(
            User.active.is_(True),
            User.is_custodian.is_(False),
            User.is_analyst.is_(False),
            User.level >= MIN_CUSTODIAN_LEVEL,
            User.public_key.is_not(None),
        )
        .order_by(User.display_name, User.id)
    )
    return [u for u in users if integrity.user_key_is_genuine(session, u)]


def parse_paper_names(text: str) -> list[str]:
    """One name a line; blank lines are ignored."""
    return [line.strip() for line in text.splitlines() if line.strip()]


def check_custodians(
    session: Session, threshold: int, user_ids: Sequence[int], paper_names: Sequence[str]
) -> list[CustodianChoice]:
    """The escrow custodians chosen, checked; InvalidInputError says what is wrong."""
    problems = []
    allowed = {u.id for u in custodian_candidates(session)}
    if any(user_id not in allowed for user_id in user_ids):
        problems.append(
            _("Choose escrow custodians from the list: staff at level 2 or above with a key.")
        )
    if any(len(name) > MAX_NAME for name in paper_names):
        problems.append(_("A paper custodian's name has at most 128 characters."))
    if len({n.casefold() for n in paper_names}) != len(paper_names):
        problems.append(_("Each paper custodian's name must differ from the others."))
    count = len(set(user_ids)) + len(paper_names)
    if not MIN_THRESHOLD <= threshold <= count <= MAX_SHARES:
        problems.append(
            _(
                "Choose at least 2 escrow custodians and at most 16, and a number of approvals "
                "from 2 up to the number of escrow custodians (you chose %(threshold)d of "
                "%(count)d).",
                threshold=threshold,
                count=count,
            )
        )
    if problems:
        raise InvalidInputError(" ".join(problems))
    return [CustodianChoice(user_id=i) for i in sorted(set(user_ids))] + [
        CustodianChoice(paper_name=name) for name in paper_names
    ]


def create_escrow(
    session: Session,
    actor: User,
    *,
    threshold: int,
    user_ids: Sequence[int],
    paper_names: Sequence[str],
    now: datetime,
) -> list[PaperShare]:
    """Create the escrow key pair, split its private key M-of-N and hand out the shares.

    Security property: the private key exists only in this call's memory; what is stored is the
    tagged public key, each staff share sealed to its holder's public key (bound to the escrow
    and the custodian), and nothing of a paper share. The paper shares are returned to be shown
    once. Commits once.
    """
    if find_escrow(session) is not None:
        raise AlreadyExistsError(_("An escrow exists already; change its custodians instead."))
    choices = check_custodians(session, threshold, user_ids, paper_names)
    pair = crypto.generate_escrow_key()
    escrow = Escrow(
        public_key=pair.public_key,
        public_key_tag=b"",
        threshold=threshold,
        generation=1,
        split_id=0,
        created_at=now,
    )
    session.add(escrow)
    session.flush()
    escrow.public_key_tag = crypto.integrity_tag(
        integrity.integrity_key(session),
        integrity.PUBLIC_KEY,
        contexts.escrow_public_key(escrow.id),
        pair.public_key,
    )
    paper = install_shares(session, escrow, pair.private_key, threshold, choices, now)
    audit.record(
        session,
        "escrow_created",
        now=now,
        actor_id=actor.id,
        detail=f"threshold {threshold} of {len(choices)}; generation 1",
    )
    session.commit()
    return paper


def install_shares(
    session: Session,
    escrow: Escrow,
    private_key: bytes,
    threshold: int,
    choices: Sequence[CustodianChoice],
    now: datetime,
) -> list[PaperShare]:
    """Split ``private_key`` for ``choices`` and store the staff shares; return the paper ones.
    Does not commit."""
    shares = crypto.split_escrow_key(private_key, threshold, len(choices))
    escrow.threshold = threshold
    escrow.split_id = crypto.parse_escrow_share(shares[0]).identifier
    paper = []
    for choice, words in zip(choices, shares, strict=True):
        index = crypto.parse_escrow_share(words).index
        custodian = EscrowCustodian(
            escrow_id=escrow.id,
            generation=escrow.generation,
            user_id=choice.user_id,
            paper_name=choice.paper_name,
            share_index=index,
            added_at=now,
        )
        session.add(custodian)
        session.flush()
        if choice.user_id is None:
            paper.append(PaperShare(choice.paper_name or "", index, tuple(words.split())))
            continue
        user = session.get(User, choice.user_id)
        if user is None:
            raise InvalidInputError(_("Choose escrow custodians from the list."))
        custodian.sealed_share, custodian.share_tag = integrity.seal_item(
            session,
            integrity.user_public_key(session, user),
            words.encode(),
            contexts.escrow_share(escrow.id, custodian.id),
        )
    return paper


def custodians(session: Session, escrow: Escrow) -> list[EscrowCustodian]:
    return list(
        session.scalars(
            select(EscrowCustodian)
            .where(EscrowCustodian.escrow_id == escrow.id)
            .order_by(EscrowCustodian.id)
        )
    )


def custodian_views(session: Session, escrow: Escrow) -> tuple[CustodianView, ...]:
    names = {
        u.id: u.display_name
        for u in session.scalars(
            select(User)
            .join(EscrowCustodian, EscrowCustodian.user_id == User.id)
            .where(EscrowCustodian.escrow_id == escrow.id)
        )
    }
    return tuple(
        CustodianView(
            c.id,
            names.get(c.user_id, "") if c.user_id is not None else c.paper_name or "",
            c.user_id is None,
            c.user_id,
        )
        for c in custodians(session, escrow)
    )


def escrow_status(session: Session) -> EscrowStatus | None:
    """The escrow, its escrow custodians, and how many open cases are under escrow."""
    escrow = find_escrow(session)
    if escrow is None:
        return None
    still_open = Case.status != CaseStatus.CLOSED
    open_cases = session.scalar(select(func.count()).select_from(Case).where(still_open)) or 0
    covered = (
        session.scalar(
            select(func.count())
            .select_from(CaseEscrowKey)
            .join(Case, Case.id == CaseEscrowKey.case_id)
            .where(CaseEscrowKey.escrow_id == escrow.id, still_open)
        )
        or 0
    )
    return EscrowStatus(escrow, custodian_views(session, escrow), open_cases, covered)


def seal_escrow_copy(session: Session, case: Case, case_private_key: bytes, now: datetime) -> bool:
    """Seal the case key to the escrow public key unless the case has that copy already.

    Called at intake and whenever a keyholder opens a case, so existing cases come under escrow
    as they are next opened. An escrow key that fails its check gets nothing sealed to it (a
    database writer may have put it there); that is audited and the case goes on as before.
    Returns whether a copy was added. Does not commit.
    """
    escrow = find_escrow(session)
    if escrow is None:
        return False
    if session.get(CaseEscrowKey, (case.id, escrow.id)) is not None:
        return False
    try:
        public_key = escrow_public_key(session, escrow)
    except crypto.DecryptionError:
        audit.record(
            session,
            "escrow_key_refused",
            now=now,
            case_id=case.id,
            actor_kind="system",
            detail="escrow public key failed its integrity check; nothing was sealed to it",
        )
        return False
    blob, tag = integrity.seal_item(
        session, public_key, case_private_key, contexts.escrow_case_key(case.uid, escrow.id)
    )
    session.add(
        CaseEscrowKey(
            case_id=case.id, escrow_id=escrow.id, sealed_case_key=blob, tag=tag, sealed_at=now
        )
    )
    return True


def open_escrow_copy(
    session: Session, escrow: Escrow, escrow_private_key: bytes, case: Case
) -> bytes | None:
    """The case private key from its escrow copy, checked against the case's public key; None
    when the case has no copy. A tampered copy raises ``DecryptionError``."""
    row = session.get(CaseEscrowKey, (case.id, escrow.id))
    if row is None:
        return None
    case_key = integrity.open_item(
        session,
        escrow_private_key,
        row.sealed_case_key,
        row.tag,
        contexts.escrow_case_key(case.uid, escrow.id),
    )
    if crypto.public_key_from_private(case_key) != integrity.case_public_key(session, case):
        raise crypto.DecryptionError("escrow copy does not match the case key")
    return case_key
