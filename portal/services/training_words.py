"""Training requirements in words for the published policy page (seeds/003, "Training
requirements"): a reporter page in every shipped language, so these words are in the reporter part
of the catalogue (portal.i18n.PART_OF_PATH), apart from the admins' training pages."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.i18n import _, _n
from portal.models import TrainingRequirement


def _active(session: Session) -> list[TrainingRequirement]:
    return list(
        session.scalars(
            select(TrainingRequirement)
            .where(TrainingRequirement.retired_at.is_(None))
            .order_by(TrainingRequirement.name, TrainingRequirement.id)
        )
    )


def _choice_of(requirement: TrainingRequirement) -> str:
    if requirement.audience == "handlers":
        return f"handlers:{requirement.min_level}"
    return requirement.audience


def audience_choice_words(value: str) -> str:
    words = {
        "handlers:1": _("all handlers"),
        "handlers:2": _("handlers at escalation level 2 or above"),
        "handlers:3": _("handlers at escalation level 3"),
        "admins": _("admins"),
        "custodians": _("custodians"),
        "analysts": _("analysts"),
        "staff": _("all staff"),
    }
    return words.get(value, value)


def requirements_summary(session: Session) -> list[str]:
    """The training requirements in words, one sentence each, in the page's language, for the
    published policy page (seeds/003, "Training requirements"): e.g. "All handlers complete
    “Handling whistleblowing reports”, and again every 24 months." Retired requirements are
    left out; an empty list means the site requires no training, and the page says what it
    says then. Names are as the admins wrote them (the page escapes them like anything typed).
    """
    sentences = []
    for requirement in _active(session):
        who = audience_choice_words(_choice_of(requirement))
        if requirement.valid_months is None:
            sentences.append(
                _(
                    "%(who)s complete “%(name)s” once.",
                    who=who[:1].upper() + who[1:],
                    name=requirement.name,
                )
            )
        else:
            sentences.append(
                _n(
                    "%(who)s complete “%(name)s”, and again every month.",
                    "%(who)s complete “%(name)s”, and again every %(num)d months.",
                    requirement.valid_months,
                    who=who[:1].upper() + who[1:],
                    name=requirement.name,
                )
            )
    return sentences
