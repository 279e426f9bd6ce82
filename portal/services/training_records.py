"""Training records: who completed which required training and when, and where everyone
stands (the gaps the admin pages flag). The requirements themselves are in
``portal.services.training``.

A completion is about a staff member, never about a case or a reporter: the training, the day,
and an admin's short note, in the clear (docs/threat-model.md says why).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.i18n import _
from portal.models import TrainingCompletion, TrainingRequirement, User
from portal.services import audit
from portal.services.errors import InvalidInputError, NotFoundError
from portal.services.training import MAX_NOTE, applies_to, expires_on, list_requirements


@dataclass(frozen=True)
class Gap:
    """A required training that a person lacks: never completed (``expired_on`` None), or whose
    last completion stopped counting on ``expired_on``."""

    requirement: TrainingRequirement
    expired_on: date | None = None


@dataclass(frozen=True)
class Standing:
    """One requirement as it stands for one person: their latest completion, if any, and the
    day it stops counting (None: it never does, or there is no completion)."""

    requirement: TrainingRequirement
    latest: TrainingCompletion | None
    expires_on: date | None

    def gap(self, today: date) -> Gap | None:
        if self.latest is None:
            return Gap(self.requirement)
        if self.expires_on is not None and self.expires_on <= today:
            return Gap(self.requirement, self.expires_on)
        return None


@dataclass(frozen=True)
class Person:
    """A staff member with every active requirement that applies to them."""

    user: User
    standings: tuple[Standing, ...]

    def gaps(self, today: date) -> list[Gap]:
        return [gap for s in self.standings if (gap := s.gap(today)) is not None]


# -- completions ----------------------------------------------------------------------------


def get_completion(session: Session, completion_id: int) -> TrainingCompletion:
    completion = session.get(TrainingCompletion, completion_id)
    if completion is None:
        raise NotFoundError(_("No such training record."))
    return completion


def completions_of(session: Session, user_id: int) -> list[TrainingCompletion]:
    """A person's recorded completions, the latest first."""
    return list(
        session.scalars(
            select(TrainingCompletion)
            .where(TrainingCompletion.user_id == user_id)
            .order_by(TrainingCompletion.completed_on.desc(), TrainingCompletion.id.desc())
        )
    )


def record_completion(
    session: Session,
    user: User,
    *,
    requirement_id: int,
    completed_on: date,
    note: str,
    today: date,
    actor_id: int,
    now: datetime,
) -> TrainingCompletion:
    """An admin records that ``user`` completed a training on a day (not in the future, by the
    site's calendar ``today``). Validated, audited; commits once."""
    requirement = _active_requirement(session, requirement_id)
    completion = TrainingCompletion(
        user_id=user.id,
        requirement_id=requirement.id,
        completed_on=_checked_day(completed_on, today),
        note=_checked_note(note),
        recorded_at=now,
        recorded_by_id=actor_id,
    )
    session.add(completion)
    session.flush()
    audit.record(
        session,
        "training_recorded",
        now=now,
        actor_id=actor_id,
        subject_id=user.id,
        detail=f"#{completion.id}: {requirement.name!r} on {completion.completed_on.isoformat()}",
    )
    session.commit()
    return completion


def correct_completion(
    session: Session,
    completion: TrainingCompletion,
    *,
    requirement_id: int,
    completed_on: date,
    note: str,
    today: date,
    actor_id: int,
    now: datetime,
) -> None:
    """An admin corrects a recorded completion (the training, the day or the note). Validated,
    audited with what it was; commits once."""
    if requirement_id != completion.requirement_id:
        _active_requirement(session, requirement_id)
    day, clean_note = _checked_day(completed_on, today), _checked_note(note)
    before = _describe_completion(session, completion)
    completion.requirement_id = requirement_id
    completion.completed_on = day
    completion.note = clean_note
    audit.record(
        session,
        "training_corrected",
        now=now,
        actor_id=actor_id,
        subject_id=completion.user_id,
        detail=f"#{completion.id}: {before} -> {_describe_completion(session, completion)}",
    )
    session.commit()


def remove_completion(
    session: Session, completion: TrainingCompletion, *, actor_id: int, now: datetime
) -> None:
    """An admin removes a completion recorded by mistake. Audited with what it was; commits."""
    detail = f"#{completion.id}: {_describe_completion(session, completion)}"
    user_id = completion.user_id
    session.delete(completion)
    audit.record(
        session,
        "training_removed",
        now=now,
        actor_id=actor_id,
        subject_id=user_id,
        detail=detail,
    )
    session.commit()


def _active_requirement(session: Session, requirement_id: int) -> TrainingRequirement:
    requirement = session.get(TrainingRequirement, requirement_id)
    if requirement is None or requirement.retired_at is not None:
        raise InvalidInputError(_("Training: choose one of the list."))
    return requirement


def _checked_day(day: date, today: date) -> date:
    if day > today:
        raise InvalidInputError(
            _("Completed on: the day cannot be in the future. Enter the day it was completed.")
        )
    if day.year < 1970:
        raise InvalidInputError(_("Completed on: enter a day from 1970 on."))
    return day


def _checked_note(note: str) -> str:
    clean = note.strip()
    if len(clean) > MAX_NOTE:
        raise InvalidInputError(_("Note: at most %(max)d characters.", max=MAX_NOTE))
    return clean


def _describe_completion(session: Session, completion: TrainingCompletion) -> str:
    requirement = session.get(TrainingRequirement, completion.requirement_id)
    name = requirement.name if requirement is not None else "?"
    return f"{name!r} on {completion.completed_on.isoformat()}"


# -- where everyone stands ------------------------------------------------------------------


@dataclass(frozen=True)
class Overview:
    """What the admins' training page shows: the requirements, where each person stands, and
    the active accounts no requirement applies to (whose records can still be kept)."""

    requirements: list[TrainingRequirement]
    retired: list[TrainingRequirement]
    people: list[Person]
    others: list[User]


@dataclass(frozen=True)
class PersonRecord:
    """One person's page: their standing (None: nothing is required of them), their recorded
    completions (the latest first), and every requirement by id, retired ones included, to
    name the trainings those completions are of."""

    standing: Person | None
    completions: list[TrainingCompletion]
    requirements: dict[int, TrainingRequirement]


def overview(session: Session) -> Overview:
    users = list(session.scalars(select(User).where(User.active).order_by(User.username)))
    people = standings(session, users)
    required = {person.user.id for person in people}
    return Overview(
        requirements=list_requirements(session),
        retired=list_requirements(session, retired=True),
        people=people,
        others=[user for user in users if user.id not in required],
    )


def person_record(session: Session, user: User) -> PersonRecord:
    found = standings(session, [user])
    return PersonRecord(
        standing=found[0] if found else None,
        completions=completions_of(session, user.id),
        requirements={r.id: r for r in session.scalars(select(TrainingRequirement))},
    )


def count_required_of(session: Session, requirement: TrainingRequirement) -> int:
    """How many active accounts ``requirement`` applies to now."""
    users = session.scalars(select(User).where(User.active))
    return sum(1 for user in users if applies_to(requirement, user))


def standings(session: Session, users: Iterable[User] | None = None) -> list[Person]:
    """Every active account that some active requirement applies to (or those of ``users``),
    by username, with its standing on each: three queries, not one per person."""
    requirements = list_requirements(session)
    if users is None:
        users = session.scalars(select(User).where(User.active).order_by(User.username))
    people = [(u, [r for r in requirements if applies_to(r, u)]) for u in users]
    people = [(u, rs) for u, rs in people if rs]
    latest = _latest_completions(session, [u.id for u, _rs in people])
    return [
        Person(
            user,
            tuple(_standing(r, latest.get((user.id, r.id))) for r in requirements_of),
        )
        for user, requirements_of in people
    ]


def gaps_by_user(session: Session, today: date) -> dict[int, list[Gap]]:
    """For the accounts list: each active account's missing or expired trainings, by user id
    (an account with no gap is not in it)."""
    gaps = {person.user.id: person.gaps(today) for person in standings(session)}
    return {user_id: found for user_id, found in gaps.items() if found}


def _standing(requirement: TrainingRequirement, latest: TrainingCompletion | None) -> Standing:
    until = expires_on(latest.completed_on, requirement.valid_months) if latest else None
    return Standing(requirement, latest, until)


def _latest_completions(
    session: Session, user_ids: Sequence[int]
) -> dict[tuple[int, int], TrainingCompletion]:
    if not user_ids:
        return {}
    latest: dict[tuple[int, int], TrainingCompletion] = {}
    rows = session.scalars(
        select(TrainingCompletion)
        .where(TrainingCompletion.user_id.in_(user_ids))
        .order_by(TrainingCompletion.completed_on, TrainingCompletion.id)
    )
    for completion in rows:
        # Ordered oldest first, so the last one written for a pair is its latest.
        latest[(completion.user_id, completion.requirement_id)] = completion
    return latest
