"""A template's placeholders filled from one case: its reference, who investigates, its running
deadlines and the mediator's notice, in the case's language; or from a sample case for the
admins' preview."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import babel.dates
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal import i18n
from portal.i18n import _
from portal.models import Case, Deadline, User
from portal.services import sitetext
from portal.services.calendar import Duration, Unit
from portal.services.clock.schedule import rules_of
from portal.services.inbox import reference
from portal.services.policies import ClockRule
from portal.services.response_templates.catalogue import (
    DUE_PLACEHOLDERS,
    STOPS,
    Filled,
    fill,
)
from portal.services.response_templates.defaults import INVESTIGATOR_SENTENCE
from portal.services.response_templates.store import template_text

# The clocks whose due date tells the reporter when they hear from us next.
_NEXT = ("feedback_due", "decision_due", "resolution_due", "appeal_due")


def case_language(case: Case) -> str:
    """The language the reporter reads: the case's, else the site's default."""
    return case.language if case.language in i18n.BY_CODE else i18n.site_default()


def _day(moment: datetime, zone: ZoneInfo, language: str) -> str:
    return str(
        babel.dates.format_date(
            moment.astimezone(zone), "long", locale=i18n.BY_CODE[language].babel_locale
        )
    )


def _mediator(session: Session, rules: Iterable[ClockRule], language: str) -> str:
    """The mediator's notice as the clock sends it: plain text, with the time to resolve of the
    case's clock that sends it (else of its clock that a resolution stops)."""
    rules = list(rules)
    sender = next((r for r in rules if r.reporter_notice == "mediator_notice"), None)
    if sender is None:
        sender = next((r for r in rules if r.stop & STOPS["resolution"]), None)
    with i18n.in_language(language):
        return sitetext.get_plain_text(
            session,
            "mediator_notice",
            duration=sender.duration.words() if sender is not None else None,
            language=language,
        )


def case_values(
    session: Session,
    case: Case,
    kind: str,
    *,
    handler: User,
    zone: ZoneInfo,
    site_name: str,
) -> dict[str, str]:
    """What each placeholder reads for ``case`` when ``handler`` writes a message of ``kind``;
    a due date the case has no running clock for is left out."""
    language = case_language(case)
    investigator = session.get(User, case.assignee_id) if case.assignee_id else None
    investigator = investigator or handler
    values = {
        "reference": reference(case),
        "site_name": site_name,
        "investigator": investigator.display_name,
        "investigator_title": investigator.title,
        "handler": handler.display_name,
    }
    running = {
        (d.policy, d.clock): d
        for d in session.scalars(
            select(Deadline).where(Deadline.case_id == case.id, Deadline.stopped_at.is_(None))
        )
    }
    rules = [(policy, rule) for policy, rule in rules_of(session, case)]
    due: dict[str, datetime] = {}
    for policy, rule in rules:
        deadline = running.get((policy.name, rule.key))
        if deadline is None:
            continue
        for name, events in DUE_PLACEHOLDERS.items():
            if rule.stop & events and (name not in due or deadline.due_at < due[name]):
                due[name] = deadline.due_at
    for name, moment in due.items():
        values[name] = _day(moment, zone, language)
    # This message meets its own clock: the reporter hears from us next at another one's date.
    own = {name for name, events in DUE_PLACEHOLDERS.items() if events & STOPS[kind]}
    later = [due[name] for name in _NEXT if name in due and name not in own]
    if later:
        values["next_due"] = _day(min(later), zone, language)
    values["mediator"] = _mediator(session, (rule for _policy, rule in rules), language)
    return values


def names_investigator(session: Session, case: Case) -> bool:
    """Whether the case's policy says its acknowledgement names who investigates (seeds/002)."""
    return any(rule.names_investigator for _policy, rule in rules_of(session, case))


def prefill(
    session: Session,
    case: Case,
    kind: str,
    *,
    handler: User,
    zone: ZoneInfo,
    site_name: str,
) -> Filled:
    """The template for ``kind`` in the case's language, filled for ``case``: the text a
    handler's reply box starts from. Reads only; nothing is stored or sent.

    Under a policy whose acknowledgement names the investigator, an acknowledgement template
    that does not name them gets the sentence that does, in the case's language.
    """
    language = case_language(case)
    text = template_text(session, kind, language)
    unnamed = kind == "acknowledgement" and "{investigator}" not in text
    if unnamed and names_investigator(session, case):
        with i18n.in_language(language):
            text = f"{text}\n\n{_(INVESTIGATOR_SENTENCE)}"
    values = case_values(session, case, kind, handler=handler, zone=zone, site_name=site_name)
    return fill(text, values)


def sample_values(
    session: Session, *, admin: User, zone: ZoneInfo, site_name: str, language: str, now: datetime
) -> dict[str, str]:
    """Values of a made-up case for the admins' preview: the admin as investigator, and due
    dates a few days and weeks from ``now``."""
    days = {
        "acknowledge_due": 2,
        "feedback_due": 90,
        "decision_due": 14,
        "resolution_due": 45,
        "appeal_due": 28,
        "next_due": 14,
    }
    with i18n.in_language(language):
        mediator = sitetext.get_plain_text(
            session,
            "mediator_notice",
            duration=Duration(45, Unit.CALENDAR_DAYS).words(),
            language=language,
        )
    return {
        "reference": "C-1A2B3C4D",
        "site_name": site_name,
        "investigator": admin.display_name,
        "investigator_title": admin.title,
        "handler": admin.display_name,
        **{name: _day(now + timedelta(days=n), zone, language) for name, n in days.items()},
        "mediator": mediator,
    }
