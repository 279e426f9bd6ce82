"""What handlers do with a case: open it, answer, decide, hand on, and give up access.

Every function takes the acting handler's unwrapped private key from their session; the case
key is opened from that handler's own grant, so nobody without a grant reads anything, and the
server alone cannot grant.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from portal.config import IntakeConfig
from portal.i18n import _, _l, in_language
from portal.models import (
    AuditEntry,
    AuthorKind,
    Case,
    CaseEvent,
    CaseExclusion,
    CaseKeyGrant,
    CaseRecusal,
    CaseStatus,
    EventKind,
    Note,
    User,
)
from portal.services import (
    audit,
    case_openings,
    clock,
    contexts,
    follow_ups,
    identity_access,
    integrity,
    masking,
    messaging,
)
from portal.services.attachments import AttachmentStore, EncryptedUpload, commit_with_files
from portal.services.clock import versions
from portal.services.errors import InvalidInputError, NotFoundError, ServiceError
from portal.services.response_templates.catalogue import fill
from portal.services.response_templates.defaults import INVESTIGATOR_SENTENCE
from portal.services.staff import escrow as escrow_keys

OUTCOMES = ("substantiated", "partly substantiated", "not substantiated", "withdrawn", "referred")
# The outcomes as a person reads them; the case stores the English key above.
OUTCOME_LABELS = {
    "substantiated": _l("substantiated"),
    "partly substantiated": _l("partly substantiated"),
    "not substantiated": _l("not substantiated"),
    "withdrawn": _l("withdrawn"),
    "referred": _l("referred"),
}
MESSAGE_KINDS = {
    "reply": None,
    "acknowledge": EventKind.ACKNOWLEDGED,
    "feedback": EventKind.FEEDBACK_SENT,
    "decision": EventKind.DECISION_SENT,
    "resolution": EventKind.RESOLUTION_SENT,
    "request_info": None,
}
# The form's kind of message, and what the thread keeps it as (messaging.MESSAGE_KINDS).
THREAD_KINDS = {
    "reply": "reply",
    "acknowledge": "acknowledgement",
    "feedback": "feedback",
    "decision": "decision",
    "resolution": "resolution",
    "request_info": "request_info",
}


class AccessError(ServiceError):
    """The handler holds no key for this case. Shown as "not found": its existence is not told."""


@dataclass(frozen=True)
class CaseAccess:
    """A case opened by one handler for one request."""

    case: Case
    case_private_key: bytes
    handler: User
    # What this handler gets masked of the case's redactions (services/masking.py): every
    # reader of case content for a handler goes through it.
    masks: masking.Masks
    # Whether this handler sees the original of every redaction in force.
    sees_all_originals: bool = True


def open_case(session: Session, handler: User, private_key: bytes, case_uid: str) -> CaseAccess:
    """Open the case key from the handler's own grant; AccessError when there is none.

    An excluded or recused handler has no grant, so they get the same answer as for a case that
    does not exist.
    """
    row = session.execute(
        select(Case, CaseKeyGrant)
        .join(CaseKeyGrant, CaseKeyGrant.case_id == Case.id)
        .where(Case.uid == case_uid, CaseKeyGrant.user_id == handler.id)
    ).first()
    if row is None or not handler.is_handler:
        raise AccessError("No such case.")
    case, grant = row
    case_key = integrity.open_item(
        session,
        private_key,
        grant.sealed_case_key,
        grant.tag,
        *integrity.grant_place(case.uid, grant),
    )
    masks = masking.masks_for_grant(session, case, case_key, grant)
    return CaseAccess(case, case_key, handler, masks, sees_all_originals=not masks.hidden)


@dataclass(frozen=True)
class NoteView:
    author_name: str
    body: str
    created_at: datetime
    uid: str = ""


@dataclass(frozen=True)
class CaseDetail:
    report: messaging.ReportView
    thread: list[messaging.MessageView]
    notes: list[NoteView]
    deadlines: list[clock.DeadlineView]
    keyholders: list[User]
    can_grant: list[User]
    trail: list[AuditEntry]
    assignee: User | None
    can_acknowledge: bool
    # The policy's words for a report the reporter says came after its window; else None.
    late_flag: str | None = None
    follow_ups: follow_ups.FollowUps | None = None


def read_notes(session: Session, case: Case, case_private_key: bytes) -> list[NoteView]:
    """The case's internal notes, oldest first, opened with the case key; a tampered one
    refuses them all."""
    return [
        NoteView(
            author_name=author.display_name,
            body=integrity.open_item(
                session,
                case_private_key,
                note.sealed_body,
                note.tag,
                *integrity.note_place(case.uid, note),
            ).decode(),
            created_at=note.created_at,
            uid=note.uid,
        )
        for note, author in session.execute(
            select(Note, User)
            .join(User, User.id == Note.author_id)
            .where(Note.case_id == case.id)
            .order_by(Note.created_at, Note.id)
        ).tuples()
    ]


def notes_for(session: Session, access: CaseAccess) -> list[NoteView]:
    """The notes as this handler may read them: redacted words masked."""
    notes = read_notes(session, access.case, access.case_private_key)
    masks = access.masks
    return [replace(n, body=masks.text(n.body)) for n in notes] if masks.hidden else notes


def case_detail(
    session: Session,
    access: CaseAccess,
    *,
    now: datetime,
    session_id_hash: bytes | None = None,
    shown: bool = True,
) -> CaseDetail:
    """Everything on the case page, decrypted; records that the case was opened (audited once
    per staff session, see case_openings) unless nothing is ``shown`` (a HEAD request, whose
    page nobody reads, neither marks the case read nor counts as an opening). Commits."""
    case = access.case
    # The page refuses as a whole if anything of the case fails its check, even the parts it
    # does not show: the preview (shown in the inbox), the identity (opened on request) and the
    # reporter's key; read_report checks the case's public key.
    integrity.check_item(
        session, case.sealed_preview, case.sealed_preview_tag, contexts.preview(case.uid)
    )
    if case.sealed_identity is not None:
        integrity.check_item(
            session, case.sealed_identity, case.sealed_identity_tag, contexts.identity(case.uid)
        )
    integrity.check_reporter_key(session, case)
    report = masking.report_for(session, access)
    thread = masking.thread_for(session, access)
    notes = notes_for(session, access)
    keyholders = list(
        session.scalars(
            select(User)
            .join(CaseKeyGrant, CaseKeyGrant.user_id == User.id)
            .where(CaseKeyGrant.case_id == case.id)
            .order_by(User.level, User.display_name)
        )
    )
    # A case filed before the escrow existed comes under it when a keyholder next opens it.
    escrow_keys.seal_escrow_copy(session, case, access.case_private_key, now)
    if shown:
        case_openings.record_opening(
            session, access.handler, case, session_id_hash=session_id_hash, now=now
        )
    session.commit()
    trail = list(
        session.scalars(
            select(AuditEntry).where(AuditEntry.case_id == case.id).order_by(AuditEntry.id)
        )
    )
    return CaseDetail(
        report=report,
        thread=thread,
        notes=notes,
        deadlines=clock.deadlines_of(session, case),
        keyholders=keyholders,
        can_grant=grantable(session, case),
        trail=trail,
        assignee=session.get(User, case.assignee_id) if case.assignee_id else None,
        can_acknowledge=not acknowledged(session, case),
        late_flag=_late_flag(session, case, report),
        follow_ups=follow_ups.follow_ups_of(session, case),
    )


def _late_flag(session: Session, case: Case, report: messaging.ReportView) -> str | None:
    window = clock.late_window_of(session, case.policies)
    return window.flag if window is not None and report.late is True else None


def acknowledged(session: Session, case: Case) -> bool:
    """Whether an acknowledgement of receipt has been sent, whatever the case's status now.

    The status is no guide: a handler may triage a case before acknowledging it, and the
    7-day clock waits for the acknowledgement itself.
    """
    return (
        session.scalar(
            select(CaseEvent.id)
            .where(CaseEvent.case_id == case.id, CaseEvent.kind == EventKind.ACKNOWLEDGED)
            .limit(1)
        )
        is not None
    )


def grantable(session: Session, case: Case) -> list[User]:
    """Active handlers who could be granted the case: not holding it, not excluded, not recused."""
    holding = select(CaseKeyGrant.user_id).where(CaseKeyGrant.case_id == case.id)
    excluded = select(CaseExclusion.user_id).where(CaseExclusion.case_id == case.id)
    recused = select(CaseRecusal.user_id).where(CaseRecusal.case_id == case.id)
    return list(
        session.scalars(
            select(User)
            .where(
                User.is_handler.is_(True),
                User.active.is_(True),
                User.public_key.is_not(None),
                User.id.not_in(holding),
                User.id.not_in(excluded),
                User.id.not_in(recused),
            )
            .order_by(User.level, User.display_name)
        )
    )


def send_message(
    session: Session,
    access: CaseAccess,
    kind: str,
    body: str,
    *,
    uploads: Sequence[EncryptedUpload] = (),
    store: AttachmentStore,
    settings: clock.ClockSettings,
    now: datetime,
) -> None:
    """Reply, acknowledge, give feedback, send a decision or a resolution, or ask for more
    information.

    Acknowledgement and feedback are typed events for the clock; the first acknowledgement also
    moves a new case to "acknowledged". Commits once.
    """
    if kind not in MESSAGE_KINDS:
        raise InvalidInputError(_("Unknown kind of message."))
    if not body.strip():
        raise InvalidInputError(_("Write the message to the reporter."))
    case = access.case
    event = MESSAGE_KINDS[kind]
    if kind == "acknowledge" and acknowledged(session, case):
        raise InvalidInputError(
            _(
                "Receipt of this report has already been acknowledged, so nothing was sent. "
                "To write to the reporter, choose “Reply”."
            )
        )
    if kind == "acknowledge" and any(
        rule.names_investigator
        for policy in versions.resolve_all(session, case.policies)
        for rule in policy.clocks
    ):
        body = _name_investigator(session, case, body)
    messaging.add_message(
        session,
        case,
        body,
        author_kind=AuthorKind.HANDLER,
        author=access.handler,
        kind=THREAD_KINDS[kind],
        uploads=uploads,
        store=store,
        now=now,
        commit=False,
    )
    if kind == "acknowledge" and case.status is CaseStatus.NEW:
        case.status = CaseStatus.ACKNOWLEDGED
    if event is not None:
        session.add(CaseEvent(case_id=case.id, kind=event, occurred_at=now))
        clock.apply_event(session, case, event, now=now, settings=settings)
    audit.record(session, f"message_{kind}", now=now, actor_id=access.handler.id, case_id=case.id)
    commit_with_files(session, store, uploads)


def _name_investigator(session: Session, case: Case, body: str) -> str:
    """seeds/002: the acknowledgement names who investigates (the assigned handler)."""
    investigator = session.get(User, case.assignee_id) if case.assignee_id else None
    if investigator is None:
        raise InvalidInputError(
            _(
                "Assign the case first: under this policy the acknowledgement names who "
                "investigates."
            )
        )
    if investigator.display_name in body:
        # Already named, as a response template does: said once.
        return body
    with in_language(case.language):
        sentence = _(INVESTIGATOR_SENTENCE)
    named = {"investigator": investigator.display_name, "investigator_title": investigator.title}
    return f"{body.strip()}\n\n{fill(sentence, named).text}"


def add_note(session: Session, access: CaseAccess, body: str, *, now: datetime) -> None:
    """An internal note, sealed to the case key; the reporter never sees it. Commits once."""
    body = body.strip()
    if not body:
        raise InvalidInputError(_("Write the note."))
    messaging.seal_note(session, access.case, access.handler, body, now=now)
    audit.record(session, "note_added", now=now, actor_id=access.handler.id, case_id=access.case.id)
    session.commit()


def reveal_identity(
    session: Session, access: CaseAccess, *, now: datetime
) -> dict[str, str] | None:
    """The confidential reporter's name and contact; every look is audited. Commits once.

    With a custodian named, only under this handler's standing approval for this case
    (``identity_access.IdentityNotApprovedError`` otherwise, and nothing is opened).
    """
    identity_access.check_may_open(session, access.case, access.handler)
    identity = open_identity(session, access)
    if identity is None:
        return None
    audit.record(
        session, "identity_revealed", now=now, actor_id=access.handler.id, case_id=access.case.id
    )
    session.commit()
    return identity


def open_identity(session: Session, access: CaseAccess) -> dict[str, str] | None:
    """The confidential reporter's name and contact opened, unaudited: the caller records the
    look (``reveal_identity`` does). None when the reporter gave none."""
    case = access.case
    if case.sealed_identity is None:
        return None
    identity: dict[str, str] = json.loads(
        integrity.open_item(
            session,
            access.case_private_key,
            case.sealed_identity,
            case.sealed_identity_tag,
            contexts.identity(case.uid),
        )
    )
    return identity


def record_download(
    session: Session, access: CaseAccess, attachment_uid: str, *, now: datetime
) -> None:
    audit.record(
        session,
        "attachment_downloaded",
        now=now,
        actor_id=access.handler.id,
        case_id=access.case.id,
        detail=f"attachment {attachment_uid}",
    )
    session.commit()


def update_case(
    session: Session,
    access: CaseAccess,
    *,
    tier: int,
    category: str,
    status: CaseStatus,
    outcome: str | None,
    intake: IntakeConfig,
    settings: clock.ClockSettings,
    now: datetime,
) -> None:
    """Set tier, category and status (closing needs an outcome). Each change is audited."""
    case = access.case
    if tier not in (1, 2, 3):
        raise InvalidInputError(_("Tier: choose 1, 2 or 3."))
    # A case may stay in its retired category, but none moves into one.
    offered = {c.key for c in intake.categories}
    if category not in offered and not (category == case.category and intake.category(category)):
        raise InvalidInputError(_("Category: choose one of the list."))
    if status is CaseStatus.CLOSED and outcome not in OUTCOMES:
        raise InvalidInputError(_("To close the case, choose its outcome."))
    changes = []
    if case.tier != tier:
        changes.append(f"tier {case.tier} -> {tier}")
        case.tier = tier
        session.add(CaseEvent(case_id=case.id, kind=EventKind.TIER_CHANGED, occurred_at=now))
        clock.apply_event(session, case, EventKind.TIER_CHANGED, now=now, settings=settings)
    if case.category != category:
        changes.append(f"category {case.category} -> {category}")
        case.category = category
    if case.status is not status:
        changes.append(f"status {case.status.value} -> {status.value}")
        was_settled = case.status in (CaseStatus.RESOLVED, CaseStatus.CLOSED)
        case.status = status
        if was_settled and status not in (CaseStatus.RESOLVED, CaseStatus.CLOSED):
            session.add(CaseEvent(case_id=case.id, kind=EventKind.REOPENED, occurred_at=now))
            clock.apply_event(session, case, EventKind.REOPENED, now=now, settings=settings)
        if status in (CaseStatus.RESOLVED, CaseStatus.CLOSED):
            session.add(CaseEvent(case_id=case.id, kind=EventKind.RESOLVED, occurred_at=now))
            clock.apply_event(session, case, EventKind.RESOLVED, now=now, settings=settings)
        # Retention runs from the closing; a case opened again starts afresh when next closed.
        case.closed_at = now if status is CaseStatus.CLOSED else None
        case.retention_reminded_at = None
    new_outcome = outcome if status is CaseStatus.CLOSED else None
    if case.outcome != new_outcome:
        changes.append(f"outcome {new_outcome or 'none'}")
        case.outcome = new_outcome
    if not changes:
        return
    if status is CaseStatus.CLOSED:
        clock.stop_all(session, case, now=now)
        identity_access.end_approvals(session, case, now=now)
    session.flush()
    clock.refresh_next_due(session, case)
    audit.record(
        session,
        "case_updated",
        now=now,
        actor_id=access.handler.id,
        case_id=case.id,
        detail="; ".join(changes),
    )
    session.commit()


def assign(session: Session, access: CaseAccess, assignee_id: int | None, *, now: datetime) -> None:
    """Assign the case to a handler who holds its key (or to nobody). Commits once."""
    case = access.case
    if assignee_id is not None:
        holds = session.scalar(
            select(CaseKeyGrant.user_id).where(
                CaseKeyGrant.case_id == case.id, CaseKeyGrant.user_id == assignee_id
            )
        )
        if holds is None:
            raise InvalidInputError(
                _("Only a handler who holds the case can be assigned; grant access first.")
            )
    case.assignee_id = assignee_id
    audit.record(
        session,
        "case_assigned",
        now=now,
        actor_id=access.handler.id,
        case_id=case.id,
        subject_id=assignee_id,
    )
    session.commit()


def recuse(session: Session, access: CaseAccess, *, now: datetime) -> None:
    """Give up access: the handler's grant is deleted and they are skipped from now on."""
    case = access.case
    others = session.scalar(
        select(CaseKeyGrant.user_id)
        .where(CaseKeyGrant.case_id == case.id, CaseKeyGrant.user_id != access.handler.id)
        .limit(1)
    )
    if others is None:
        raise InvalidInputError(
            _("You are the only one who holds this case: grant it to a colleague first.")
        )
    session.execute(
        delete(CaseKeyGrant).where(
            CaseKeyGrant.case_id == case.id, CaseKeyGrant.user_id == access.handler.id
        )
    )
    session.add(CaseRecusal(case_id=case.id, user_id=access.handler.id, recused_at=now))
    if case.assignee_id == access.handler.id:
        case.assignee_id = None
    audit.record(
        session,
        "recused",
        now=now,
        actor_id=access.handler.id,
        case_id=case.id,
        subject_id=access.handler.id,
    )
    session.commit()


def grant(
    session: Session,
    access: CaseAccess,
    user_id: int,
    *,
    with_originals: bool = False,
    now: datetime,
) -> None:
    """Seal the case key to another handler's public key, from this handler's session.

    Refused for anyone the reporter excluded or who recused. The colleague sees the parts
    redacted so far masked, unless ``with_originals``, which only a handler who sees every
    original may give. Commits once.
    """
    case = access.case
    target = next((u for u in grantable(session, case) if u.id == user_id), None)
    if target is None or target.public_key is None:
        raise InvalidInputError(_("That handler cannot be given this case."))
    if with_originals and not access.sees_all_originals:
        raise InvalidInputError(
            _("You do not see the originals of the redacted parts, so you cannot pass them on.")
        )
    _seal_grant(session, case, access.case_private_key, target, now, with_originals)
    audit.record(
        session,
        "access_granted",
        now=now,
        actor_id=access.handler.id,
        case_id=case.id,
        subject_id=target.id,
        detail="with the originals of redacted parts" if with_originals else "",
    )
    session.commit()


def bulk_grant(
    session: Session,
    handler: User,
    private_key: bytes,
    target_id: int,
    *,
    with_originals: bool = False,
    now: datetime,
) -> int:
    """Give a newly added handler every case this handler holds and the target may have.

    Redacted parts stay masked for them unless ``with_originals``, given only on the cases
    where this handler sees every original. Returns how many cases were granted. Commits once.
    """
    target = session.get(User, target_id)
    if target is None or not target.is_handler or not target.active or target.public_key is None:
        raise InvalidInputError(_("That handler cannot be given cases."))
    excluded = select(CaseExclusion.case_id).where(CaseExclusion.user_id == target.id)
    recused = select(CaseRecusal.case_id).where(CaseRecusal.user_id == target.id)
    holding = select(CaseKeyGrant.case_id).where(CaseKeyGrant.user_id == target.id)
    rows = session.execute(
        select(Case, CaseKeyGrant)
        .join(CaseKeyGrant, CaseKeyGrant.case_id == Case.id)
        .where(
            CaseKeyGrant.user_id == handler.id,
            Case.id.not_in(excluded),
            Case.id.not_in(recused),
            Case.id.not_in(holding),
        )
    ).tuples()
    count = 0
    for case, own in rows:
        case_key = integrity.open_item(
            session,
            private_key,
            own.sealed_case_key,
            own.tag,
            *integrity.grant_place(case.uid, own),
        )
        originals = (
            with_originals and not masking.masks_for_grant(session, case, case_key, own).hidden
        )
        _seal_grant(session, case, case_key, target, now, originals)
        audit.record(
            session,
            "access_granted",
            now=now,
            actor_id=handler.id,
            case_id=case.id,
            subject_id=target.id,
            detail="with the originals of redacted parts" if originals else "",
        )
        count += 1
    session.commit()
    return count


def _seal_grant(
    session: Session,
    case: Case,
    case_key: bytes,
    target: User,
    now: datetime,
    with_originals: bool,
) -> None:
    if target.public_key is None:
        raise NotFoundError(_("That handler has not activated their account."))
    # A key a database writer swapped in is refused here: the server never seals to it.
    blob, tag = integrity.seal_item(
        session,
        integrity.user_public_key(session, target),
        case_key,
        contexts.case_key(case.uid, target.id),
    )
    session.add(
        CaseKeyGrant(
            case_id=case.id,
            user_id=target.id,
            sealed_case_key=blob,
            tag=tag,
            granted_at=now,
            with_originals=with_originals,
        )
    )
