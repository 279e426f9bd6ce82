"""The exported case as a PDF document: every part of the case, read back in plain words."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import babel.dates
import babel.numbers
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.config import IntakeConfig
from portal.i18n import N_, _, _n, current_language
from portal.models import (
    AuditEntry,
    AuthorKind,
    CaseEvent,
    CaseStatus,
    Deadline,
    DeadlineState,
    EventKind,
    User,
)
from portal.services import audit, clock, messaging, pdf
from portal.services.casework import OUTCOME_LABELS, CaseAccess, NoteView
from portal.services.inbox import reference
from portal.services.oral import CHANNELS

# What the clock and the handlers did to deadlines, read back from the audit trail.
DEADLINE_ACTIONS = frozenset(
    {
        "policy_chosen",
        "deadline_warning",
        "deadline_breached",
        "escalated",
        "escalation_skipped",
        "escalation_exhausted",
        "deadline_extended",
        "deadline_paused",
        "deadline_resumed",
        "deadline_stopped",
        "deadline_recomputed",
    }
)
# The document's fixed words are marked here and translated as it is written, in the language
# of the handler's page (what the reporter and the handlers wrote stays as written).
TIER_WORDS = {1: N_("1 (critical)"), 2: N_("2 (high)"), 3: N_("3 (other)")}
AUTHOR_WORDS = {
    AuthorKind.REPORTER: N_("Reporter"),
    AuthorKind.HANDLER: N_("Handler"),
    AuthorKind.SYSTEM: N_("Automatic message"),
}
STATUS_WORDS = {
    CaseStatus.NEW: N_("New"),
    CaseStatus.ACKNOWLEDGED: N_("Acknowledged"),
    CaseStatus.INVESTIGATING: N_("Investigating"),
    CaseStatus.RESOLVED: N_("Resolved"),
    CaseStatus.CLOSED: N_("Closed"),
}
STATE_WORDS = {
    DeadlineState.RUNNING: N_("running"),
    DeadlineState.PAUSED: N_("paused"),
    DeadlineState.MET: N_("met"),
    DeadlineState.BREACHED: N_("breached"),
}
EVENT_WORDS = {
    EventKind.RECEIVED: N_("Received"),
    EventKind.ACKNOWLEDGED: N_("Acknowledged"),
    EventKind.FEEDBACK_SENT: N_("Feedback sent"),
    EventKind.DECISION_SENT: N_("Decision sent"),
    EventKind.RESOLVED: N_("Resolved"),
    EventKind.APPEAL_FILED: N_("Appeal filed"),
    EventKind.REPORTER_MESSAGE: N_("Reporter message"),
    EventKind.RESOLUTION_SENT: N_("Resolution sent"),
    EventKind.REPORTER_SATISFIED: N_("Reporter satisfied"),
    EventKind.REOPENED: N_("Reopened"),
    EventKind.SECRETARY_ASKED: N_("Secretary asked"),
    EventKind.SECRETARY_ANSWERED: N_("Secretary answered"),
    EventKind.COMMITTEE_ASKED: N_("Committee asked"),
    EventKind.COMMITTEE_DECIDED: N_("Committee decided"),
    EventKind.TIER_CHANGED: N_("Tier changed"),
    EventKind.MINUTES_CORRECTED: N_("Minutes corrected"),
    EventKind.MINUTES_REVISED: N_("Minutes revised"),
    EventKind.MINUTES_APPROVED: N_("Minutes approved"),
}
# What happened to a file's hidden details (the cleaning status, with spaces for underscores).
CLEANING_WORDS = {
    "cleaned": N_("cleaned"),
    "kept": N_("kept"),
    "unsupported": N_("unsupported"),
    "too large": N_("too large"),
    "failed": N_("failed"),
    "unchecked": N_("unchecked"),
}
# The reporter's identity as the report form keeps it.
IDENTITY_WORDS = {"name": N_("Name"), "contact": N_("Contact")}


@dataclass(frozen=True)
class FileEntry:
    uid: str
    name: str
    size: int
    cleaning: str
    sent_at: datetime | None  # None: with the report; else the time of its message


@dataclass(frozen=True)
class CaseContents:
    report: messaging.ReportView
    thread: list[messaging.MessageView]
    notes: list[NoteView]
    identity: dict[str, str] | None
    files: list[FileEntry]
    # A custodian is named and the exporting handler holds no standing approval.
    identity_withheld: bool = False


class _Writer:
    """Headings, fields and wrapped paragraphs on an fpdf2 document."""

    def __init__(self, title: str, zone: ZoneInfo) -> None:
        self.pdf = pdf.new_document(title)
        self.zone = zone
        self.locale = current_language().babel_locale
        self.pdf.add_page()

    def time(self, value: datetime) -> str:
        """A moment in the site's zone, as the page's language writes it, with the zone's
        abbreviation ("30 November 2026, 14:05 CET")."""
        local = value.astimezone(self.zone)
        day = babel.dates.format_date(local, "long", locale=self.locale)
        hour = babel.dates.format_time(local, "short", tzinfo=self.zone, locale=self.locale)
        pattern = str(babel.dates.get_datetime_format("medium", locale=self.locale))
        return f"{pattern.replace('{1}', day).replace('{0}', hour)} {local.tzname()}"

    def size(self, size: int) -> str:
        if size < 1024:
            return _n("%(num)d byte", "%(num)d bytes", size)
        if size < 1024 * 1024:
            return _("%(size)s KB", size=self.decimal(size / 1024))
        return _("%(size)s MB", size=self.decimal(size / (1024 * 1024)))

    def decimal(self, value: float) -> str:
        return babel.numbers.format_decimal(round(value, 1), "#,##0.0", locale=self.locale)

    def title(self, text: str) -> None:
        self.pdf.set_font(pdf.FONT, "B", 16)
        self.pdf.multi_cell(0, 8, text, new_x="LMARGIN", new_y="NEXT")
        self.pdf.ln(2)

    def heading(self, text: str) -> None:
        self.pdf.ln(3)
        self.pdf.set_font(pdf.FONT, "B", 13)
        self.pdf.multi_cell(0, 7, text, new_x="LMARGIN", new_y="NEXT")
        self.pdf.ln(1)

    def subheading(self, text: str) -> None:
        self.pdf.set_font(pdf.FONT, "B", 10)
        self.pdf.multi_cell(0, 5, text, new_x="LMARGIN", new_y="NEXT", align="L")

    def text(self, text: str) -> None:
        self.pdf.set_font(pdf.FONT, "", 10)
        self.pdf.multi_cell(0, 5, text or "—", new_x="LMARGIN", new_y="NEXT", align="L")
        self.pdf.ln(1)

    def field(self, label: str, value: str) -> None:
        self.subheading(label)
        self.text(value)

    def stamp_pages(self, header: str) -> None:
        """The header and "Page n of N" on every page, drawn in the margins once the length is
        known."""
        document = self.pdf
        total = document.pages_count
        document.set_auto_page_break(auto=False)
        for number in range(1, total + 1):
            document.page = number
            document.set_font(pdf.FONT, "", 8)
            document.set_xy(pdf.MARGIN_MM, 8)
            document.cell(0, 5, header, align="L")
            document.set_xy(pdf.MARGIN_MM, document.h - 12)
            document.cell(
                0, 5, _("Page %(number)s of %(total)s", number=number, total=total), align="R"
            )
        document.page = total


def render_case(
    session: Session,
    access: CaseAccess,
    contents: CaseContents,
    intake: IntakeConfig,
    zone: ZoneInfo,
    zip_names: Mapping[str, str] | None,
) -> bytes:
    """The PDF of the case from what the caller has already opened and verified (``contents``)
    and the case's metadata (deadlines, events, audit trail). Decrypts nothing itself; times in
    the site's zone; "Confidential — case <reference>" and the page number on every page."""
    case = access.case
    ref = reference(case)
    category = intake.category(case.category)
    title = _("Case %(reference)s", reference=ref)
    out = _Writer(title, zone)
    out.title(title)
    out.text(
        _(
            "This document holds the decrypted content of a confidential case. Whoever holds it "
            "can read it: keep it only where the case may be kept."
        )
    )
    out.field(_("Category"), category.label if category is not None else case.category)
    tier = TIER_WORDS.get(case.tier)
    out.field(_("Tier"), _(tier) if tier is not None else str(case.tier))
    out.field(_("Status"), _(STATUS_WORDS[case.status]))
    outcome = case.outcome
    out.field(
        _("Outcome"), str(OUTCOME_LABELS.get(outcome, outcome)) if outcome else _("None recorded")
    )
    out.field(_("Received"), out.time(case.received_at))
    channel = CHANNELS.get(case.channel or "")
    out.field(_("Received by"), _(channel) if channel else _("The site's report form"))
    if case.third_party:
        out.field(
            _("Third party"),
            _("The reporter reports on someone else's behalf or as a witness"),
        )
    out.field(_("Exported by"), access.handler.display_name)

    out.heading(_("Report"))
    for label, answer in contents.report.answers:
        out.field(label, answer)

    out.heading(_("Reporter's identity"))
    if case.sealed_identity is None:
        out.text(_("The reporter did not give their identity."))
    elif contents.identity_withheld:
        out.text(
            _(
                "The reporter gave their identity in confidence. It is withheld: on this site a "
                "custodian must approve your request before you see it."
            )
        )
    elif contents.identity is None:
        out.text(
            _(
                "The reporter gave their identity in confidence. It is not included, because "
                "you have not revealed it on the case page."
            )
        )
    else:
        for key, value in contents.identity.items():
            word = IDENTITY_WORDS.get(key)
            out.field(_(word) if word else key.replace("_", " ").capitalize(), value)

    out.heading(_("Thread"))
    if not contents.thread:
        out.text(_("No messages."))
    for message in contents.thread:
        who = _(AUTHOR_WORDS[message.author_kind])
        if message.author_name:
            who = _("%(who)s (%(name)s)", who=who, name=message.author_name)
        if message.author_kind is AuthorKind.HANDLER:
            # What a handler's message was: an acknowledgement, feedback, a decision, ...
            who = _("%(kind)s from %(who)s", kind=message.kind_label, who=who)
        out.subheading(f"{who}, {out.time(message.created_at)}")
        out.text(message.body)
        for a in message.attachments:
            out.text(
                _(
                    "Attached: %(name)s, %(size)s, %(cleaning)s",
                    name=a.name,
                    size=out.size(a.size),
                    cleaning=_cleaning(a.cleaning.value.replace("_", " ")),
                )
            )

    out.heading(_("Internal notes"))
    if not contents.notes:
        out.text(_("No notes."))
    for note in contents.notes:
        out.subheading(f"{note.author_name}, {out.time(note.created_at)}")
        out.text(note.body)

    _deadlines(session, access, out)
    _decisions(session, access, out)
    trail = list(
        session.scalars(
            select(AuditEntry).where(AuditEntry.case_id == case.id).order_by(AuditEntry.id)
        )
    )
    names = _names(session, trail)
    out.heading(_("Audit trail"))
    for entry in trail:
        who = names.get(entry.actor_id or 0, entry.actor_kind)
        what = _action(entry.action)
        if entry.detail:
            what = f"{what}: {entry.detail}"
        out.text(f"{out.time(entry.at)} — {who} — {what}")

    out.heading(_("Files"))
    if not contents.files:
        out.text(_("No files."))
    for f in contents.files:
        if f.sent_at is None:
            line = _(
                "%(name)s, %(size)s, %(cleaning)s, sent with the report",
                name=f.name,
                size=out.size(f.size),
                cleaning=_cleaning(f.cleaning),
            )
        else:
            line = _(
                "%(name)s, %(size)s, %(cleaning)s, sent with the message of %(when)s",
                name=f.name,
                size=out.size(f.size),
                cleaning=_cleaning(f.cleaning),
                when=out.time(f.sent_at),
            )
        if zip_names is not None:
            line = _("%(line)s; in this zip as %(name)s", line=line, name=zip_names[f.uid])
        out.text(line)

    out.stamp_pages(_("Confidential — case %(reference)s", reference=ref))
    return pdf.to_bytes(out.pdf)


def _deadlines(session: Session, access: CaseAccess, out: _Writer) -> None:
    case = access.case
    started = {
        (d.policy, d.clock): d
        for d in session.scalars(select(Deadline).where(Deadline.case_id == case.id))
    }
    out.heading(_("Deadlines"))
    views = clock.deadlines_of(session, case)
    if not views:
        out.text(_("No deadlines."))
    for view in views:
        row = started.get((view.policy, view.clock))
        out.subheading(f"{view.label} ({view.version})")
        # One sentence per fact, joined: each is whole for the translator.
        lines = []
        if row is not None:
            lines.append(_("Started %(when)s.", when=out.time(row.started_at)))
        lines.append(_("Due %(when)s.", when=out.time(view.due_at)))
        state = STATE_WORDS.get(view.state)
        lines.append(_("State: %(state)s.", state=_(state) if state else view.state.value))
        if view.stopped_at is not None:
            lines.append(_("Stopped %(when)s.", when=out.time(view.stopped_at)))
        if row is not None and row.extensions:
            lines.append(_n("Extended %(num)d time.", "Extended %(num)d times.", row.extensions))
        if view.level_reached > 1:
            lines.append(
                _(
                    "Escalation level reached: %(level)s.",
                    level=view.level_label or view.level_reached,
                )
            )
        out.text(" ".join(lines))
    history = session.scalars(
        select(AuditEntry)
        .where(AuditEntry.case_id == case.id, AuditEntry.action.in_(DEADLINE_ACTIONS))
        .order_by(AuditEntry.id)
    ).all()
    out.subheading(_("History of the deadlines"))
    if not history:
        out.text(_("Nothing yet: no warnings, breaches, escalations, extensions or stops."))
    for entry in history:
        what = _action(entry.action)
        what = what[:1].upper() + what[1:]
        out.text(f"{out.time(entry.at)} — {what}" + (f": {entry.detail}" if entry.detail else ""))


def _decisions(session: Session, access: CaseAccess, out: _Writer) -> None:
    out.heading(_("Decisions and events"))
    outcome = access.case.outcome
    out.field(
        _("Outcome"), str(OUTCOME_LABELS.get(outcome, outcome)) if outcome else _("None recorded")
    )
    events = session.scalars(
        select(CaseEvent)
        .where(CaseEvent.case_id == access.case.id)
        .order_by(CaseEvent.occurred_at, CaseEvent.id)
    ).all()
    for event in events:
        words = EVENT_WORDS.get(event.kind)
        what = _(words) if words else event.kind.value.replace("_", " ").capitalize()
        out.text(f"{out.time(event.occurred_at)} — {what}")


def _names(session: Session, trail: Sequence[AuditEntry]) -> dict[int, str]:
    ids = {e.actor_id for e in trail if e.actor_id is not None}
    return dict(
        session.execute(select(User.id, User.display_name).where(User.id.in_(ids))).tuples().all()
    )


def _cleaning(status: str) -> str:
    words = CLEANING_WORDS.get(status)
    return _(words) if words is not None else status


def _action(action: str) -> str:
    """An audit entry's action in the document's language; the entry stays as stored."""
    label = audit.ACTION_LABELS.get(action)
    return _(label) if label is not None else action.replace("_", " ")
