"""Recipient changes: nobody starts receiving reports on one person's word.

The threat: an admin, or whoever holds an admin's session, makes itself or a friend a handler (or
widens a handler's categories or level) and reads every new report from then on. A change that
makes an account receive reports it does not receive today is therefore held as a pending
recipient change until a second person approves it: another admin, or an active handler at level
2 or above; never the person who asked for it, never the account being changed. The account's own
columns keep the approved state, and they are all that intake, escalation and grants read.

Narrowing (a category removed, a level lowered, the handler role dropped) takes effect at once:
receiving less never exposes a report, and waiting would keep a report flowing to someone who
should no longer get it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, delete, or_, select, update
from sqlalchemy.orm import Session

from portal.i18n import _, _l, in_language
from portal.models import RecipientChange, RecipientChangeState, User, UserCategory
from portal.services import audit, notifications
from portal.services.errors import InvalidInputError, NotFoundError, ServiceError

APPROVER_LEVEL = 2
LEVEL_NAMES = {1: _l("handler"), 2: _l("supervisor"), 3: _l("executive or committee")}
WHO_MAY_APPROVE = _l(
    "Another admin, or an active handler at level 2 (supervisor) or 3, can approve it; never the "
    "person who asked for it, and never the account itself."
)
# The command stays as it is typed, whatever the page's language.
HOW_TO_GET_AN_APPROVER = _l(
    "Nobody on this site can approve it yet. The operator who runs the server can create a "
    "level-2 handler, who takes effect at once, with: %(command)s",
    command="flask --app wsgi candor create-user "
    '--role handler --level 2 --username NAME --display-name "Full Name"',
)
ALREADY_DECIDED = _l(
    "This change was already decided or replaced by a newer one; nothing was changed."
)


class NotAllowedError(ServiceError):
    """The person may not decide this change (the message says why and who can)."""


@dataclass(frozen=True)
class RecipientState:
    """What an account receives: handler or not, escalation level, categories (none: all)."""

    is_handler: bool
    level: int
    categories: tuple[str, ...]

    @classmethod
    def of(cls, is_handler: bool, level: int, categories: Iterable[str]) -> RecipientState:
        return cls(is_handler, level, tuple(sorted(set(categories))))

    def receives(self, all_categories: Iterable[str]) -> frozenset[str]:
        """The categories whose new reports this state receives."""
        if not self.is_handler:
            return frozenset()
        return frozenset(self.categories or all_categories)

    def summary(self) -> str:
        """Short and key-based, for the audit trail (category keys name no person or report)."""
        if not self.is_handler:
            return "not a handler"
        return f"handler, level {self.level}, categories {', '.join(self.categories) or 'all'}"


@dataclass(frozen=True)
class Notice:
    """Where an e-mail to the approvers points (the site's name and address only)."""

    site_name: str
    base_url: str


@dataclass(frozen=True)
class PendingChange:
    """A change waiting for a decision, with what is in effect now and what it asks for."""

    change: RecipientChange
    user: User
    requested_by: User
    before: RecipientState
    after: RecipientState
    # False when nobody on the site may decide it (a single admin, say).
    has_approver: bool

    def consequences(self, labels: Mapping[str, str]) -> list[str]:
        """In words: what the account starts receiving once approved."""
        name = self.user.display_name
        lines = []
        if self.after.is_handler and not self.before.is_handler:
            lines.append(
                _("%(name)s will become a handler: colleagues can then give them cases.", name=name)
            )
        gained = sorted(self.after.receives(labels) - self.before.receives(labels))
        if gained:
            words = ", ".join(labels.get(key, key) for key in gained)
            lines.append(
                _(
                    "%(name)s will start receiving new reports in: %(words)s.",
                    name=name,
                    words=words,
                )
            )
        if self.after.is_handler and not self.after.categories and self.before.categories:
            lines.append(_("%(name)s will also receive every category added later.", name=name))
        if self.after.is_handler and (
            not self.before.is_handler or self.after.level > self.before.level
        ):
            level = self.after.level
            lines.append(
                _(
                    "%(name)s will join escalation at level %(level)s (%(level_name)s).",
                    name=name,
                    level=level,
                    level_name=LEVEL_NAMES[level],
                )
            )
        return lines


def state_of(session: Session, user: User) -> RecipientState:
    """The approved state: what the account receives today."""
    categories = session.scalars(
        select(UserCategory.category).where(UserCategory.user_id == user.id)
    )
    return RecipientState.of(user.is_handler, user.level, categories)


def requested_state(change: RecipientChange) -> RecipientState:
    return RecipientState.of(change.is_handler, change.level, change.categories)


def widens(before: RecipientState, after: RecipientState) -> bool:
    """True when ``after`` receives a report that ``before`` does not (or escalates higher)."""
    if not after.is_handler:
        return False
    if not before.is_handler or after.level > before.level:
        return True
    if not before.categories:  # already every category
        return False
    return not after.categories or bool(set(after.categories) - set(before.categories))


def _meanwhile(before: RecipientState, after: RecipientState) -> RecipientState:
    """The narrowing part of a widening change: it applies at once, the rest waits."""
    if not before.is_handler:
        return before
    if not after.categories:
        categories = before.categories
    elif not before.categories:
        categories = after.categories
    else:
        # "No category" means every category, so a switch to a disjoint set cannot drop the old
        # ones before the new are approved without widening to everything: they stay until then.
        categories = tuple(sorted(set(before.categories) & set(after.categories)))
        categories = categories or before.categories
    return RecipientState(True, min(before.level, after.level), categories)


def _apply(session: Session, user: User, state: RecipientState) -> None:
    user.is_handler, user.level = state.is_handler, state.level
    session.execute(delete(UserCategory).where(UserCategory.user_id == user.id))
    for category in state.categories:
        session.add(UserCategory(user_id=user.id, category=category))


def find_pending(session: Session, user_id: int) -> RecipientChange | None:
    return session.scalar(
        select(RecipientChange).where(
            RecipientChange.user_id == user_id,
            RecipientChange.state == RecipientChangeState.PENDING,
        )
    )


def apply_or_hold(
    session: Session,
    requester: User,
    user: User,
    *,
    is_handler: bool,
    level: int,
    categories: Iterable[str],
    now: datetime,
    notice: Notice | None,
) -> RecipientChange | None:
    """Set what ``user`` receives: narrowing at once, widening held for a second person.

    Returns the pending change, if any. A newer request replaces an older pending one (which is
    withdrawn, never silently approved). Runs in the caller's transaction; the caller commits.
    """
    before = state_of(session, user)
    after = RecipientState.of(is_handler, level, categories)
    current = find_pending(session, user.id)
    held = widens(before, after)
    _apply(session, user, _meanwhile(before, after) if held else after)
    if current is not None:
        if held and requested_state(current) == after:
            # The same request saved again: no second approval round, no second e-mail.
            return current
        current.state = RecipientChangeState.WITHDRAWN
        current.decided_by_id, current.decided_at = requester.id, now
        audit.record(
            session,
            "recipient_change_withdrawn",
            now=now,
            actor_id=requester.id,
            subject_id=user.id,
            detail=f"change {current.id}",
        )
    if not held:
        return None
    change = RecipientChange(
        user_id=user.id,
        requested_by_id=requester.id,
        requested_at=now,
        is_handler=after.is_handler,
        level=after.level,
        categories=list(after.categories),
        state=RecipientChangeState.PENDING,
    )
    session.add(change)
    session.flush()
    audit.record(
        session,
        "recipient_change_requested",
        now=now,
        actor_id=requester.id,
        subject_id=user.id,
        detail=f"change {change.id}: {before.summary()} -> {after.summary()}"[:500],
    )
    if notice is not None:
        _notify_approvers(session, change, notice, now)
    return change


def may_approve(user: User) -> bool:
    """Whether ``user`` is of a kind that approves recipient changes (not yet: which ones)."""
    return (
        user.active
        and user.activated
        and (user.is_admin or (user.is_handler and user.level >= APPROVER_LEVEL))
    )


def approvers(session: Session, change: RecipientChange) -> list[User]:
    """Everyone who may decide ``change``: neither its requester nor its subject."""
    return list(
        session.scalars(
            select(User)
            .where(
                User.active.is_(True),
                User.password_wrapped_key.is_not(None),
                or_(
                    User.is_admin.is_(True),
                    and_(User.is_handler.is_(True), User.level >= APPROVER_LEVEL),
                ),
                User.id.not_in([change.user_id, change.requested_by_id]),
            )
            .order_by(User.username)
        )
    )


def _notify_approvers(
    session: Session, change: RecipientChange, notice: Notice, now: datetime
) -> None:
    # A reference and a link only: who is being made a recipient is for the signed-in page.
    # Staff choose no language of their own, so the e-mail is in the site's default.
    for person in approvers(session, change):
        if not person.email or "\r" in person.email or "\n" in person.email:
            continue
        with in_language(None):
            subject = _(
                "[%(site)s] Change %(id)s waits for your approval",
                site=notice.site_name,
                id=change.id,
            )
            body = _(
                "Change %(id)s would let an account receive reports it does not receive "
                "today. It takes effect only after a second person approves it.\n\n"
                "Review it (you will be asked to sign in):\n%(url)s\n\n"
                "This message names nobody by design.\n",
                id=change.id,
                url=f"{notice.base_url}/staff/approvals",
            )
        notifications.enqueue(
            session, to=person.email, subject=subject, body=body, recipient_id=person.id, now=now
        )


def _pending_change(session: Session, change: RecipientChange) -> PendingChange:
    user = session.get_one(User, change.user_id)
    return PendingChange(
        change=change,
        user=user,
        requested_by=session.get_one(User, change.requested_by_id),
        before=state_of(session, user),
        after=requested_state(change),
        has_approver=bool(approvers(session, change)),
    )


def list_pending(session: Session) -> list[PendingChange]:
    """Every change waiting for a decision, oldest first, each with its before and after."""
    changes = session.scalars(
        select(RecipientChange)
        .where(RecipientChange.state == RecipientChangeState.PENDING)
        .order_by(RecipientChange.requested_at, RecipientChange.id)
    )
    return [_pending_change(session, change) for change in changes]


def pending_by_user(session: Session) -> dict[int, PendingChange]:
    return {pending.user.id: pending for pending in list_pending(session)}


def find_pending_change(session: Session, user_id: int) -> PendingChange | None:
    change = find_pending(session, user_id)
    return None if change is None else _pending_change(session, change)


def get_pending(session: Session, change_id: int) -> PendingChange:
    change = session.get(RecipientChange, change_id)
    if change is None or change.state is not RecipientChangeState.PENDING:
        raise NotFoundError(ALREADY_DECIDED)
    return _pending_change(session, change)


def check_may_decide(person: User, change: RecipientChange) -> None:
    """Raise NotAllowedError unless ``person`` is a second person for ``change``."""
    if person.id == change.requested_by_id:
        raise NotAllowedError(
            _(
                "You asked for this change, so a second person must decide it. %(who)s",
                who=WHO_MAY_APPROVE,
            )
        )
    if person.id == change.user_id:
        raise NotAllowedError(
            _(
                "This change is about your own account, so someone else must decide it. %(who)s",
                who=WHO_MAY_APPROVE,
            )
        )
    if not may_approve(person):
        raise NotAllowedError(_("You cannot decide this change. %(who)s", who=WHO_MAY_APPROVE))


def decide(
    session: Session, person: User, change_id: int, *, approve: bool, now: datetime
) -> PendingChange:
    """Approve (the account receives what was asked from now on) or reject (nothing changes).

    Only a second person decides; the change is claimed with a conditional update, so two
    decisions sent at once cannot both apply. Audited with who and when. Commits once.
    """
    pending = get_pending(session, change_id)
    check_may_decide(person, pending.change)
    if (
        approve
        and pending.after.is_handler
        and (pending.user.is_custodian or pending.user.is_analyst)
    ):
        # A custodian or an analyst never holds a case key; the admin must change the role first.
        raise InvalidInputError(
            _(
                "This account is a custodian or an analyst, so it cannot be made a handler. "
                "Reject the change."
            )
        )
    if approve and not pending.user.active:
        raise InvalidInputError(
            _("This account is deactivated, so the change cannot take effect. Reject it instead.")
        )
    state = RecipientChangeState.APPROVED if approve else RecipientChangeState.REJECTED
    claimed = session.execute(
        update(RecipientChange)
        .where(
            RecipientChange.id == change_id,
            RecipientChange.state == RecipientChangeState.PENDING,
        )
        .values(state=state, decided_by_id=person.id, decided_at=now)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]  # CursorResult for an UPDATE
        session.rollback()
        raise NotFoundError(ALREADY_DECIDED)
    if approve:
        _apply(session, pending.user, pending.after)
    audit.record(
        session,
        "recipient_change_approved" if approve else "recipient_change_rejected",
        now=now,
        actor_id=person.id,
        subject_id=pending.user.id,
        detail=(
            f"change {change_id}: {pending.before.summary()} -> {pending.after.summary()}"[:500]
        ),
    )
    session.commit()
    session.refresh(pending.change)
    return pending


def labels_in_order(keys: Sequence[str], labels: Mapping[str, str]) -> str:
    """Category keys as their labels, for a person to read (none: every category)."""
    return ", ".join(labels.get(key, key) for key in keys) or _("every category")
