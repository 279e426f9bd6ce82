"""Policies an organisation makes from a preset and edits: each save is a new version, a case
keeps the version it was filed under (its due times and the worker's acts), a new case takes
the latest, and every create and edit is audited."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.models import AuditEntry, DeadlineState, OutboxMessage, PolicyVersion, User
from portal.services import clock
from portal.services.clock import policy_text, reviews, versions
from portal.services.clock.policy_text import ClockChange, PolicyTextError
from portal.services.errors import AlreadyExistsError, InvalidInputError
from portal.services.policies import PolicyError, load_policy
from tests.factories import make_admin
from tests.portal.services.test_clock import (
    SECOND,
    T0,
    audit_actions,
    deadline,
    file_case,
    ladder,
    settings,
)

__all__ = ["ladder", "settings"]  # fixtures, shared with the clock's own tests

DAY = timedelta(days=1)
T1 = T0 + SECOND


def create(db: Session, admin: User, name: str = "acme-reports") -> PolicyVersion:
    return versions.create_from_preset(
        db, "eu-directive", name, "Reports at Acme", actor=admin, now=T0 - DAY
    )


def shorter_acknowledgement(db: Session, admin: User, name: str = "acme-reports") -> None:
    """Version 2: acknowledge within 3 days, no warnings, no escalation."""
    row = versions.get_version(db, name)
    text = policy_text.with_clock_changes(
        row.content,
        {
            "acknowledge": ClockChange(
                duration=3,
                unit="calendar_days",
                warn_before=(),
                escalate_every=None,
                at_expiry=("notify",),
            )
        },
    )
    versions.save_version(
        db, name, text, "Acknowledge within 3 days.", edited_version=1, actor=admin, now=T0
    )


def audit_rows(db: Session, action: str) -> list[AuditEntry]:
    return list(db.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def test_a_policy_made_from_a_preset_is_version_1_with_its_rules_and_the_preset_unchanged(
    db: Session,
) -> None:
    admin = make_admin(db)
    row = create(db, admin)
    assert (row.name, row.version, row.based_on) == ("acme-reports", 1, "eu-directive")
    assert row.note == "Created from the preset eu-directive."
    policy = versions.resolve_policy(db, "acme-reports@1")
    preset = load_policy("eu-directive")
    assert policy.name == "acme-reports@1" and policy.title == "Reports at Acme"
    assert policy.clocks == preset.clocks
    # The text keeps the preset's comments and sources.
    assert "Article 9(1)(b)" in row.content and row.content.startswith("#")
    assert load_policy("eu-directive").title == preset.title
    [entry] = audit_rows(db, "policy_created")
    assert entry.actor_id == admin.id and entry.detail == "acme-reports@1 (from eu-directive)"


def test_names_are_checked_and_taken_once(db: Session) -> None:
    admin = make_admin(db)
    create(db, admin)
    with pytest.raises(AlreadyExistsError):
        create(db, admin)
    for bad in ("eu-directive", "Acme", "acme@2", "-acme", "a" * 49, ""):
        with pytest.raises(InvalidInputError):
            create(db, admin, bad)
    with pytest.raises(InvalidInputError, match="Choose one of the presets"):
        versions.create_from_preset(db, "no-such", "other", "Other", actor=admin, now=T0)
    assert versions.custom_names(db) == ["acme-reports"]


def test_an_edit_is_version_2_audited_and_version_1_stays_as_it_was(db: Session) -> None:
    admin = make_admin(db)
    first = create(db, admin).content
    shorter_acknowledgement(db, admin)
    assert [e.version for e in versions.history(db, "acme-reports")] == [2, 1]
    assert versions.get_version(db, "acme-reports", 1).content == first
    assert str(versions.resolve_policy(db, "acme-reports@1").clock("acknowledge").duration) == (
        "7 calendar days"
    )
    latest = versions.resolve_policy(db, "acme-reports")
    assert latest.name == "acme-reports@2"
    ack = latest.clock("acknowledge")
    assert (str(ack.duration), ack.warn_before, ack.escalate_every) == ("3 calendar days", (), None)
    assert ack.at_expiry == frozenset({"notify"})
    # The edit changed only the values the form sets: comments and sources are kept.
    assert "Article 9(1)(b)" in versions.get_version(db, "acme-reports").content
    [entry] = audit_rows(db, "policy_edited")
    assert entry.actor_id == admin.id and entry.detail == "acme-reports@2 (from eu-directive)"
    diff = "\n".join(versions.diff_to_previous(db, "acme-reports", 2))
    assert "-duration = 7" in diff and "+duration = 3" in diff
    assert "+title" in "\n".join(versions.diff_to_previous(db, "acme-reports", 1))


@pytest.mark.usefixtures("ladder")
def test_a_case_keeps_the_version_it_was_filed_under_and_a_new_case_takes_the_latest(
    db: Session, app: Flask, settings: clock.ClockSettings
) -> None:
    admin = make_admin(db)
    create(db, admin)
    old = file_case(db, app, settings, policies=("acme-reports",))
    assert old.policies == ["acme-reports@1"]
    assert deadline(db, old, "acknowledge").policy == "acme-reports@1"
    assert deadline(db, old, "acknowledge").due_at == T0 + 7 * DAY

    shorter_acknowledgement(db, admin)
    # A second later, so that it is not taken for the first form sent again.
    new = file_case(db, app, settings, policies=("acme-reports",), now=T1)
    assert new.policies == ["acme-reports@2"]
    assert deadline(db, new, "acknowledge").due_at == T1 + 3 * DAY
    assert deadline(db, old, "acknowledge").due_at == T0 + 7 * DAY
    [view] = [v for v in clock.deadlines_of(db, old) if v.clock == "acknowledge"]
    assert view.version == "acme-reports, version 1"
    [view] = [v for v in clock.deadlines_of(db, new) if v.clock == "acknowledge"]
    assert view.version == "acme-reports, version 2"
    preset = file_case(db, app, settings, policies=("eu-directive",))
    assert next(v.version for v in clock.deadlines_of(db, preset)) == "eu-directive (as shipped)"


@pytest.mark.usefixtures("ladder")
def test_the_worker_acts_on_the_rules_of_each_cases_version(
    db: Session, app: Flask, settings: clock.ClockSettings
) -> None:
    admin = make_admin(db)
    create(db, admin)
    old = file_case(db, app, settings, policies=("acme-reports",))
    shorter_acknowledgement(db, admin)
    # A second later, so that it is not taken for the first form sent again.
    new = file_case(db, app, settings, policies=("acme-reports",), now=T1)

    # Version 2 is due after 3 days: the new case breaches then, the old one runs on.
    clock.tick(db, now=T1 + 3 * DAY, settings=settings)
    assert deadline(db, new, "acknowledge").state is DeadlineState.BREACHED
    assert deadline(db, old, "acknowledge").state is DeadlineState.RUNNING
    # Version 1 warns 2 days before its 7: the old case is warned, the new one has no warnings.
    clock.tick(db, now=T0 + 5 * DAY - SECOND, settings=settings)
    assert "deadline_warning" not in audit_actions(db, old)
    clock.tick(db, now=T0 + 5 * DAY, settings=settings)
    assert audit_actions(db, old).count("deadline_warning") == 1
    assert "deadline_warning" not in audit_actions(db, new)
    # Version 1 escalates at its due time; version 2 only notifies.
    clock.tick(db, now=T0 + 7 * DAY, settings=settings)
    assert deadline(db, old, "acknowledge").state is DeadlineState.BREACHED
    db.refresh(old)
    db.refresh(new)
    assert old.escalation_level == 2
    assert new.escalation_level == 1
    assert not {"escalated", "escalation_exhausted", "escalation_skipped"} & set(
        audit_actions(db, new)
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name = ", "not valid TOML"),
        ('name = "other"\ntitle = "x"\n', 'keep the line name = "acme-reports"'),
        ('name = "acme-reports"\ntitle = "x"\n', "no clocks"),
    ],
)
def test_an_invalid_text_saves_nothing_and_says_why(db: Session, text: str, message: str) -> None:
    admin = make_admin(db)
    create(db, admin)
    with pytest.raises(PolicyTextError, match=message):
        versions.save_version(
            db, "acme-reports", text, "Broken.", edited_version=1, actor=admin, now=T0
        )
    assert versions.latest_version(db, "acme-reports") == 1
    assert audit_rows(db, "policy_edited") == []


def test_a_clock_rule_the_parser_refuses_names_the_clock(db: Session) -> None:
    admin = make_admin(db)
    row = create(db, admin)
    text = row.content.replace('at_expiry = ["notify", "escalate"]', 'at_expiry = ["explode"]', 1)
    assert text != row.content
    with pytest.raises(PolicyTextError, match=r"clock acknowledge: at_expiry: unknown action"):
        versions.save_version(db, "acme-reports", text, "x", edited_version=1, actor=admin, now=T0)


def test_a_stale_edit_an_empty_note_or_no_change_saves_nothing(db: Session) -> None:
    admin = make_admin(db)
    row = create(db, admin)
    shorter_acknowledgement(db, admin)
    changed = row.content.replace("Reports at Acme", "Acme reports")
    with pytest.raises(InvalidInputError, match="Version 2 was saved while you were editing"):
        versions.save_version(
            db, "acme-reports", changed, "Retitled.", edited_version=1, actor=admin, now=T0
        )
    with pytest.raises(InvalidInputError, match="what changed"):
        versions.save_version(
            db, "acme-reports", changed, "  ", edited_version=2, actor=admin, now=T0
        )
    same = versions.get_version(db, "acme-reports").content
    with pytest.raises(InvalidInputError, match="Nothing was changed"):
        versions.save_version(
            db, "acme-reports", same, "No-op.", edited_version=2, actor=admin, now=T0
        )
    assert versions.latest_version(db, "acme-reports") == 2


def test_references_resolve_once_per_version_and_unknown_ones_are_refused(db: Session) -> None:
    admin = make_admin(db)
    create(db, admin)
    first = versions.resolve_policy(db, "acme-reports@1")
    assert versions.resolve_policy(db, "acme-reports@1") is first  # cached: versions never change
    assert versions.resolve_policy(db, "eu-directive") is load_policy("eu-directive")
    for ref in ("acme-reports@2", "eu-directive@1", "nobody", "acme-reports@x"):
        with pytest.raises(PolicyError):
            versions.resolve_policy(db, ref)
    assert versions.version_label("acme-reports@1") == "acme-reports, version 1"
    assert versions.version_label("seed-complaints") == "seed-complaints (as shipped)"


def test_a_category_chooses_a_custom_policy_by_name_and_never_a_version(
    db: Session, app: Flask
) -> None:
    admin = make_admin(db)
    create(db, admin)
    intake = app.extensions["candor.config"].intake
    clock.choose_policies(db, "fraud", ["eu-directive", "acme-reports"], actor=admin, now=T0)
    assert clock.policies_for(db, intake, "fraud") == ("eu-directive", "acme-reports")
    assert versions.pin_versions(db, ["eu-directive", "acme-reports"]) == [
        "eu-directive",
        "acme-reports@1",
    ]
    for wrong in (["acme-reports@1"], ["nobody"]):
        with pytest.raises(InvalidInputError):
            clock.choose_policies(db, "fraud", wrong, actor=admin, now=T0)


def test_the_command_line_preview_reads_a_custom_policy_at_its_latest_or_a_given_version(
    db: Session, app: Flask
) -> None:
    admin = make_admin(db)
    create(db, admin)
    shorter_acknowledgement(db, admin)

    def preview(policy: str) -> str:
        args = ["candor", "clock", "preview", "--policy", policy, "--received", "2026-12-01 09:00"]
        return app.test_cli_runner().invoke(args=args).output

    assert "2026-12-04 09:00  acme-reports@2/acknowledge  due" in preview("acme-reports")
    assert "2026-12-08 09:00  acme-reports@1/acknowledge  due" in preview("acme-reports@1")
    assert "The policies are: eu-directive, seed-complaints, seed-membership, acme-reports." in (
        preview("acme")
    )


def test_a_custom_policy_in_use_is_reviewed_by_name_whatever_its_version(
    db: Session, app: Flask, settings: clock.ClockSettings
) -> None:
    admin = make_admin(db)
    admin.email = "admin@example.org"
    versions.create_from_preset(
        db, "seed-complaints", "acme-complaints", "Complaints at Acme", actor=admin, now=T0
    )
    intake = app.extensions["candor.config"].intake
    clock.choose_policies(db, "fraud", ["acme-complaints"], actor=admin, now=T0)
    assert reviews.queue_review_reminders(db, settings, intake, now=T0) == 0
    status = reviews.review_status(db, "acme-complaints", settings.calendar)
    assert status.counted_from == T0 and status.next_due is not None
    assert reviews.queue_review_reminders(db, settings, intake, now=status.next_due) == 1
    [message] = db.scalars(select(OutboxMessage))
    assert message.subject.endswith("A policy review is due: acme-complaints")
    assert "/admin/policies/acme-complaints\n" in message.body
    done = reviews.mark_reviewed(
        db, "acme-complaints", actor=admin, calendar=settings.calendar, now=status.next_due
    )
    assert done.reviewed_at == status.next_due
