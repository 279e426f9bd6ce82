from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.models import AuditEntry, OutboxMessage, RecipientChangeState, User
from portal.services import accounts, approvals, intake
from portal.services.approvals import RecipientState
from portal.services.errors import InvalidInputError, NotFoundError
from tests.factories import NOW, make_admin, make_handler

NOTICE = approvals.Notice(site_name="Test Organisation", base_url="https://candor.example")
LABELS = {"fraud": "Fraud", "safety": "Safety", "hr": "Workplace"}


def state(is_handler: bool, level: int, *categories: str) -> RecipientState:
    return RecipientState.of(is_handler, level, categories)


@pytest.mark.parametrize(
    ("before", "after", "widening"),
    [
        (state(False, 1), state(True, 1, "fraud"), True),
        (state(True, 1, "fraud"), state(True, 1, "fraud", "safety"), True),
        (state(True, 1, "fraud"), state(True, 1), True),  # no category: every category
        (state(True, 1, "fraud"), state(True, 2, "fraud"), True),
        (state(True, 1, "fraud"), state(True, 1, "safety"), True),
        (state(True, 2, "fraud", "safety"), state(True, 2, "fraud"), False),
        (state(True, 2), state(True, 1, "fraud"), False),
        (state(True, 3), state(False, 3), False),
        (state(False, 1), state(False, 3), False),
        (state(True, 1), state(True, 1), False),
    ],
)
def test_what_widens(before: RecipientState, after: RecipientState, widening: bool) -> None:
    assert approvals.widens(before, after) is widening


def change(db: Session, requester: User, user: User, after: RecipientState) -> None:
    approvals.apply_or_hold(
        db,
        requester,
        user,
        is_handler=after.is_handler,
        level=after.level,
        categories=after.categories,
        now=NOW,
        notice=NOTICE,
    )
    db.commit()


def test_narrowing_takes_effect_at_once(db: Session) -> None:
    admin = make_admin(db)
    hanna = make_handler(db, "hanna", level=2, categories=("fraud", "safety"))
    change(db, admin, hanna, state(True, 1, "fraud"))
    assert approvals.state_of(db, hanna) == state(True, 1, "fraud")
    assert approvals.find_pending(db, hanna.id) is None
    change(db, admin, hanna, state(False, 1, "fraud"))
    assert not hanna.is_handler
    assert approvals.find_pending(db, hanna.id) is None


def test_a_mixed_change_narrows_at_once_and_holds_the_rest(db: Session) -> None:
    admin = make_admin(db)
    hanna = make_handler(db, "hanna", level=2, categories=("fraud", "safety"))
    change(db, admin, hanna, state(True, 3, "fraud", "hr"))
    # Safety stops at once; Workplace and level 3 wait.
    assert approvals.state_of(db, hanna) == state(True, 2, "fraud")
    pending = approvals.find_pending(db, hanna.id)
    assert pending is not None
    assert approvals.requested_state(pending) == state(True, 3, "fraud", "hr")


def test_a_switch_to_other_categories_keeps_the_old_ones_until_decided(db: Session) -> None:
    admin = make_admin(db)
    hanna = make_handler(db, "hanna", categories=("fraud",))
    change(db, admin, hanna, state(True, 1, "safety"))
    # Dropping fraud first would leave no category, which means every category.
    assert approvals.state_of(db, hanna) == state(True, 1, "fraud")
    assert [r.id for r in intake.list_recipients(db, "safety")] == []


def test_saving_the_same_request_again_keeps_one_change_and_one_notice(db: Session) -> None:
    admin = make_admin(db)
    bob = make_admin(db, "bob")
    bob.email = "bob@example.org"
    hanna = make_handler(db, "hanna", categories=("fraud",))
    change(db, admin, hanna, state(True, 1, "fraud", "safety"))
    first = approvals.find_pending(db, hanna.id)
    change(db, admin, hanna, state(True, 1, "fraud", "safety"))
    assert approvals.find_pending(db, hanna.id) is first
    assert len(db.scalars(select(OutboxMessage)).all()) == 1


def test_a_newer_request_withdraws_the_older_one(db: Session) -> None:
    admin = make_admin(db)
    hanna = make_handler(db, "hanna", categories=("fraud",))
    change(db, admin, hanna, state(True, 1, "fraud", "safety"))
    first = approvals.find_pending(db, hanna.id)
    assert first is not None
    change(db, admin, hanna, state(True, 1, "fraud"))
    assert first.state is RecipientChangeState.WITHDRAWN
    assert approvals.find_pending(db, hanna.id) is None
    actions = db.scalars(select(AuditEntry.action).where(AuditEntry.subject_id == hanna.id))
    assert "recipient_change_withdrawn" in list(actions)


def test_approvers_are_second_people_of_the_right_kind(db: Session) -> None:
    admin = make_admin(db)
    bob = make_admin(db, "bob")
    sven = make_handler(db, "sven", level=2)
    make_handler(db, "otto")  # level 1: not an approver
    gone = make_handler(db, "gone", level=3)
    gone.active = False
    hanna = make_handler(db, "hanna", categories=("fraud",))
    change(db, admin, hanna, state(True, 1))
    pending = approvals.find_pending(db, hanna.id)
    assert pending is not None
    assert [u.username for u in approvals.approvers(db, pending)] == ["bob", "sven"]
    # The account itself is never its own approver, even at level 2.
    change(db, bob, sven, state(True, 3))
    raised = approvals.find_pending(db, sven.id)
    assert raised is not None
    assert [u.username for u in approvals.approvers(db, raised)] == ["admin"]


def test_the_notice_names_a_reference_and_a_link_only(db: Session) -> None:
    admin = make_admin(db)
    admin.email = "admin@example.org"
    bob = make_admin(db, "bob")
    bob.email = "bob@example.org"
    sven = make_handler(db, "sven", level=2)
    sven.email = "sven@example.org"
    hanna = make_handler(db, "hanna", categories=("fraud",))
    change(db, admin, hanna, state(True, 1, "fraud", "safety"))
    messages = db.scalars(select(OutboxMessage).order_by(OutboxMessage.to_address)).all()
    # The requester is not told to approve their own request.
    assert [m.to_address for m in messages] == ["bob@example.org", "sven@example.org"]
    for message in messages:
        assert "https://candor.example/staff/approvals" in message.body
        assert "hanna" not in (message.subject + message.body).lower()
        assert "safety" not in (message.subject + message.body).lower()


def test_approval_applies_the_change_and_a_second_decision_is_refused(db: Session) -> None:
    admin = make_admin(db)
    bob = make_admin(db, "bob")
    hanna = make_handler(db, "hanna", categories=("fraud",))
    change(db, admin, hanna, state(True, 2, "fraud", "safety"))
    pending = approvals.find_pending(db, hanna.id)
    assert pending is not None
    decided = approvals.decide(db, bob, pending.id, approve=True, now=NOW)
    assert decided.change.state is RecipientChangeState.APPROVED
    assert decided.change.decided_by_id == bob.id
    assert approvals.state_of(db, hanna) == state(True, 2, "fraud", "safety")
    with pytest.raises(NotFoundError, match="already decided"):
        approvals.decide(db, bob, pending.id, approve=False, now=NOW)
    assert approvals.state_of(db, hanna) == state(True, 2, "fraud", "safety")


def test_nobody_decides_their_own_request_or_account_or_below_level_2(db: Session) -> None:
    admin = make_admin(db)
    otto = make_handler(db, "otto")
    hanna = make_handler(db, "hanna", level=2, categories=("fraud",))
    change(db, admin, hanna, state(True, 3, "fraud"))
    pending = approvals.find_pending(db, hanna.id)
    assert pending is not None
    for person, why in ((admin, "You asked"), (hanna, "your own account"), (otto, "cannot")):
        with pytest.raises(approvals.NotAllowedError, match=why):
            approvals.decide(db, person, pending.id, approve=True, now=NOW)
    assert hanna.level == 2


def test_a_change_for_a_deactivated_account_cannot_be_approved(db: Session) -> None:
    admin = make_admin(db)
    bob = make_admin(db, "bob")
    hanna = make_handler(db, "hanna", categories=("fraud",))
    change(db, admin, hanna, state(True, 1))
    accounts.deactivate(db, admin, hanna, NOW)
    pending = approvals.find_pending(db, hanna.id)
    assert pending is not None
    with pytest.raises(InvalidInputError, match="deactivated"):
        approvals.decide(db, bob, pending.id, approve=True, now=NOW)
    approvals.decide(db, bob, pending.id, approve=False, now=NOW)
    assert approvals.state_of(db, hanna) == state(True, 1, "fraud")


def test_consequences_say_what_starts_in_words(db: Session) -> None:
    admin = make_admin(db)
    make_admin(db, "bob")
    nina, _ = accounts.invite_user(
        db,
        admin,
        username="nina",
        display_name="Nina",
        title="",
        level=2,
        is_handler=True,
        is_admin=False,
        categories=("fraud", "safety"),
        now=NOW,
    )
    assert not nina.is_handler
    pending = approvals.find_pending_change(db, nina.id)
    assert pending is not None and pending.has_approver
    assert pending.consequences(LABELS) == [
        "Nina will become a handler: colleagues can then give them cases.",
        "Nina will start receiving new reports in: Fraud, Safety.",
        "Nina will join escalation at level 2 (supervisor).",
    ]


def test_the_command_line_creates_a_handler_in_effect_at_once(db: Session) -> None:
    hanna = make_handler(db, "hanna")
    assert [r.id for r in intake.list_recipients(db, "fraud")] == [hanna.id]
    assert approvals.find_pending(db, hanna.id) is None


def test_two_decisions_at_once_cannot_both_apply(
    db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    admin = make_admin(db)
    bob = make_admin(db, "bob")
    carol = make_admin(db, "carol")
    hanna = make_handler(db, "hanna", categories=("fraud",))
    change(db, admin, hanna, state(True, 1, "fraud", "safety"))
    pending = approvals.find_pending(db, hanna.id)
    assert pending is not None
    stale = approvals.get_pending(db, pending.id)
    approvals.decide(db, bob, pending.id, approve=False, now=NOW)
    # Carol read the change before Bob's rejection landed; her approval must not apply.
    monkeypatch.setattr(approvals, "get_pending", lambda session, change_id: stale)
    with pytest.raises(NotFoundError, match="already decided"):
        approvals.decide(db, carol, pending.id, approve=True, now=NOW)
    db.expire_all()
    assert approvals.state_of(db, hanna) == state(True, 1, "fraud")
