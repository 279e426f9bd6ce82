"""Integrity tags on everything sealed and every public key: one place that seals, opens and checks.

A database writer (a leaked backup restored elsewhere, a stolen credential, an injected query)
could otherwise seal a fake report to a case's public key, or put their own public key in a
case's or handler's row and read whatever the server seals next. Every sealed item and every
public key carries an HMAC-SHA256 tag under ``security.integrity_key``, a key from the
configuration that the database never holds, bound to the row the value belongs to. Reads verify
the tag before anything is opened, and keys are checked before anything is sealed to them; a
missing or wrong tag raises ``crypto.IntegrityCheckError`` (a ``DecryptionError``), which the web
layer shows as the integrity page. Rows written before tags existed have none and are refused
until the operator runs ``flask --app wsgi candor integrity sign-existing``.

Services call ``seal_item`` and ``open_item`` here instead of ``crypto.seal`` and
``crypto.open_sealed``.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

import crypto
from portal.db import INTEGRITY_KEY
from portal.models import Attachment, AuthorKind, Case, CaseKeyGrant, Message, Note, User
from portal.services import contexts

SEALED = b"sealed"
WRAPPED = b"wrapped"
PUBLIC_KEY = b"public-key"


class MissingIntegrityKeyError(RuntimeError):
    """The session was built without the integrity key: a programming error, never data."""


def integrity_key(session: Session) -> bytes:
    """The key from the configuration, carried on the session by its sessionmaker.

    On the session rather than a parameter: every service that reads or writes sealed content
    (intake, messaging, casework, the inbox, sign-in, the clock worker) already gets the session,
    and the key belongs with the rows the session reads. Threading it through every function
    and view would add a parameter to some forty call sites for no gain in what can be checked.
    """
    key = session.info.get(INTEGRITY_KEY)
    if not isinstance(key, bytes):
        raise MissingIntegrityKeyError("this database session carries no integrity key")
    return key


def binding(associated_data: bytes, bound: bytes = b"") -> bytes:
    """What a sealed item's tag is bound to: its place (the associated data it was sealed with)
    and the clear columns that say who wrote it, so those cannot be changed undetected either.
    The associated data never contains ``|``, so the joint is unambiguous."""
    return associated_data + b"|" + bound if bound else associated_data


def tag_item(session: Session, blob: bytes, associated_data: bytes, bound: bytes = b"") -> bytes:
    """The tag of a sealed ``blob`` stored at the place named by ``associated_data``."""
    return crypto.integrity_tag(
        integrity_key(session), SEALED, binding(associated_data, bound), blob
    )


def check_item(
    session: Session, blob: bytes, tag: bytes | None, associated_data: bytes, bound: bytes = b""
) -> None:
    """Raise IntegrityCheckError unless ``blob`` is what the server sealed for this place."""
    crypto.verify_tag(integrity_key(session), SEALED, binding(associated_data, bound), blob, tag)


def seal_item(
    session: Session,
    public_key: bytes,
    plaintext: bytes,
    associated_data: bytes,
    bound: bytes = b"",
) -> tuple[bytes, bytes]:
    """Seal ``plaintext`` to ``public_key`` and return (blob, tag).

    The caller checks ``public_key`` first (``case_public_key`` or ``user_public_key``), so that
    nothing is sealed to a key that a database writer put there.
    """
    blob = crypto.seal(public_key, plaintext, associated_data)
    return blob, tag_item(session, blob, associated_data, bound)


def open_item(
    session: Session,
    private_key: bytes,
    blob: bytes,
    tag: bytes | None,
    associated_data: bytes,
    bound: bytes = b"",
) -> bytes:
    """Verify the tag, then open. A forged, moved, altered or untagged item raises
    ``DecryptionError`` before any of it is decrypted."""
    check_item(session, blob, tag, associated_data, bound)
    return crypto.open_sealed(private_key, blob, associated_data)


# --- the reporter's wrapped case key --------------------------------------------------------


def tag_reporter_key(session: Session, case: Case) -> None:
    case.reporter_wrapped_key_tag = crypto.integrity_tag(
        integrity_key(session),
        WRAPPED,
        contexts.reporter_key(case.uid),
        case.reporter_wrapped_key,
    )


def check_reporter_key(session: Session, case: Case) -> None:
    """Checked before the passphrase is tried: a substituted blob could otherwise let its maker
    in with a passphrase of their own, or carry Argon2 parameters that exhaust the server."""
    crypto.verify_tag(
        integrity_key(session),
        WRAPPED,
        contexts.reporter_key(case.uid),
        case.reporter_wrapped_key,
        case.reporter_wrapped_key_tag,
    )


# --- public keys ----------------------------------------------------------------------------


def sign_case_key(session: Session, case: Case) -> None:
    case.public_key_tag = crypto.integrity_tag(
        integrity_key(session), PUBLIC_KEY, contexts.case_public_key(case.uid), case.public_key
    )


def case_public_key(session: Session, case: Case) -> bytes:
    """The case's public key, only if it is the one the server stored for this case."""
    crypto.verify_tag(
        integrity_key(session),
        PUBLIC_KEY,
        contexts.case_public_key(case.uid),
        case.public_key,
        case.public_key_tag,
    )
    return case.public_key


def sign_user_key(session: Session, user: User) -> None:
    user.public_key_tag = (
        None
        if user.public_key is None
        else crypto.integrity_tag(
            integrity_key(session), PUBLIC_KEY, contexts.user_public_key(user.id), user.public_key
        )
    )


def user_public_key(session: Session, user: User) -> bytes:
    """The handler's public key, only if it is the one the server stored for this account."""
    if user.public_key is None:
        raise crypto.IntegrityCheckError("account has no public key")
    crypto.verify_tag(
        integrity_key(session),
        PUBLIC_KEY,
        contexts.user_public_key(user.id),
        user.public_key,
        user.public_key_tag,
    )
    return user.public_key


def user_key_is_genuine(session: Session, user: User) -> bool:
    try:
        user_public_key(session, user)
    except crypto.DecryptionError:
        return False
    return True


# --- what each row's sealed item is bound to --------------------------------------------------


def message_bound(author_kind: AuthorKind, author_id: int | None) -> bytes:
    return f"author:{author_kind.value}:{author_id if author_id is not None else ''}".encode()


def note_bound(author_id: int) -> bytes:
    return f"author:{author_id}".encode()


def attachment_bound(author_kind: AuthorKind, message_id: int | None) -> bytes:
    message = message_id if message_id is not None else ""
    return f"author:{author_kind.value};message:{message}".encode()


def message_place(case_uid: str, message: Message) -> tuple[bytes, bytes]:
    return contexts.message(case_uid, message.uid), message_bound(
        message.author_kind, message.author_id
    )


def note_place(case_uid: str, note: Note) -> tuple[bytes, bytes]:
    return contexts.note(case_uid, note.uid), note_bound(note.author_id)


def attachment_place(case_uid: str, attachment: Attachment) -> tuple[bytes, bytes]:
    return contexts.attachment_meta(case_uid, attachment.uid), attachment_bound(
        attachment.author_kind, attachment.message_id
    )


def grant_place(case_uid: str, grant: CaseKeyGrant) -> tuple[bytes, bytes]:
    return contexts.case_key(case_uid, grant.user_id), b""
