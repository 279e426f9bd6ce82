"""The exported case as a PDF document: every part of the case, read back in plain words."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.config import IntakeConfig
from portal.models import AuditEntry, AuthorKind, CaseEvent, Deadline, User
from portal.services import clock, messaging, pdf
from portal.services.casework import CaseAccess, NoteView
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
TIER_WORDS = {1: "1 (critical)", 2: "2 (high)", 3: "3 (other)"}
AUTHOR_WORDS = {
    AuthorKind.REPORTER: "Reporter",
    AuthorKind.HANDLER: "Handler",
    AuthorKind.SYSTEM: "Automatic message",
}


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


class _Writer:
    """Headings, fields and wrapped paragraphs on an fpdf2 document."""

    def __init__(self, title: str, zone: ZoneInfo) -> None:
        self.pdf = pdf.new_document(title)
        self.zone = zone
        self.pdf.add_page()

    def time(self, value: datetime) -> str:
        return value.astimezone(self.zone).strftime("%-d %B %Y, %H:%M %Z")

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
            document.cell(0, 5, f"Page {number} of {total}", align="R")
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
    out = _Writer(f"Case {ref}", zone)
    out.title(f"Case {ref}")
    out.text(
        "This document holds the decrypted content of a confidential case. Whoever holds it can "
        "read it: keep it only where the case may be kept."
    )
    out.field("Category", category.label if category is not None else case.category)
    out.field("Tier", TIER_WORDS.get(case.tier, str(case.tier)))
    out.field("Status", case.status.value.capitalize())
    out.field("Outcome", case.outcome or "None recorded")
    out.field("Received", out.time(case.received_at))
    out.field("Received by", CHANNELS.get(case.channel or "", "The site's report form"))
    if case.third_party:
        out.field("Third party", "The reporter reports on someone else's behalf or as a witness")
    out.field("Exported by", access.handler.display_name)

    out.heading("Report")
    for label, answer in contents.report.answers:
        out.field(label, answer)

    out.heading("Reporter's identity")
    if case.sealed_identity is None:
        out.text("The reporter did not give their identity.")
    elif contents.identity is None:
        out.text(
            "The reporter gave their identity in confidence. It is not included, because you "
            "have not revealed it on the case page."
        )
    else:
        for key, value in contents.identity.items():
            out.field(key.replace("_", " ").capitalize(), value)

    out.heading("Thread")
    if not contents.thread:
        out.text("No messages.")
    for message in contents.thread:
        who = AUTHOR_WORDS[message.author_kind]
        if message.author_name:
            who = f"{who} ({message.author_name})"
        if message.author_kind is AuthorKind.HANDLER:
            # What a handler's message was: an acknowledgement, feedback, a decision, ...
            who = f"{message.kind_label} from {who}"
        out.subheading(f"{who}, {out.time(message.created_at)}")
        out.text(message.body)
        for a in message.attachments:
            out.text(f"Attached: {a.name}, {_size(a.size)}, {a.cleaning.value.replace('_', ' ')}")

    out.heading("Internal notes")
    if not contents.notes:
        out.text("No notes.")
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
    out.heading("Audit trail")
    for entry in trail:
        who = names.get(entry.actor_id or 0, entry.actor_kind)
        what = entry.action.replace("_", " ")
        if entry.detail:
            what = f"{what}: {entry.detail}"
        out.text(f"{out.time(entry.at)} — {who} — {what}")

    out.heading("Files")
    if not contents.files:
        out.text("No files.")
    for f in contents.files:
        if f.sent_at is None:
            line = f"{f.name}, {_size(f.size)}, {f.cleaning}, sent with the report"
        else:
            line = (
                f"{f.name}, {_size(f.size)}, {f.cleaning}, "
                f"sent with the message of {out.time(f.sent_at)}"
            )
        if zip_names is not None:
            line = f"{line}; in this zip as {zip_names[f.uid]}"
        out.text(line)

    out.stamp_pages(f"Confidential — case {ref}")
    return pdf.to_bytes(out.pdf)


def _deadlines(session: Session, access: CaseAccess, out: _Writer) -> None:
    case = access.case
    started = {
        (d.policy, d.clock): d
        for d in session.scalars(select(Deadline).where(Deadline.case_id == case.id))
    }
    out.heading("Deadlines")
    views = clock.deadlines_of(session, case)
    if not views:
        out.text("No deadlines.")
    for view in views:
        row = started.get((view.policy, view.clock))
        out.subheading(f"{view.label} ({view.version})")
        lines = []
        if row is not None:
            lines.append(f"Started {out.time(row.started_at)}.")
        lines.append(f"Due {out.time(view.due_at)}.")
        lines.append(f"State: {view.state.value}.")
        if view.stopped_at is not None:
            lines.append(f"Stopped {out.time(view.stopped_at)}.")
        if row is not None and row.extensions:
            lines.append(f"Extended {row.extensions} time(s).")
        if view.level_reached > 1:
            lines.append(f"Escalation level reached: {view.level_label or view.level_reached}.")
        out.text(" ".join(lines))
    history = session.scalars(
        select(AuditEntry)
        .where(AuditEntry.case_id == case.id, AuditEntry.action.in_(DEADLINE_ACTIONS))
        .order_by(AuditEntry.id)
    ).all()
    out.subheading("History of the deadlines")
    if not history:
        out.text("Nothing yet: no warnings, breaches, escalations, extensions or stops.")
    for entry in history:
        what = entry.action.replace("_", " ").capitalize()
        out.text(f"{out.time(entry.at)} — {what}" + (f": {entry.detail}" if entry.detail else ""))


def _decisions(session: Session, access: CaseAccess, out: _Writer) -> None:
    out.heading("Decisions and events")
    out.field("Outcome", access.case.outcome or "None recorded")
    events = session.scalars(
        select(CaseEvent)
        .where(CaseEvent.case_id == access.case.id)
        .order_by(CaseEvent.occurred_at, CaseEvent.id)
    ).all()
    for event in events:
        out.text(
            f"{out.time(event.occurred_at)} — {event.kind.value.replace('_', ' ').capitalize()}"
        )


def _names(session: Session, trail: Sequence[AuditEntry]) -> dict[int, str]:
    ids = {e.actor_id for e in trail if e.actor_id is not None}
    return dict(
        session.execute(select(User.id, User.display_name).where(User.id.in_(ids))).tuples().all()
    )


def _size(size: int) -> str:
    if size < 1024:
        return f"{size} bytes"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size / (1024 * 1024):.1f} MB"
