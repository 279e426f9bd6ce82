"""Training records: the trainings staff must have, who completed which and when, and the gaps.

seeds/002 promises that everyone assigned to an investigation has "the appropriate level of
training and competence"; seeds/003 lists "Training requirements" among a policy's sections.
Admins define each requirement (a name, who must have it, how long a completion counts) and
record completions; a person a requirement applies to, with no completion or only an expired
one, has a gap that the admin pages flag.

What is stored here is about staff, never about a case or a reporter: names of trainings,
days, and an admin's short note, all in the clear (docs/threat-model.md says why).
"""

from __future__ import annotations

import calendar
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.i18n import N_, _, _n
from portal.models import TrainingRequirement, User
from portal.models.training import AUDIENCES
from portal.services import audit
from portal.services.errors import InvalidInputError, NotFoundError
from portal.services.training_words import audience_choice_words as audience_choice_words
from portal.services.training_words import requirements_summary as requirements_summary

MAX_NAME = 200
MAX_NOTE = 500
MAX_MONTHS = 600
LEVELS = (1, 2, 3)
# The course an organisation without any requirement usually starts with; the admin page offers
# it filled in, and nothing is required until an admin saves it.
SUGGESTED_NAME = N_("Handling whistleblowing reports")
SUGGESTED_MONTHS = 24


# -- who a requirement applies to, in words -------------------------------------------------


def audience_words(requirement: TrainingRequirement) -> str:
    """Who must have ``requirement``, for a list or a table: "all handlers", "admins"."""
    return audience_choice_words(choice_of(requirement))


def choice_of(requirement: TrainingRequirement) -> str:
    """The form's value for who must have it: "handlers:2", "custodians"."""
    if requirement.audience == "handlers":
        return f"handlers:{requirement.min_level}"
    return requirement.audience


def audience_choices() -> list[tuple[str, str]]:
    """(value, words) for the form's list of who must have a training."""
    values = [f"handlers:{level}" for level in LEVELS] + [a for a in AUDIENCES if a != "handlers"]
    return [(value, audience_choice_words(value)) for value in values]


def parse_audience(value: str) -> tuple[str, int]:
    """(audience, min_level) from the form's value; a value not in the list is refused."""
    if value not in dict(audience_choices()):
        raise InvalidInputError(_("Who must have it: choose one of the list."))
    audience, _sep, level = value.partition(":")
    return audience, int(level or 1)


def applies_to(requirement: TrainingRequirement, user: User) -> bool:
    """Whether ``user`` must have ``requirement`` (an active account in its audience)."""
    if not user.active or requirement.retired_at is not None:
        return False
    match requirement.audience:
        case "handlers":
            return user.is_handler and user.level >= requirement.min_level
        case "admins":
            return user.is_admin
        case "custodians":
            return user.is_custodian
        case "analysts":
            return user.is_analyst
        case _:
            return True


def validity_words(requirement: TrainingRequirement) -> str:
    if requirement.valid_months is None:
        return _("never expires")
    return _n(
        "valid for %(num)d month",
        "valid for %(num)d months",
        requirement.valid_months,
    )


# -- dates ----------------------------------------------------------------------------------


def expires_on(completed_on: date, valid_months: int | None) -> date | None:
    """The day a completion stops counting: ``valid_months`` calendar months after it (the last
    day of a shorter month when the day does not exist there), or None if it never expires."""
    if valid_months is None:
        return None
    months = completed_on.month - 1 + valid_months
    year, month = completed_on.year + months // 12, months % 12 + 1
    day = min(completed_on.day, calendar.monthrange(year, month)[1])
    return date(year, month, day)


def parse_months(value: str) -> int | None:
    """How long a completion counts: empty is "never expires", else 1 to 600 months."""
    text = value.strip()
    if not text:
        return None
    if not text.isascii() or not text.isdigit() or not 1 <= int(text) <= MAX_MONTHS:
        raise InvalidInputError(
            _(
                "Valid for: enter a whole number of months from 1 to %(max)d, or leave it empty "
                "if a completion never expires.",
                max=MAX_MONTHS,
            )
        )
    return int(text)


# -- requirements ---------------------------------------------------------------------------


def list_requirements(session: Session, *, retired: bool = False) -> list[TrainingRequirement]:
    """The active requirements (or, with ``retired``, the retired ones), by name."""
    retired_at = TrainingRequirement.retired_at
    return list(
        session.scalars(
            select(TrainingRequirement)
            .where(retired_at.is_not(None) if retired else retired_at.is_(None))
            .order_by(TrainingRequirement.name, TrainingRequirement.id)
        )
    )


def get_requirement(session: Session, requirement_id: int) -> TrainingRequirement:
    requirement = session.get(TrainingRequirement, requirement_id)
    if requirement is None:
        raise NotFoundError(_("No such training requirement."))
    return requirement


def add_requirement(
    session: Session,
    *,
    name: str,
    who: str,
    months: str,
    actor_id: int,
    now: datetime,
) -> TrainingRequirement:
    """An admin requires a training of some staff. Validated, audited; commits once."""
    requirement = TrainingRequirement(created_at=now)
    _fill(session, requirement, name=name, who=who, months=months)
    session.add(requirement)
    session.flush()
    audit.record(
        session,
        "training_requirement_added",
        now=now,
        actor_id=actor_id,
        detail=f"#{requirement.id}: {_describe(requirement)}",
    )
    session.commit()
    return requirement


def update_requirement(
    session: Session,
    requirement: TrainingRequirement,
    *,
    name: str,
    who: str,
    months: str,
    actor_id: int,
    now: datetime,
) -> None:
    """An admin changes a requirement; the completions recorded against it stay, and count from
    now on by its new validity. Validated, audited; commits once."""
    if requirement.retired_at is not None:
        raise InvalidInputError(_("This training requirement is retired and cannot be changed."))
    before = _describe(requirement)
    _fill(session, requirement, name=name, who=who, months=months)
    audit.record(
        session,
        "training_requirement_changed",
        now=now,
        actor_id=actor_id,
        detail=f"#{requirement.id}: {before} -> {_describe(requirement)}",
    )
    session.commit()


def retire_requirement(
    session: Session, requirement: TrainingRequirement, *, actor_id: int, now: datetime
) -> None:
    """An admin stops requiring a training: it flags nobody from now on, and its completions are
    kept with its name. Audited; commits once."""
    if requirement.retired_at is not None:
        raise InvalidInputError(_("This training requirement is already retired."))
    requirement.retired_at = now
    audit.record(
        session,
        "training_requirement_retired",
        now=now,
        actor_id=actor_id,
        detail=f"#{requirement.id}: {_describe(requirement)}",
    )
    session.commit()


def _fill(
    session: Session, requirement: TrainingRequirement, *, name: str, who: str, months: str
) -> None:
    clean = " ".join(name.split())
    if not clean:
        raise InvalidInputError(_("Name of the training: enter a name."))
    if len(clean) > MAX_NAME:
        raise InvalidInputError(
            _("Name of the training: at most %(max)d characters.", max=MAX_NAME)
        )
    audience, level = parse_audience(who)
    valid_months = parse_months(months)
    taken = session.scalar(
        select(TrainingRequirement.id).where(
            TrainingRequirement.name == clean,
            TrainingRequirement.retired_at.is_(None),
            TrainingRequirement.id != (requirement.id or 0),
        )
    )
    if taken is not None:
        raise InvalidInputError(
            _("Name of the training: another requirement already has this name.")
        )
    requirement.name = clean
    requirement.audience = audience
    requirement.min_level = level
    requirement.valid_months = valid_months


def _describe(requirement: TrainingRequirement) -> str:
    # For the audit trail: the stored words, not a translation, so the chain reads the same.
    months = "forever" if requirement.valid_months is None else f"{requirement.valid_months} months"
    return f"{requirement.name!r}, {choice_of(requirement)}, {months}"


# -- for the published policy ---------------------------------------------------------------
