"""Reports received by telephone, voice message, post, e-mail or in a meeting (Directive
art. 9(2) and 18), the reporter's approval of the minutes, third-party reports and case links.

A handler records the report on the reporter's behalf; it becomes a case like any other (same
keys, sealing and clocks), except that its clocks run from the time the report was received and
its one answer is the handler's minutes. The receipt code and passphrase are generated here and
shown once to the handler, to pass on through the channel the reporter used.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, delete, or_, select
from sqlalchemy.orm import Session

import crypto
from portal.argon2_gate import UNGATED, Argon2Gate
from portal.config import IntakeConfig
from portal.i18n import N_, _, in_language
from portal.models import (
    AuthorKind,
    Case,
    CaseEvent,
    CaseKeyGrant,
    CaseLink,
    EventKind,
    MinutesVersion,
    User,
)
from portal.services import audit, clock, contexts, intake, integrity, messaging
from portal.services.attachments import AttachmentStore, EncryptedUpload
from portal.services.casework import CaseAccess
from portal.services.errors import InvalidInputError

# Stored in the clear in ``cases.channel`` (the statistics count reports by channel).
CHANNELS = {
    "telephone": N_("Telephone"),
    "voice_message": N_("Voice message"),
    "post": N_("Post"),
    "email": N_("E-mail"),
    "meeting": N_("Meeting in person"),
}
AWAITING, CORRECTED, APPROVED = "awaiting", "corrected", "approved"

# Marked here, translated where they are used (the thread's lines in the case's language).
UNKNOWN_CHANNEL = N_("Choose how the report was received.")
NO_TIME = N_("Give the date and time the report was received.")
FUTURE_TIME = N_("The time the report was received cannot be in the future.")
APPROVED_TEXT = N_("The reporter approved the minutes of the report.")
CORRECTED_TEXT = N_(
    "The reporter corrected the minutes of the report. The handlers see both versions."
)
REVISED_TEXT = N_(
    "The handler revised the minutes of the report. Please read them again, and approve or "
    "correct them."
)
REFERENCE = re.compile(r"^(?:C-)?([0-9A-F]{8})$")


@dataclass(frozen=True)
class OralReport:
    """What the handler enters for a report received another way."""

    form_token: str
    channel: str
    received_at: datetime | None
    category: str
    tier: int
    minutes: str
    third_party: bool = False
    uploads: Sequence[EncryptedUpload] = ()


def record_oral_report(
    session: Session,
    report: OralReport,
    *,
    handler: User,
    intake_config: IntakeConfig,
    pepper: bytes,
    profile: crypto.Argon2Profile,
    store: AttachmentStore,
    clock_settings: clock.ClockSettings,
    now: datetime,
    gate: Argon2Gate = UNGATED,
) -> intake.Receipt:
    """Open a case for a report received another way, and return its receipt.

    The receipt code and passphrase are generated exactly as for a report filed on the web; the
    case key is sealed only to the handlers who receive the category (the recording handler
    learns nothing else of the case unless they are one of them). The minutes and any recording
    are sealed to the case key. The clocks run from ``received_at``. Commits once.
    """
    problems = []
    if report.channel not in CHANNELS:
        problems.append(UNKNOWN_CHANNEL)
    if report.received_at is None:
        problems.append(NO_TIME)
    elif report.received_at > now:
        problems.append(FUTURE_TIME)
    if problems:
        for upload in report.uploads:
            store.discard(upload.uid)
        raise InvalidInputError(" ".join(_(problem) for problem in problems))
    submission = intake.Submission(
        form_token=report.form_token,
        category=report.category,
        tier=report.tier,
        answers={},
        uploads=report.uploads,
        third_party=report.third_party,
        channel=report.channel,
        received_at=report.received_at,
        minutes=report.minutes,
    )
    return intake.submit_report(
        session,
        submission,
        intake=intake_config,
        pepper=pepper,
        profile=profile,
        store=store,
        clock_settings=clock_settings,
        now=now,
        gate=gate,
        recorded_by=handler,
    )


# --- the minutes ------------------------------------------------------------------------------


@dataclass(frozen=True)
class MinutesEntry:
    author_kind: AuthorKind
    author_name: str
    text: str
    created_at: datetime


@dataclass(frozen=True)
class MinutesView:
    state: str
    channel: str
    # How the report came in, worded to end a sentence ("by telephone").
    how: str
    # The minutes the reporter is asked to approve: the handler's latest version.
    current: str
    # Every version, oldest first: the handler's first minutes, then corrections and revisions.
    versions: tuple[MinutesEntry, ...]
    # The reporter's latest correction, if any.
    correction: str | None


def minutes_of(
    session: Session, case: Case, case_private_key: bytes, report: messaging.ReportView
) -> MinutesView | None:
    """The minutes of an oral report and their later versions, opened with the case key; None
    for a report the reporter wrote. ``report`` is the case's report as the page already opened
    it: the minutes as first recorded are its first answer. A tampered version refuses the whole
    view."""
    if case.minutes_state is None:
        return None
    first = next((answer for _, answer in report.answers), "")
    versions = [MinutesEntry(AuthorKind.HANDLER, "", first, case.received_at)]
    rows = session.execute(
        select(MinutesVersion, User.display_name)
        .outerjoin(User, User.id == MinutesVersion.author_id)
        .where(MinutesVersion.case_id == case.id)
        .order_by(MinutesVersion.created_at, MinutesVersion.id)
    ).tuples()
    for row, name in rows:
        text = integrity.open_item(
            session,
            case_private_key,
            row.sealed_text,
            row.tag,
            contexts.minutes(case.uid, row.uid),
            integrity.message_bound(row.author_kind, row.author_id),
        ).decode()
        versions.append(MinutesEntry(row.author_kind, name or "", text, row.created_at))
    current = [v for v in versions if v.author_kind is AuthorKind.HANDLER][-1].text
    corrections = [v for v in versions if v.author_kind is AuthorKind.REPORTER]
    return MinutesView(
        state=case.minutes_state,
        channel=_(CHANNELS[case.channel]) if case.channel in CHANNELS else case.channel or "",
        how=_(intake.CHANNEL_HOW[case.channel])
        if case.channel in intake.CHANNEL_HOW
        else case.channel or "",
        current=current,
        versions=tuple(versions),
        correction=corrections[-1].text if corrections else None,
    )


def approve_minutes(session: Session, case: Case, *, now: datetime) -> None:
    """The reporter agrees the minutes are correct (art. 18(2)-(4)). A typed event, and a line
    in the thread. Commits once."""
    _require_state(case, AWAITING)
    case.minutes_state = APPROVED
    _minutes_event(session, case, EventKind.MINUTES_APPROVED, APPROVED_TEXT, now)
    session.commit()


def correct_minutes(session: Session, case: Case, text: str, *, now: datetime) -> None:
    """The reporter's corrected minutes, sealed to the case key beside the handler's. Commits."""
    _require_state(case, AWAITING)
    _add_version(session, case, text, AuthorKind.REPORTER, None, now)
    case.minutes_state = CORRECTED
    _minutes_event(session, case, EventKind.MINUTES_CORRECTED, CORRECTED_TEXT, now)
    session.commit()


def revise_minutes(session: Session, access: CaseAccess, text: str, *, now: datetime) -> None:
    """A handler's new version of the minutes, which the reporter is asked to approve again.
    Audited. Commits once."""
    case = access.case
    if case.minutes_state not in (AWAITING, CORRECTED):
        raise InvalidInputError(_("Only minutes that are not yet approved can be revised."))
    _add_version(session, case, text, AuthorKind.HANDLER, access.handler.id, now)
    case.minutes_state = AWAITING
    _minutes_event(session, case, EventKind.MINUTES_REVISED, REVISED_TEXT, now)
    audit.record(session, "minutes_revised", now=now, actor_id=access.handler.id, case_id=case.id)
    session.commit()


def _require_state(case: Case, state: str) -> None:
    if case.minutes_state != state:
        raise InvalidInputError(_("These minutes are not waiting for your approval."))


def _add_version(
    session: Session,
    case: Case,
    text: str,
    author_kind: AuthorKind,
    author_id: int | None,
    now: datetime,
) -> None:
    text = text.strip()
    if not text:
        raise InvalidInputError(_("Write the corrected minutes."))
    if len(text) > intake.MAX_ANSWER_LENGTH:
        raise InvalidInputError(
            _(
                "The minutes are longer than %(length)s characters.",
                length=intake.MAX_ANSWER_LENGTH,
            )
        )
    uid = secrets.token_hex(16)
    sealed, tag = integrity.seal_item(
        session,
        integrity.case_public_key(session, case),
        text.encode(),
        contexts.minutes(case.uid, uid),
        integrity.message_bound(author_kind, author_id),
    )
    session.add(
        MinutesVersion(
            uid=uid,
            case_id=case.id,
            author_kind=author_kind,
            author_id=author_id,
            sealed_text=sealed,
            tag=tag,
            created_at=now,
        )
    )


def _minutes_event(
    session: Session, case: Case, kind: EventKind, words: str, now: datetime
) -> None:
    session.add(CaseEvent(case_id=case.id, kind=kind, occurred_at=now))
    # The same words in the thread, so both sides read what happened when; written in the
    # reporter's language, as they are stored so.
    with in_language(case.language):
        text = _(words)
    messaging.add_message(
        session,
        case,
        text,
        author_kind=AuthorKind.SYSTEM,
        store=None,
        now=now,
        commit=False,
    )


# --- third-party reports and links ------------------------------------------------------------


def set_third_party(session: Session, access: CaseAccess, value: bool, *, now: datetime) -> None:
    """A handler marks or unmarks the report as a third party's. Audited; commits once."""
    if access.case.third_party == value:
        return
    access.case.third_party = value
    audit.record(
        session,
        "third_party_set" if value else "third_party_cleared",
        now=now,
        actor_id=access.handler.id,
        case_id=access.case.id,
    )
    session.commit()


@dataclass(frozen=True)
class LinkView:
    # Both None when the viewer does not hold the other case: they see only that a link exists.
    reference: str | None
    uid: str | None


def _reference(case: Case) -> str:
    return f"C-{case.uid[:8].upper()}"


def _held(session: Session, handler: User, reference: str) -> Case:
    """The case with ``reference`` that ``handler`` holds a key for; one answer for any other."""
    found = REFERENCE.match(reference.strip().upper())
    case = None
    if found is not None:
        case = session.scalar(
            select(Case)
            .join(CaseKeyGrant, CaseKeyGrant.case_id == Case.id)
            .where(
                Case.uid.startswith(found.group(1).lower()),
                CaseKeyGrant.user_id == handler.id,
            )
            .order_by(Case.id)
            .limit(1)
        )
    if case is None:
        raise InvalidInputError(_("No case that you hold has that reference."))
    return case


def _pair(a: Case, b: Case) -> tuple[int, int]:
    return (a.id, b.id) if a.id < b.id else (b.id, a.id)


def link_cases(session: Session, access: CaseAccess, reference: str, *, now: datetime) -> None:
    """Link the case to another that the handler also holds. Audited on both cases, without
    the other's reference (the trails are read by handlers who may hold only one). Commits."""
    other = _held(session, access.handler, reference)
    if other.id == access.case.id:
        raise InvalidInputError(_("A case cannot be linked to itself."))
    low, high = _pair(access.case, other)
    if session.get(CaseLink, (low, high)) is not None:
        raise InvalidInputError(_("These cases are already linked."))
    session.add(CaseLink(case_id=low, other_id=high, created_at=now))
    for case_id in (low, high):
        audit.record(
            session,
            "case_linked",
            now=now,
            actor_id=access.handler.id,
            case_id=case_id,
            detail="linked to another case",
        )
    session.commit()


def unlink_cases(session: Session, access: CaseAccess, reference: str, *, now: datetime) -> None:
    """Remove the link to another case that the handler holds. Audited on both; commits."""
    other = _held(session, access.handler, reference)
    low, high = _pair(access.case, other)
    removed = session.execute(
        delete(CaseLink).where(CaseLink.case_id == low, CaseLink.other_id == high)
    )
    if not removed.rowcount:  # type: ignore[attr-defined]  # a CursorResult for a DELETE
        raise InvalidInputError(_("These cases are not linked."))
    for case_id in (low, high):
        audit.record(
            session,
            "case_unlinked",
            now=now,
            actor_id=access.handler.id,
            case_id=case_id,
            detail="link to another case removed",
        )
    session.commit()


def links_of(session: Session, case: Case, viewer: User) -> list[LinkView]:
    """The cases linked to ``case``; only those ``viewer`` holds are named."""
    others = list(
        session.scalars(
            select(Case)
            .join(
                CaseLink,
                or_(
                    and_(CaseLink.case_id == case.id, CaseLink.other_id == Case.id),
                    and_(CaseLink.other_id == case.id, CaseLink.case_id == Case.id),
                ),
            )
            .order_by(Case.received_at, Case.id)
        )
    )
    held = set(
        session.scalars(
            select(CaseKeyGrant.case_id).where(
                CaseKeyGrant.user_id == viewer.id,
                CaseKeyGrant.case_id.in_([o.id for o in others]),
            )
        )
    )
    return [
        LinkView(_reference(o), o.uid) if o.id in held else LinkView(None, None) for o in others
    ]


@dataclass(frozen=True)
class OralCaseView:
    """What the case page adds for this piece."""

    minutes: MinutesView | None
    links: list[LinkView]


def oral_view(session: Session, access: CaseAccess, report: messaging.ReportView) -> OralCaseView:
    return OralCaseView(
        minutes=minutes_of(session, access.case, access.case_private_key, report),
        links=links_of(session, access.case, access.handler),
    )
