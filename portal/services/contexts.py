"""Associated data for every sealed item: binds each ciphertext to its place, so that a blob
copied into another row or another case fails to open."""

from __future__ import annotations


def reporter_key(case_uid: str) -> bytes:
    return f"candor:case:{case_uid}:reporter-key".encode()


def report(case_uid: str) -> bytes:
    return f"candor:case:{case_uid}:report".encode()


def identity(case_uid: str) -> bytes:
    return f"candor:case:{case_uid}:identity".encode()


def case_key(case_uid: str, user_id: int) -> bytes:
    return f"candor:case:{case_uid}:key-for-user:{user_id}".encode()


def message(case_uid: str, message_uid: str) -> bytes:
    return f"candor:case:{case_uid}:message:{message_uid}".encode()


def note(case_uid: str, note_uid: str) -> bytes:
    return f"candor:case:{case_uid}:note:{note_uid}".encode()


def redaction(case_uid: str, redaction_uid: str) -> bytes:
    return f"candor:case:{case_uid}:redaction:{redaction_uid}".encode()


def redaction_removal(case_uid: str, redaction_uid: str) -> bytes:
    return f"candor:case:{case_uid}:redaction:{redaction_uid}:removal".encode()


def preview(case_uid: str) -> bytes:
    return f"candor:case:{case_uid}:preview".encode()


def attachment_meta(case_uid: str, attachment_uid: str) -> bytes:
    return f"candor:case:{case_uid}:attachment:{attachment_uid}:meta".encode()


def pending_receipt(case_uid: str) -> bytes:
    return f"candor:case:{case_uid}:pending-receipt".encode()


def reporter_session(case_uid: str) -> bytes:
    return f"candor:case:{case_uid}:reporter-session".encode()


def staff_draft(case_uid: str, draft_uid: str) -> bytes:
    return f"candor:case:{case_uid}:staff-draft:{draft_uid}".encode()


# Bindings for integrity tags over values that are not sealed (public keys): they name the row.
def case_public_key(case_uid: str) -> bytes:
    return f"candor:case:{case_uid}:public-key".encode()


def user_public_key(user_id: int) -> bytes:
    return f"candor:user:{user_id}:public-key".encode()


def minutes(case_uid: str, version_uid: str) -> bytes:
    return f"candor:case:{case_uid}:minutes:{version_uid}".encode()


def reporter_visits(case_uid: str) -> bytes:
    return f"candor:case:{case_uid}:reporter-visits".encode()


def reporter_visit_facts(case_uid: str) -> bytes:
    return f"candor:case:{case_uid}:reporter-visit-facts".encode()


def reporter_proofs(case_uid: str) -> bytes:
    return f"candor:case:{case_uid}:reporter-session-proofs".encode()


# Key escrow: each escrow custodian's share, each case's key sealed to the escrow public key,
# and a recovery or change request's ephemeral key and the shares sealed to it.
def escrow_public_key(escrow_id: int) -> bytes:
    return f"candor:escrow:{escrow_id}:public-key".encode()


def escrow_share(escrow_id: int, custodian_id: int) -> bytes:
    return f"candor:escrow:{escrow_id}:share-for-custodian:{custodian_id}".encode()


def escrow_case_key(case_uid: str, escrow_id: int) -> bytes:
    return f"candor:case:{case_uid}:key-for-escrow:{escrow_id}".encode()


def escrow_request_public_key(request_id: int) -> bytes:
    return f"candor:escrow-request:{request_id}:public-key".encode()


def escrow_request_key(request_id: int, user_id: int) -> bytes:
    return f"candor:escrow-request:{request_id}:key-for-user:{user_id}".encode()


def escrow_approval_share(request_id: int, custodian_id: int) -> bytes:
    return f"candor:escrow-request:{request_id}:share-of-custodian:{custodian_id}".encode()
