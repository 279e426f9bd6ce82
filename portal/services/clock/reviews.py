"""The annual review of each policy: when it was last reviewed, when the next is due, and the
reminder the admins get through the outbox when it is.

A policy never reviewed counts from the day the site first used it: the first clock pass that
finds a category running it records that day. The table is new, so a site upgrading counts from
its first pass after the upgrade rather than from its first case: every upgraded site would
otherwise be told at once that reviews it may well have done on paper are overdue.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from portal.config import IntakeConfig
from portal.i18n import N_, _, in_language
from portal.models import PolicyReview, User
from portal.services import audit, notifications
from portal.services.calendar import BusinessCalendar
from portal.services.clock.schedule import ClockSettings, policies_by_category
from portal.services.clock.versions import resolve_policy
from portal.services.policies import Policy, shown

REMINDER_SUBJECT = N_("A policy review is due")


@dataclass(frozen=True)
class ReviewStatus:
    """One policy's review as the admin page shows it."""

    policy: str
    counted_from: datetime | None
    reviewed_at: datetime | None
    reviewed_by: str | None
    next_due: datetime | None

    def overdue(self, now: datetime) -> bool:
        return self.next_due is not None and now >= self.next_due


def next_due(
    policy: Policy, row: PolicyReview | None, calendar: BusinessCalendar
) -> datetime | None:
    """When ``policy`` is next due for review: one interval after the last review, or after the
    site first used it; None when the policy sets no interval or is not in use yet."""
    if policy.review_every is None or row is None:
        return None
    return calendar.add(row.reviewed_at or row.counted_from, policy.review_every)


def review_status(session: Session, name: str, calendar: BusinessCalendar) -> ReviewStatus:
    """What the admin page says about ``name``'s review. Reads only."""
    row = session.get(PolicyReview, name)
    reviewer = session.get(User, row.reviewed_by_id) if row and row.reviewed_by_id else None
    return ReviewStatus(
        policy=name,
        counted_from=row.counted_from if row else None,
        reviewed_at=row.reviewed_at if row else None,
        reviewed_by=reviewer.display_name if reviewer else None,
        next_due=next_due(resolve_policy(session, name), row, calendar),
    )


def mark_reviewed(
    session: Session, name: str, *, actor: User, calendar: BusinessCalendar, now: datetime
) -> ReviewStatus:
    """An admin records that ``name`` was reviewed now; the next review is due one interval
    later. Audited, so the trail shows who vouched for the policy and when. Commits once."""
    policy = resolve_policy(session, name)
    # Two admins marking at once, or a pass starting the count, must not collide on the row.
    _start_counting(session, [name], now)
    row = session.get_one(PolicyReview, name, populate_existing=True)
    row.reviewed_at = now
    row.reviewed_by_id = actor.id
    due = next_due(policy, row, calendar)
    audit.record(
        session,
        "policy_reviewed",
        now=now,
        actor_id=actor.id,
        detail=f"{name}; next due {due.date().isoformat() if due else 'never (no interval)'}",
    )
    session.commit()
    return review_status(session, name, calendar)


def queue_review_reminders(
    session: Session, settings: ClockSettings, intake: IntakeConfig, *, now: datetime
) -> int:
    """For each policy in use whose review is due, tell every active admin with an address,
    once per due date. Content-free: the policy's title, the due date and a link. Returns the
    number of messages queued. Commits once.

    The due date is claimed by one conditional update before anything is queued, so two passes
    or two workers never send the same reminder twice.
    """
    in_use = {name for names in policies_by_category(session, intake).values() for name in names}
    # A custom policy is reviewed as a whole, whatever its version.
    reviewed = sorted(name for name in in_use if resolve_policy(session, name).review_every)
    query = (
        select(PolicyReview)
        .where(PolicyReview.policy.in_(reviewed))
        .execution_options(populate_existing=True)
    )
    rows = session.scalars(query).all()
    # Only a policy seen in use for the first time is written, so a quiet pass writes nothing.
    if len(rows) < len(reviewed):
        _start_counting(session, set(reviewed) - {row.policy for row in rows}, now)
        rows = session.scalars(query).all()
    queued = 0
    for row in rows:
        policy = resolve_policy(session, row.policy)
        due = next_due(policy, row, settings.calendar)
        if due is None or now < due or row.reminded_due_at == due:
            continue
        claimed = session.execute(
            update(PolicyReview)
            .where(
                PolicyReview.policy == row.policy,
                (PolicyReview.reminded_due_at.is_(None)) | (PolicyReview.reminded_due_at != due),
            )
            .values(reminded_due_at=due)
            .execution_options(synchronize_session=False)
        )
        if getattr(claimed, "rowcount", 0) != 1:
            continue
        queued += _remind_admins(session, settings, policy, row, due, now)
        audit.record(
            session,
            "policy_review_reminded",
            now=now,
            actor_kind="clock",
            detail=f"{row.policy}; due {due.date().isoformat()}",
        )
    session.commit()
    return queued


def _start_counting(session: Session, names: Iterable[str], now: datetime) -> None:
    # The first pass that finds a policy in use starts its count; a row already there (from an
    # earlier pass, another worker or a review) is kept as it is.
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    for name in names:
        session.execute(
            insert(PolicyReview)
            .values(policy=name, counted_from=now)
            .on_conflict_do_nothing(index_elements=[PolicyReview.policy])
        )


def _remind_admins(
    session: Session,
    settings: ClockSettings,
    policy: Policy,
    row: PolicyReview,
    due: datetime,
    now: datetime,
) -> int:
    zone = settings.calendar.zone
    # Admins have no language of their own on record: the site's default language. The dates
    # stay ISO (2027-11-30): unambiguous in every language.
    due_on = due.astimezone(zone).date().isoformat()
    link = f"{settings.base_url}/admin/policies/{row.policy}"
    with in_language(None):
        if row.reviewed_at is not None:
            reviewed_on = row.reviewed_at.astimezone(zone).date().isoformat()
            since = _("It was last marked as reviewed on %(date)s.", date=reviewed_on)
        else:
            began_on = row.counted_from.astimezone(zone).date().isoformat()
            since = _(
                "It has not been marked as reviewed since the site began using it on %(date)s.",
                date=began_on,
            )
        # NOTE: %(title)s is the policy's title, %(every)s its review interval ("12 calendar
        # months"), %(due)s a date, %(since)s the sentence about its last review, %(link)s the
        # address of the policy's page on a line of its own.
        body = _(
            "The policy “%(title)s” is due for its review every %(every)s; this review was due "
            "on %(due)s. %(since)s\n\n"
            "Nothing has changed on any case. Read the policy, change what needs changing, then "
            "mark it as reviewed on its page (you will be asked to sign in):\n%(link)s\n\n"
            "This message holds no case content by design.\n",
            title=shown(policy.title),
            every=policy.review_every.words() if policy.review_every else "",
            due=due_on,
            since=since,
            link=link,
        )
        subject = f"[{settings.site_name}] {_(REMINDER_SUBJECT)}: {row.policy}"
    admins = session.scalars(
        select(User)
        .where(User.is_admin.is_(True), User.active.is_(True), User.email.is_not(None))
        .order_by(User.id)
    )
    count = 0
    for admin in admins:
        # An address that could break a header is never used; one bad account must not stop
        # the reminder reaching the others.
        if not admin.email or "\r" in admin.email or "\n" in admin.email:
            continue
        notifications.enqueue(
            session,
            to=admin.email,
            subject=subject,
            body=body,
            recipient_id=admin.id,
            now=now,
        )
        count += 1
    return count
