"""The operator's tools for integrity tags: sign the rows of an older database, and verify all.

``sign_existing`` is run once after upgrading, while the database can still be trusted: it tags
every value that has no tag yet. A value whose tag is present but wrong is never re-signed (that
would launder a forgery); it is reported instead. ``verify`` reports every value that fails.
Neither opens anything: they read ciphertext and public keys only, and name rows by reference.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

import crypto
from portal.models import Attachment, Case, CaseKeyGrant, Message, Note, User
from portal.services import contexts, integrity
from portal.services.inbox import reference

# Rows are read in batches of this many, so a large database passes through bounded memory.
BATCH = 500


@dataclass(frozen=True)
class _Tagged:
    """One stored value with what its tag is bound to, and where the tag lives."""

    row: object
    tag_attribute: str
    label: bytes
    binding: bytes
    value: bytes
    where: str


@dataclass
class ScanResult:
    checked: int = 0
    signed: int = 0
    # Content-free descriptions of what failed: "case C-1A2B3C4D: report", never a value.
    failed: list[str] = field(default_factory=list)


# The rows around a case that hold one sealed value each: model, sealed column, the place its tag
# is bound to, and how the report names the row (never its content).
_SEALED_ROWS: tuple[
    tuple[Any, str, Callable[[str, Any], tuple[bytes, bytes]], Callable[[Any], str]], ...
] = (
    (
        CaseKeyGrant,
        "sealed_case_key",
        integrity.grant_place,
        lambda grant: f"key granted to account {grant.user_id}",
    ),
    (Message, "sealed_body", integrity.message_place, lambda message: f"message {message.uid}"),
    (Note, "sealed_body", integrity.note_place, lambda note: f"note {note.uid}"),
    (
        Attachment,
        "sealed_meta",
        integrity.attachment_place,
        lambda attachment: f"attachment {attachment.uid}",
    ),
)


def _sealed(
    row: object, attribute: str, value: bytes, place: tuple[bytes, bytes], where: str
) -> _Tagged:
    return _Tagged(row, attribute, integrity.SEALED, integrity.binding(*place), value, where)


def _case_values(case: Case) -> Iterator[_Tagged]:
    ref = f"case {reference(case)}"
    yield _Tagged(
        case,
        "public_key_tag",
        integrity.PUBLIC_KEY,
        contexts.case_public_key(case.uid),
        case.public_key,
        f"{ref}: public key",
    )
    yield _Tagged(
        case,
        "reporter_wrapped_key_tag",
        integrity.WRAPPED,
        contexts.reporter_key(case.uid),
        case.reporter_wrapped_key,
        f"{ref}: reporter's key",
    )
    yield _sealed(
        case,
        "sealed_report_tag",
        case.sealed_report,
        (contexts.report(case.uid), b""),
        f"{ref}: report",
    )
    yield _sealed(
        case,
        "sealed_preview_tag",
        case.sealed_preview,
        (contexts.preview(case.uid), b""),
        f"{ref}: preview",
    )
    if case.sealed_identity is not None:
        yield _sealed(
            case,
            "sealed_identity_tag",
            case.sealed_identity,
            (contexts.identity(case.uid), b""),
            f"{ref}: identity",
        )


def _batches(session: Session) -> Iterator[list[_Tagged]]:
    """Every tagged value, a batch of cases (with their rows) or of accounts at a time.

    Each batch is read completely before it is handed out, so the caller may change and flush
    its rows without a read still open on the connection.
    """
    last = 0
    while True:
        cases = list(
            session.scalars(
                select(Case)
                # A deleted case has no keys nor ciphertexts left to check.
                .where(Case.id > last, Case.deleted_at.is_(None))
                .order_by(Case.id)
                .limit(BATCH)
            )
        )
        if not cases:
            break
        last = cases[-1].id
        by_id = {case.id: case for case in cases}
        items = [item for case in cases for item in _case_values(case)]
        for model, column, place, label in _SEALED_ROWS:
            for row in session.scalars(select(model).where(model.case_id.in_(by_id))):
                case = by_id[row.case_id]
                items.append(
                    _sealed(
                        row,
                        "tag",
                        getattr(row, column),
                        place(case.uid, row),
                        f"case {reference(case)}: {label(row)}",
                    )
                )
        yield items
    last = 0
    while True:
        users = list(
            session.scalars(select(User).where(User.id > last).order_by(User.id).limit(BATCH))
        )
        if not users:
            break
        last = users[-1].id
        yield [
            _Tagged(
                user,
                "public_key_tag",
                integrity.PUBLIC_KEY,
                contexts.user_public_key(user.id),
                user.public_key,
                f"account {user.username!r}: public key",
            )
            for user in users
            if user.public_key is not None
        ]


def _check(key: bytes, item: _Tagged) -> bool:
    try:
        crypto.verify_tag(
            key, item.label, item.binding, item.value, getattr(item.row, item.tag_attribute)
        )
    except crypto.DecryptionError:
        return False
    return True


def sign_existing(session: Session) -> ScanResult:
    """Tag every stored value that has no tag; report (never re-sign) those whose tag is wrong.

    Run once after upgrading, while the database is trusted: whatever is in an untagged row
    when this runs is taken as genuine from then on. Commits once.
    """
    key = integrity.integrity_key(session)
    result = ScanResult()
    for items in _batches(session):
        for item in items:
            result.checked += 1
            if getattr(item.row, item.tag_attribute) is None:
                tag = crypto.integrity_tag(key, item.label, item.binding, item.value)
                setattr(item.row, item.tag_attribute, tag)
                result.signed += 1
            elif not _check(key, item):
                result.failed.append(item.where)
        # Written batch by batch, so that the rows need not all stay in memory until the end.
        session.flush()
    session.commit()
    return result


def verify(session: Session) -> ScanResult:
    """Check every stored value's tag; untagged values count as failures. Changes nothing."""
    key = integrity.integrity_key(session)
    result = ScanResult()
    for items in _batches(session):
        for item in items:
            result.checked += 1
            if not _check(key, item):
                result.failed.append(item.where)
    session.rollback()
    return result
