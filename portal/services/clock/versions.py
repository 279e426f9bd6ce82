"""Policies an organisation makes from a preset and edits, one immutable version per save, and
the one way every part of the site finds the rules a case runs.

A case names its policies when it is filed: a preset by its name ("seed-complaints", the rules
as shipped), a custom policy by its exact version ("acme-complaints@3"). Its deadlines carry the
same reference, so an edit never changes the rules of a deadline already running; a new case
takes the latest version. Versions are never changed, so a parsed version is cached per process
by (name, version) and stays right however many instances serve the site.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from importlib import resources

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from portal.i18n import _
from portal.models import PolicyVersion, User
from portal.services import audit
from portal.services.clock.policy_text import PolicyTextError, check_name, parse_text, renamed
from portal.services.errors import AlreadyExistsError, InvalidInputError, NotFoundError
from portal.services.policies import PRESETS, Policy, PolicyError, load_policy

MAX_NOTE_LENGTH = 500
MAX_TITLE_LENGTH = 200

_parsed: dict[tuple[str, int], Policy] = {}


def reference(name: str, version: int | None) -> str:
    """How a case and its deadlines name a policy: a preset by name, a custom one by version."""
    return name if version is None else f"{name}@{version}"


def split_reference(ref: str) -> tuple[str, int | None]:
    """(name, version) of a reference; version None for a preset or a bare name."""
    name, at, number = ref.partition("@")
    if not at:
        return name, None
    if not number.isdigit():
        raise PolicyError(f"unknown policy {ref!r}")
    return name, int(number)


def version_label(ref: str) -> str:
    """The version in words, as the case page names it."""
    name, version = split_reference(ref)
    if version is None:
        return _("%(name)s (as shipped)", name=name) if name in PRESETS else name
    return _("%(name)s, version %(version)d", name=name, version=version)


def resolve_policy(session: Session, ref: str) -> Policy:
    """The rules ``ref`` names: a preset as shipped, a custom policy's exact version, or (a bare
    custom name) its latest version. A custom policy's ``name`` is then its reference, so
    deadlines keyed by it keep their version. PolicyError if there is no such policy."""
    name, version = split_reference(ref)
    if version is None:
        if name in PRESETS:
            return load_policy(name)
        version = latest_version(session, name)
        if version is None:
            raise PolicyError(f"unknown policy {ref!r}")
    key = (name, version)
    cached = _parsed.get(key)
    if cached is not None:
        return cached
    content = session.scalar(
        select(PolicyVersion.content).where(
            PolicyVersion.name == name, PolicyVersion.version == version
        )
    )
    if content is None:
        raise PolicyError(f"unknown policy {ref!r}")
    try:
        policy = replace(parse_text(content, name), name=reference(name, version))
    except PolicyTextError as exc:
        # Saved versions were checked when saved; a parser that has since grown stricter says so.
        raise PolicyError(f"policy {ref}: {exc}") from None
    _parsed[key] = policy
    return policy


def forget_cached() -> None:
    """Forget every parsed version: for a process that moves to another database (the tests)."""
    _parsed.clear()


def resolve_all(session: Session, refs: Iterable[str]) -> list[Policy]:
    return [resolve_policy(session, ref) for ref in refs]


def latest_version(session: Session, name: str) -> int | None:
    number = session.scalar(
        select(func.max(PolicyVersion.version)).where(PolicyVersion.name == name)
    )
    return int(number) if number is not None else None


def pin_versions(session: Session, names: Iterable[str]) -> list[str]:
    """The references a new case fixes for its policies: presets by name, custom policies at
    their latest version, so later edits leave the case's deadlines as they started."""
    pinned = []
    for name in names:
        base, version = split_reference(name)
        if version is None and base not in PRESETS:
            version = latest_version(session, base)
            if version is None:
                raise PolicyError(f"unknown policy {name!r}")
        pinned.append(reference(base, version))
    return pinned


def is_custom(name: str) -> bool:
    return name not in PRESETS


@dataclass(frozen=True)
class CustomPolicy:
    """A custom policy as the list shows it: its latest version."""

    name: str
    title: str
    version: int
    based_on: str

    @property
    def reference(self) -> str:
        return reference(self.name, self.version)


def custom_policies(session: Session) -> list[CustomPolicy]:
    """Every custom policy at its latest version, by name."""
    latest = (
        select(PolicyVersion.name, func.max(PolicyVersion.version).label("version"))
        .group_by(PolicyVersion.name)
        .subquery()
    )
    rows = session.execute(
        select(PolicyVersion.name, PolicyVersion.version, PolicyVersion.based_on)
        .join(
            latest,
            (latest.c.name == PolicyVersion.name) & (latest.c.version == PolicyVersion.version),
        )
        .order_by(PolicyVersion.name)
    ).tuples()
    return [
        CustomPolicy(
            name=name,
            title=resolve_policy(session, reference(name, version)).title,
            version=version,
            based_on=based_on,
        )
        for name, version, based_on in rows
    ]


def custom_names(session: Session) -> list[str]:
    return list(session.scalars(select(PolicyVersion.name).distinct().order_by(PolicyVersion.name)))


def get_version(session: Session, name: str, version: int | None = None) -> PolicyVersion:
    """A custom policy's version (its latest when ``version`` is None); NotFoundError if none."""
    number = latest_version(session, name) if version is None else version
    row = (
        session.scalar(
            select(PolicyVersion).where(PolicyVersion.name == name, PolicyVersion.version == number)
        )
        if number is not None
        else None
    )
    if row is None:
        raise NotFoundError("There is no such policy version.")
    return row


def preset_text(name: str) -> str:
    if name not in PRESETS:
        raise InvalidInputError(_("Choose one of the presets."))
    return resources.files("portal.policies").joinpath(f"{name}.toml").read_text("utf-8")


def create_from_preset(
    session: Session, preset: str, name: str, title: str, *, actor: User, now: datetime
) -> PolicyVersion:
    """An admin makes a custom policy, version 1, from a preset's text with a new name and
    title; the preset itself stays as shipped. Audited. Commits once.

    Raises InvalidInputError (bad preset, name or title), AlreadyExistsError (name taken).
    """
    text = preset_text(preset)
    try:
        check_name(name)
    except PolicyTextError as exc:
        raise InvalidInputError(str(exc)) from None
    title = title.strip()
    if not title or len(title) > MAX_TITLE_LENGTH:
        raise InvalidInputError(
            _("Give a title of at most %(most)d characters.", most=MAX_TITLE_LENGTH)
        )
    if latest_version(session, name) is not None:
        raise AlreadyExistsError(_("A policy with this name exists already; choose another."))
    return _add_version(
        session,
        name,
        1,
        renamed(text, name, title),
        based_on=preset,
        note=f"Created from the preset {preset}.",
        actor=actor,
        now=now,
        action="policy_created",
    )


def save_version(
    session: Session,
    name: str,
    text: str,
    note: str,
    *,
    edited_version: int,
    actor: User,
    now: datetime,
) -> PolicyVersion:
    """An admin's edit of a custom policy becomes its next version; earlier versions stay as
    they are, so deadlines running under them keep their rules. Audited. Commits once.

    ``edited_version`` is the version the admin started from: if another admin saved meanwhile,
    nothing is saved (InvalidInputError), so no edit silently undoes another. PolicyTextError
    says what is wrong with the text.
    """
    current = get_version(session, name)
    note = note.strip()
    if not note:
        raise InvalidInputError(_("Say in a few words what changed."))
    if len(note) > MAX_NOTE_LENGTH:
        raise InvalidInputError(
            _("Keep the note to at most %(most)d characters.", most=MAX_NOTE_LENGTH)
        )
    if current.version != edited_version:
        raise InvalidInputError(
            _(
                "Version %(saved)d was saved while you were editing version %(edited)d, so "
                "nothing was saved. Open the policy again and redo the change.",
                saved=current.version,
                edited=edited_version,
            )
        )
    parse_text(text, name)
    if text == current.content:
        raise InvalidInputError(_("Nothing was changed, so no new version was saved."))
    return _add_version(
        session,
        name,
        current.version + 1,
        text,
        based_on=current.based_on,
        note=note,
        actor=actor,
        now=now,
        action="policy_edited",
    )


def _add_version(
    session: Session,
    name: str,
    version: int,
    text: str,
    *,
    based_on: str,
    note: str,
    actor: User,
    now: datetime,
    action: str,
) -> PolicyVersion:
    parse_text(text, name)
    row = PolicyVersion(
        name=name,
        version=version,
        content=text,
        based_on=based_on,
        created_at=now,
        created_by_id=actor.id,
        note=note,
    )
    session.add(row)
    try:
        session.flush()
    except IntegrityError:
        # Two admins saving the same version at once: the unique (name, version) keeps one.
        session.rollback()
        raise AlreadyExistsError(
            _(
                "Another version was saved at the same moment, so nothing was saved. "
                "Open the policy again and redo the change."
            )
        ) from None
    audit.record(
        session,
        action,
        now=now,
        actor_id=actor.id,
        detail=f"{reference(name, version)} (from {based_on})",
    )
    session.commit()
    return row


@dataclass(frozen=True)
class VersionEntry:
    """One line of a policy's history."""

    version: int
    created_at: datetime
    created_by: str | None
    note: str


def history(session: Session, name: str) -> list[VersionEntry]:
    """Every version of ``name``, newest first, with who saved it, when, and why."""
    rows = session.execute(
        select(PolicyVersion, User.display_name)
        .outerjoin(User, User.id == PolicyVersion.created_by_id)
        .where(PolicyVersion.name == name)
        .order_by(PolicyVersion.version.desc())
    ).tuples()
    entries = [VersionEntry(row.version, row.created_at, who, row.note) for row, who in rows]
    if not entries:
        raise NotFoundError("There is no such policy.")
    return entries


def diff_to_previous(session: Session, name: str, version: int) -> Sequence[str]:
    """The lines that ``version`` changed from the one before (version 1: from its preset)."""
    row = get_version(session, name, version)
    if version > 1:
        before = get_version(session, name, version - 1).content
        label = _("version %(number)d", number=version - 1)
    else:
        before = preset_text(row.based_on)
        label = _("%(name)s (as shipped)", name=row.based_on)
    return list(
        difflib.unified_diff(
            before.splitlines(),
            row.content.splitlines(),
            fromfile=label,
            tofile=_("version %(number)d", number=version),
            lineterm="",
        )
    )
