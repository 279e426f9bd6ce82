"""Everything the published policy states, read in one place from the active policies, the
site's settings and the site texts: the page and the PDF both write this and nothing else.

Reads only; names no case and holds nothing a reporter wrote. Staff are named by the role
shown to reporters (as the intake form already shows it), never by account.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.config import RetentionConfig
from portal.i18n import _
from portal.models import EventKind, User
from portal.services import intake, retention, sitetext, training_words
from portal.services.calendar import BusinessCalendar, Duration
from portal.services.clock import appeals, meetings, reviews
from portal.services.clock.schedule import LEVEL_NAMES, policies_by_category
from portal.services.clock.versions import resolve_all, split_reference
from portal.services.clock.views import SitePromises, late_windows, site_promises
from portal.services.policies import LateWindow, Policy, shown
from portal.services.policy_page.facts import ClockFacts, clock_facts
from portal.services.policy_page.flowchart import Flowchart, flowchart_of
from portal.services.policy_page.texts import POLICY_TEXTS
from portal.services.policy_page.words import kept_words
from portal.services.site_settings import EffectiveIntake

# The staff-written sections, in the order of the page.
STAFF_SECTIONS = tuple(POLICY_TEXTS)


@dataclass(frozen=True)
class Review:
    every: Duration | None
    reviewed_at: datetime | None
    in_use_since: datetime | None
    next_due: datetime | None


@dataclass(frozen=True)
class PublishedPolicy:
    """One active policy: its clocks, its flowchart and its review."""

    name: str
    title: str
    # The categories whose reports run it (their labels).
    categories: tuple[str, ...]
    clocks: tuple[ClockFacts, ...]
    flowchart: Flowchart
    review: Review
    follow_up: tuple[str, ...]
    has_secretary_step: bool
    has_committee_step: bool


@dataclass(frozen=True)
class Level:
    number: int
    name: str
    # The roles (as reporters see them) of the active handlers at the level.
    roles: tuple[str, ...]


@dataclass(frozen=True)
class PolicyPage:
    site_name: str
    policies: tuple[PublishedPolicy, ...]
    promises: SitePromises
    categories: tuple[str, ...]
    questions: tuple[str, ...]
    groups: tuple[str, ...]
    late_windows: tuple[tuple[str, LateWindow], ...]
    # (category label or None for every category, kept for in words).
    kept_for: tuple[tuple[str | None, str], ...]
    levels: tuple[Level, ...]
    # The Company Secretary's role as reporters see it; None when no one is appointed.
    secretary: str | None
    next_meeting: date | None
    has_custodian: bool
    # The mediator's notice (sanitised, the policy's time filled in), where a policy sends it.
    mediator: Markup | None
    other_ways: Markup
    texts: Mapping[str, Markup]
    # The training the admins require, in words (Admin > Training); empty when none is.
    training: tuple[str, ...] = ()

    @property
    def has_appeal(self) -> bool:
        return any(p.has_secretary_step or p.has_committee_step for p in self.policies)


def policy_page(
    session: Session,
    *,
    intake_settings: EffectiveIntake,
    site_name: str,
    retention_days: Mapping[str, int],
    retention_config: RetentionConfig,
    calendar: BusinessCalendar,
    now: datetime,
) -> PolicyPage:
    """What the published policy says now, in the language of the moment. Reads only."""
    by_category = policies_by_category(session, intake_settings)
    names = list(dict.fromkeys(n for c in intake_settings.categories for n in by_category[c.key]))
    policies = tuple(
        _published(session, policy, intake_settings, by_category, calendar)
        for policy in resolve_all(session, names)
    )
    texts = sitetext.get_texts(session, "other_ways", "mediator_notice", *STAFF_SECTIONS)
    notice_times = [
        time.duration
        for p in policies
        for clock in p.clocks
        if clock.reporter_notice == "mediator_notice"
        for time in clock.times
    ]
    mediator = None
    if notice_times:
        # Markup.replace escapes what it puts in: the duration's words are text.
        mediator = texts["mediator_notice"].replace("{duration}", notice_times[0].words())
    secretary = appeals.current_secretary(session)
    today = now.astimezone(calendar.zone).date()
    upcoming = [d for d in meetings.meeting_days(session) if d > today]
    return PolicyPage(
        site_name=site_name,
        policies=policies,
        promises=site_promises(session, intake_settings),
        categories=tuple(c.label for c in intake_settings.categories),
        questions=tuple(q.label for q in intake_settings.questions),
        groups=tuple(g.label for g in intake_settings.groups),
        late_windows=tuple(late_windows(session, intake_settings)),
        kept_for=tuple(
            (kept.label, kept_words(kept.days))
            for kept in retention.kept_for(
                retention_days, retention_config, intake_settings.categories
            )
        ),
        levels=_levels(session),
        secretary=secretary.title if secretary is not None else None,
        next_meeting=upcoming[0] if upcoming else None,
        has_custodian=session.scalar(
            select(User.id).where(User.is_custodian.is_(True), User.active.is_(True)).limit(1)
        )
        is not None,
        mediator=mediator,
        other_ways=texts["other_ways"],
        texts={key: texts[key] for key in STAFF_SECTIONS},
        training=tuple(training_words.requirements_summary(session)),
    )


def _published(
    session: Session,
    policy: Policy,
    intake_settings: EffectiveIntake,
    by_category: Mapping[str, Sequence[str]],
    calendar: BusinessCalendar,
) -> PublishedPolicy:
    name = split_reference(policy.name)[0]
    status = reviews.review_status(session, name, calendar)
    starts = {rule.start for rule in policy.clocks}
    clocks = tuple(clock_facts(policy, intake_settings.groups))
    return PublishedPolicy(
        name=name,
        title=shown(policy.title),
        categories=tuple(c.label for c in intake_settings.categories if name in by_category[c.key]),
        clocks=clocks,
        flowchart=flowchart_of(policy, clocks),
        review=Review(
            every=policy.review_every,
            reviewed_at=status.reviewed_at,
            in_use_since=status.counted_from,
            next_due=status.next_due,
        ),
        follow_up=tuple(shown(action.label) for action in policy.follow_up),
        has_secretary_step=EventKind.SECRETARY_ASKED in starts,
        has_committee_step=EventKind.COMMITTEE_ASKED in starts,
    )


def _levels(session: Session) -> tuple[Level, ...]:
    roles: dict[int, list[str]] = {}
    for recipient_level, title in _handler_roles(session):
        roles.setdefault(recipient_level, [])
        if title and title not in roles[recipient_level]:
            roles[recipient_level].append(title)
    return tuple(
        Level(number=level, name=_(name), roles=tuple(roles.get(level, ())))
        for level, name in LEVEL_NAMES.items()
    )


def _handler_roles(session: Session) -> list[tuple[int, str]]:
    """(level, role) of every handler who receives reports, as the intake form lists them."""
    ids = [r.id for r in intake.list_recipients(session)]
    if not ids:
        return []
    return [
        (level, title)
        for level, title in session.execute(
            select(User.level, User.title).where(User.id.in_(ids)).order_by(User.level)
        )
    ]


__all__ = ["STAFF_SECTIONS", "PolicyPage", "PublishedPolicy", "policy_page"]
