"""Key escrow at the service level: creation, escrow copies of case keys, recovery by M of N
escrow custodians, paper shares, wrong and tampered shares, and re-splitting."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from flask import Flask
from shamir_mnemonic.share import Share
from sqlalchemy import select
from sqlalchemy.orm import Session

import crypto
from portal.config import Config
from portal.models import (
    AuditEntry,
    Case,
    CaseEscrowKey,
    CaseKeyGrant,
    EscrowApproval,
    EscrowCustodian,
    EscrowRequestKey,
    EscrowRequestState,
    User,
)
from portal.services import casework, clock, contexts, intake, integrity, messaging
from portal.services.errors import AlreadyExistsError, InvalidInputError
from portal.services.staff import escrow, escrow_answers, escrow_requests
from portal.services.staff.escrow import PaperShare
from portal.services.staff.escrow_requests import EscrowRequestError, WrongShareError
from tests.factories import NOW, handler_private_key, make_admin, make_handler

LATER = NOW + timedelta(hours=1)


@pytest.fixture
def settings(app: Flask) -> clock.ClockSettings:
    settings: clock.ClockSettings = app.extensions["candor.clock"]
    return settings


@pytest.fixture
def people(db: Session) -> dict[str, User]:
    return {
        "admin": make_admin(db),
        "hanna": make_handler(db, "hanna"),
        "sam": make_handler(db, "sam", level=2, categories=("safety",)),
        "tara": make_handler(db, "tara", level=2, categories=("safety",)),
        "uma": make_handler(db, "uma", level=3, categories=("safety",)),
    }


def file_case(db: Session, app: Flask, settings: clock.ClockSettings, n: int = 0) -> Case:
    config: Config = app.extensions["candor.config"]
    categories = tuple(replace(c, policies=("eu-directive",)) for c in config.intake.categories)
    receipt = intake.submit_report(
        db,
        intake.Submission(
            form_token=f"escrow{n:026d}",
            category="fraud",
            tier=3,
            answers={"what_happened": f"Report number {n}."},
        ),
        intake=replace(config.intake, categories=categories),
        pepper=config.security.receipt_pepper,
        profile=crypto.TEST,
        store=app.extensions["candor.attachments"],
        clock_settings=settings,
        now=NOW,
    )
    assert receipt.receipt_code
    return db.scalars(select(Case).order_by(Case.id.desc())).first()  # type: ignore[return-value]


def create(db: Session, people: dict[str, User], **kwargs: object) -> list[PaperShare]:
    fields: dict[str, object] = {
        "threshold": 2,
        "user_ids": [people["sam"].id, people["tara"].id],
        "paper_names": ["Pat Paper"],
    }
    fields.update(kwargs)
    return escrow.create_escrow(db, people["admin"], now=NOW, **fields)  # type: ignore[arg-type]


def actions(db: Session) -> list[str]:
    return list(db.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


def recover(db: Session, people: dict[str, User], ruth: User) -> int:
    request, uncovered = escrow_requests.request_recovery(
        db,
        people["admin"],
        handler_id=ruth.id,
        from_handler_id=people["hanna"].id,
        references="",
        reason="Hanna left without handing over.",
        now=NOW,
    )
    assert uncovered == 0
    return request.id


def read_report(db: Session, user: User, case: Case) -> str:
    access = casework.open_case(db, user, handler_private_key(user), case.uid)
    return messaging.read_report(db, access.case, access.case_private_key).answers[0][1]


def test_creating_the_escrow_keeps_only_sealed_shares(db: Session, people: dict[str, User]) -> None:
    paper = create(db, people)
    assert len(paper) == 1
    assert paper[0].name == "Pat Paper"
    assert len(paper[0].words) == 33
    assert "words=<hidden>" in repr(paper[0])
    found = escrow.get_escrow(db)
    assert escrow.escrow_public_key(db, found) == found.public_key
    rows = escrow.custodians(db, found)
    assert [r.paper_name for r in rows] == [None, None, "Pat Paper"]
    assert rows[2].sealed_share is None
    sam_share = integrity.open_item(
        db,
        handler_private_key(people["sam"]),
        rows[0].sealed_share or b"",
        rows[0].share_tag,
        contexts.escrow_share(found.id, rows[0].id),
    ).decode()
    # The staff share and the paper share together rebuild the key; either alone does not.
    assert crypto.combine_escrow_shares([sam_share, " ".join(paper[0].words)], found.public_key)
    with pytest.raises(crypto.TooFewSharesError):
        crypto.combine_escrow_shares([sam_share], found.public_key)
    # Sealed to Sam: Tara's key does not open it.
    with pytest.raises(crypto.DecryptionError):
        integrity.open_item(
            db,
            handler_private_key(people["tara"]),
            rows[0].sealed_share or b"",
            rows[0].share_tag,
            contexts.escrow_share(found.id, rows[0].id),
        )
    assert "escrow_created" in actions(db)
    with pytest.raises(AlreadyExistsError):
        create(db, people)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"threshold": 1}, "at least 2"),
        ({"threshold": 4}, "you chose 4 of 3"),
        ({"paper_names": ["Pat", "pat"]}, "must differ"),
        ({"user_ids": [0]}, "from the list"),
    ],
)
def test_impossible_choices_are_refused(
    db: Session, people: dict[str, User], fields: dict[str, object], message: str
) -> None:
    with pytest.raises(InvalidInputError, match=message):
        create(db, people, **fields)
    assert escrow.find_escrow(db) is None


def test_a_level_one_handler_cannot_hold_a_share(db: Session, people: dict[str, User]) -> None:
    with pytest.raises(InvalidInputError, match="from the list"):
        create(db, people, user_ids=[people["hanna"].id, people["sam"].id])


def test_new_cases_carry_an_escrow_copy(
    db: Session, app: Flask, settings: clock.ClockSettings, people: dict[str, User]
) -> None:
    create(db, people)
    case = file_case(db, app, settings)
    assert db.get(CaseEscrowKey, (case.id, escrow.get_escrow(db).id)) is not None
    status = escrow.escrow_status(db)
    assert status is not None
    assert (status.open_cases, status.covered, status.uncovered) == (1, 1, 0)


def test_older_cases_come_under_escrow_when_a_keyholder_opens_them(
    db: Session, app: Flask, settings: clock.ClockSettings, people: dict[str, User]
) -> None:
    case = file_case(db, app, settings)
    create(db, people)
    status = escrow.escrow_status(db)
    assert status is not None
    assert status.uncovered == 1
    hanna = people["hanna"]
    access = casework.open_case(db, hanna, handler_private_key(hanna), case.uid)
    casework.case_detail(db, access, now=LATER)
    status = escrow.escrow_status(db)
    assert status is not None
    assert status.uncovered == 0


def test_m_minus_one_approvals_grant_nothing_and_m_grant_the_chosen_cases(
    db: Session, app: Flask, settings: clock.ClockSettings, people: dict[str, User]
) -> None:
    create(db, people)
    cases = [file_case(db, app, settings, n) for n in range(2)]
    ruth = make_handler(db, "ruth", categories=("safety",))
    request_id = recover(db, people, ruth)

    first = escrow_answers.approve(
        db, request_id, people["sam"], handler_private_key(people["sam"]), now=LATER
    )
    assert (first.done, first.approvals, first.threshold) == (False, 1, 2)
    assert db.scalars(select(CaseKeyGrant).where(CaseKeyGrant.user_id == ruth.id)).all() == []
    with pytest.raises(casework.AccessError):
        casework.open_case(db, ruth, handler_private_key(ruth), cases[0].uid)
    with pytest.raises(EscrowRequestError, match="answered"):
        escrow_answers.approve(
            db, request_id, people["sam"], handler_private_key(people["sam"]), now=LATER
        )

    second = escrow_answers.approve(
        db, request_id, people["tara"], handler_private_key(people["tara"]), now=LATER
    )
    assert (second.done, second.granted, second.skipped) == (True, 2, 0)
    db.expire_all()
    assert [read_report(db, ruth, c) for c in cases] == ["Report number 0.", "Report number 1."]
    request = escrow_requests.get_request(db, request_id)
    assert request.state == EscrowRequestState.DONE
    # Every stored share and request key is gone once the request is done.
    approvals = db.scalars(select(EscrowApproval)).all()
    assert len(approvals) == 2
    assert all(a.sealed_share is None for a in approvals)
    assert db.scalars(select(EscrowRequestKey)).all() == []
    trail = actions(db)
    assert trail.count("escrow_approved") == 2
    assert trail.count("escrow_case_granted") == 2
    assert "escrow_recovery_requested" in trail
    assert "escrow_recovery_done" in trail
    with pytest.raises(EscrowRequestError, match="closed"):
        escrow_answers.approve(
            db, request_id, people["sam"], handler_private_key(people["sam"]), now=LATER
        )


def test_a_paper_share_typed_in_completes_the_recovery(
    db: Session, app: Flask, settings: clock.ClockSettings, people: dict[str, User]
) -> None:
    paper = create(db, people)
    case = file_case(db, app, settings)
    ruth = make_handler(db, "ruth", categories=("safety",))
    request_id = recover(db, people, ruth)
    pat = db.scalar(select(EscrowCustodian).where(EscrowCustodian.paper_name.is_not(None)))
    assert pat is not None
    escrow_answers.approve(
        db, request_id, people["sam"], handler_private_key(people["sam"]), now=LATER
    )
    # Tara is a custodian but not Pat's typist of choice: anyone holding the request key may type.
    admin = people["admin"]
    outcome = escrow_answers.enter_paper_share(
        db,
        request_id,
        pat.id,
        "\n".join(w.upper() for w in paper[0].words),
        admin,
        handler_private_key(admin),
        now=LATER,
    )
    assert outcome.done
    assert outcome.granted == 1
    db.expire_all()
    assert read_report(db, ruth, case) == "Report number 0."
    assert "escrow_paper_share_entered" in actions(db)


def tampered(words: tuple[str, ...]) -> str:
    share = Share.from_mnemonic(" ".join(words))
    value = bytearray(share.value)
    value[3] ^= 0x40
    return Share(
        share.identifier,
        share.extendable,
        share.iteration_exponent,
        share.group_index,
        share.group_threshold,
        share.group_count,
        share.index,
        share.member_threshold,
        bytes(value),
    ).mnemonic()


def test_wrong_and_tampered_paper_shares_are_refused_with_a_clear_message(
    db: Session, app: Flask, settings: clock.ClockSettings, people: dict[str, User]
) -> None:
    paper = create(db, people)
    case = file_case(db, app, settings)
    ruth = make_handler(db, "ruth", categories=("safety",))
    request_id = recover(db, people, ruth)
    pat = db.scalar(select(EscrowCustodian).where(EscrowCustodian.paper_name.is_not(None)))
    assert pat is not None
    admin = people["admin"]
    key = handler_private_key(admin)

    def enter(words: str) -> None:
        escrow_answers.enter_paper_share(db, request_id, pat.id, words, admin, key, now=LATER)

    mistyped = list(paper[0].words)
    mistyped[7] = "zebra" if mistyped[7] != "zebra" else "acid"
    with pytest.raises(WrongShareError, match="not a valid share"):
        enter(" ".join(mistyped))
    with pytest.raises(WrongShareError, match="not a valid share"):
        enter(" ".join(paper[0].words[:-1]))
    # Sam's share typed as Pat's: a valid share, but not the one given to Pat.
    rows = escrow.custodians(db, escrow.get_escrow(db))
    sam_words = integrity.open_item(
        db,
        handler_private_key(people["sam"]),
        rows[0].sealed_share or b"",
        rows[0].share_tag,
        contexts.escrow_share(rows[0].escrow_id, rows[0].id),
    ).decode()
    with pytest.raises(WrongShareError, match="not the one given to Pat Paper"):
        enter(sam_words)
    # A share of another split entirely.
    stranger = crypto.split_escrow_key(crypto.generate_escrow_key().private_key, 2, 3)
    with pytest.raises(WrongShareError, match="another set"):
        enter(stranger[0])
    # Altered with its checksum recomputed: only combining can tell, and it does.
    escrow_answers.approve(
        db, request_id, people["sam"], handler_private_key(people["sam"]), now=LATER
    )
    with pytest.raises(WrongShareError, match="do not fit together"):
        enter(tampered(paper[0].words))
    db.expire_all()
    assert db.get(EscrowApproval, (request_id, pat.id)) is None
    assert db.scalars(select(CaseKeyGrant).where(CaseKeyGrant.user_id == ruth.id)).all() == []
    assert "escrow_share_refused" in actions(db)
    # The right words still work afterwards: nothing was lost.
    assert escrow_answers.enter_paper_share(
        db, request_id, pat.id, " ".join(paper[0].words), admin, key, now=LATER
    ).done
    db.expire_all()
    assert read_report(db, ruth, case) == "Report number 0."


def test_a_recovery_names_at_least_one_case(db: Session, people: dict[str, User]) -> None:
    create(db, people)
    ruth = make_handler(db, "ruth")
    with pytest.raises(InvalidInputError, match="Choose the cases"):
        escrow_requests.request_recovery(
            db,
            people["admin"],
            handler_id=ruth.id,
            from_handler_id=None,
            references="",
            reason="Why",
            now=NOW,
        )
    assert escrow_requests.approvals_of is not None


def test_refusals_that_make_m_approvals_impossible_close_the_request(
    db: Session, app: Flask, settings: clock.ClockSettings, people: dict[str, User]
) -> None:
    create(db, people)
    file_case(db, app, settings)
    ruth = make_handler(db, "ruth", categories=("safety",))
    request_id = recover(db, people, ruth)
    assert not escrow_answers.refuse(db, request_id, people["sam"], now=LATER)
    assert escrow_answers.refuse(db, request_id, people["tara"], now=LATER)
    assert escrow_requests.get_request(db, request_id).state == EscrowRequestState.REFUSED
    assert {"escrow_refused", "escrow_request_refused"} <= set(actions(db))


def test_only_escrow_custodians_approve_and_only_level_two_asks(
    db: Session, app: Flask, settings: clock.ClockSettings, people: dict[str, User]
) -> None:
    create(db, people)
    file_case(db, app, settings)
    ruth = make_handler(db, "ruth", categories=("safety",))
    request_id = recover(db, people, ruth)
    hanna = people["hanna"]
    with pytest.raises(EscrowRequestError, match="not an escrow custodian"):
        escrow_answers.approve(db, request_id, hanna, handler_private_key(hanna), now=LATER)
    with pytest.raises(EscrowRequestError, match="level 2"):
        escrow_requests.request_recovery(
            db,
            hanna,
            handler_id=ruth.id,
            from_handler_id=hanna.id,
            references="",
            reason="Mine now",
            now=NOW,
        )


def test_a_resplit_hands_new_shares_to_the_new_set_and_old_shares_stop_working(
    db: Session, app: Flask, settings: clock.ClockSettings, people: dict[str, User]
) -> None:
    old_paper = create(db, people)
    case = file_case(db, app, settings)
    change = escrow_requests.request_change(
        db,
        people["admin"],
        threshold=2,
        user_ids=[people["tara"].id, people["uma"].id],
        paper_names=["Quinn Paper"],
        reason="Sam moves on; Pat hands back the paper share.",
        now=NOW,
    )
    escrow_answers.approve(
        db, change.id, people["sam"], handler_private_key(people["sam"]), now=LATER
    )
    outcome = escrow_answers.approve(
        db, change.id, people["tara"], handler_private_key(people["tara"]), now=LATER
    )
    assert outcome.done
    assert [p.name for p in outcome.paper_shares] == ["Quinn Paper"]
    found = escrow.get_escrow(db)
    assert found.generation == 2
    names = [c.name for c in escrow.custodian_views(db, found)]
    assert names == ["Tara", "Uma", "Quinn Paper"]
    assert "escrow_resplit" in actions(db)

    ruth = make_handler(db, "ruth", categories=("safety",))
    request_id = recover(db, people, ruth)
    with pytest.raises(EscrowRequestError, match="not an escrow custodian"):
        escrow_answers.approve(
            db, request_id, people["sam"], handler_private_key(people["sam"]), now=LATER
        )
    quinn = db.scalar(select(EscrowCustodian).where(EscrowCustodian.paper_name == "Quinn Paper"))
    assert quinn is not None
    admin = people["admin"]
    with pytest.raises(WrongShareError, match="another set"):
        escrow_answers.enter_paper_share(
            db,
            request_id,
            quinn.id,
            " ".join(old_paper[0].words),
            admin,
            handler_private_key(admin),
            now=LATER,
        )
    escrow_answers.approve(
        db, request_id, people["uma"], handler_private_key(people["uma"]), now=LATER
    )
    done = escrow_answers.enter_paper_share(
        db,
        request_id,
        quinn.id,
        " ".join(outcome.paper_shares[0].words),
        admin,
        handler_private_key(admin),
        now=LATER,
    )
    assert done.granted == 1
    db.expire_all()
    assert read_report(db, ruth, case) == "Report number 0."


def test_a_swapped_escrow_key_gets_nothing_sealed_to_it(
    db: Session, app: Flask, settings: clock.ClockSettings, people: dict[str, User]
) -> None:
    create(db, people)
    found = escrow.get_escrow(db)
    found.public_key = crypto.generate_keypair().public_key
    db.commit()
    case = file_case(db, app, settings)
    # The report is filed and read as usual; the forged key receives nothing.
    assert read_report(db, people["hanna"], case) == "Report number 0."
    assert db.scalars(select(CaseEscrowKey)).all() == []
    assert "escrow_key_refused" in actions(db)


def test_the_status_command_says_what_is_covered_and_refuses_a_swapped_key(
    db: Session, app: Flask, settings: clock.ClockSettings, people: dict[str, User]
) -> None:
    runner = app.test_cli_runner()
    assert "No escrow" in runner.invoke(args=["candor", "escrow", "status"]).output
    file_case(db, app, settings)
    create(db, people)
    result = runner.invoke(args=["candor", "escrow", "status"])
    assert result.exit_code == 0, result.output
    assert "2 of 3 escrow custodians must approve; generation 1." in result.output
    assert "Sam, Tara, Pat Paper (paper)" in result.output
    assert "Open cases under escrow: 0 of 1" in result.output
    found = escrow.get_escrow(db)
    found.public_key = crypto.generate_keypair().public_key
    db.commit()
    swapped = runner.invoke(args=["candor", "escrow", "status"])
    assert swapped.exit_code != 0
    assert "failed its integrity check" in swapped.output
