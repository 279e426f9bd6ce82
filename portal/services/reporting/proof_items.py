"""Proofs of report: the canonical bytes of an item, and the proof file a reporter downloads.

The file is plain UTF-8 text that anyone can read: a few lines saying what it is, then one
``Key: value`` line per signed field, the salt and the signature in hexadecimal. Its labels are
fixed English words, not translated: the same file must be read by this site in every language,
by the command line and by anyone checking it with their own tools (docs/proof.md says how).
It never holds the receipt code, the passphrase or the item itself; the salt in it is what keeps
the commitment hiding, so it lives nowhere else.

The canonical item is what the commitment covers, and the server can rebuild it from the stored
(sealed) content, so that a handler can confirm which item a proof belongs to:

* a message: its text, with line breaks as "\\n", in Unicode NFC, without leading or trailing
  white space, in UTF-8 (the file names sent with it are not covered);
* a report: the JSON document ``{"answers": [[question, answer], ...], "category": ...,
  "files": [name, ...], "tier": n}`` with keys sorted, no spaces (separators "," and ":"),
  characters outside ASCII as themselves, each text normalised as for a message. Files are
  covered by name only: a file's content is cleaned of metadata before it is stored, so a hash
  of it would not match the reporter's own copy, and hashing it would cost a second pass.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import crypto
from portal.i18n import _
from portal.models import Case
from portal.services.errors import ServiceError
from portal.services.references import reference

FORMAT = "candor-proof-v1"
# A proof file is about a kilobyte; anything far larger is not one.
MAX_PROOF_LENGTH = 16 * 1024
TIME_FORMAT = "%Y-%m-%d %H:%M:%S UTC"
_FIELDS = (
    "Format",
    "Case reference",
    "Item",
    "Received",
    "Site key",
    "Commitment",
    "Salt",
    "Signature",
)
_LINE = re.compile(r"^([A-Za-z ]+):\s*(.*?)\s*$")
_ITEM = re.compile(r"^(report|message) ([1-9][0-9]{0,9})$")
_HEX = re.compile(r"^[0-9a-f]+$")


class ProofFormatError(ServiceError):
    """The text is not a proof file this site can read (or is damaged)."""


@dataclass(frozen=True)
class ProofFile:
    """A proof as the reporter holds it: the signed statement, its salt and its signature."""

    statement: crypto.Statement
    salt: bytes
    signature: bytes

    @property
    def item_words(self) -> str:
        """The item as the file names it: "report 1", "message 3"."""
        return f"{self.statement.kind} {self.statement.ordinal}"

    @property
    def file_name(self) -> str:
        return (
            f"candor-proof-{self.statement.case_reference}-"
            f"{self.statement.kind}{self.statement.ordinal}.txt"
        )


def canonical_text(text: str) -> bytes:
    """A text as a commitment covers it: "\\n" line breaks, NFC, trimmed, UTF-8."""
    unified = text.replace("\r\n", "\n").replace("\r", "\n")
    return unicodedata.normalize("NFC", unified).strip().encode()


def _text(value: str) -> str:
    return canonical_text(value).decode()


def canonical_report(
    category: str,
    tier: int,
    answers: Sequence[tuple[str, str]],
    file_names: Sequence[str],
) -> bytes:
    """A report as its commitment covers it (the module's docstring gives the form)."""
    document = {
        "answers": [[_text(label), _text(answer)] for label, answer in answers],
        "category": _text(category),
        "files": [_text(name) for name in file_names],
        "tier": tier,
    }
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def make_proof(
    signing_key: bytes,
    case: Case,
    kind: str,
    ordinal: int,
    received_at: datetime,
    item: bytes,
) -> ProofFile:
    """Sign a proof that item ``ordinal`` of ``kind`` of the case was received then.

    Security property: a fresh salt per proof, returned only inside the proof, so the
    commitment reveals nothing of the item to anyone without the file.
    """
    salt = crypto.new_proof_salt()
    statement = crypto.Statement(
        key_id=crypto.proof_key_id(crypto.signing_public_key(signing_key)),
        case_reference=reference(case),
        kind=kind,
        ordinal=ordinal,
        received_at=received_at.astimezone(UTC).replace(microsecond=0),
        commitment=crypto.commitment(salt, item),
    )
    return ProofFile(statement, salt, crypto.sign_statement(signing_key, statement))


def render_fields(proof: ProofFile) -> str:
    """The proof's field lines: everything a check reads, nothing else."""
    statement = proof.statement
    return "\n".join(
        (
            f"Format: {FORMAT}",
            f"Case reference: {statement.case_reference}",
            f"Item: {proof.item_words}",
            f"Received: {statement.received_at.astimezone(UTC).strftime(TIME_FORMAT)}",
            f"Site key: {statement.key_id.hex()}",
            f"Commitment: {statement.commitment.hex()}",
            f"Salt: {proof.salt.hex()}",
            f"Signature: {proof.signature.hex()}",
            "",
        )
    )


def render(proof: ProofFile, *, site_name: str, check_url: str) -> str:
    """The proof file's text: a few lines in plain words, then the fields."""
    lines = (
        "Candor proof of report",
        "",
        f"This file was signed by {' '.join(site_name.split())}. It shows that an item with",
        "the case reference below was received at the time below. It does not contain the",
        "report, the message, the receipt code or the passphrase. With the original text,",
        "anyone can check that the text is what was sent.",
        f"Check it at {check_url}",
        "or with: flask --app wsgi candor proof verify FILE",
        "",
    )
    return "\n".join(lines) + "\n" + render_fields(proof)


def _malformed() -> ProofFormatError:
    return ProofFormatError(
        _(
            "This is not a proof file that this site can read, or part of it is missing or "
            "damaged. Use the file exactly as it was downloaded."
        )
    )


def _hex(value: str, size: int) -> bytes:
    if len(value) != 2 * size or not _HEX.fullmatch(value):
        raise _malformed()
    return bytes.fromhex(value)


def parse(text: str) -> ProofFile:
    """Read a proof file's text; raise ProofFormatError for anything that is not one.

    Lines other than the field lines (the explanation, blank lines) are ignored; a field given
    twice is refused, so a file cannot show one value and be checked with another.
    """
    if len(text) > MAX_PROOF_LENGTH:
        raise _malformed()
    fields: dict[str, str] = {}
    for line in text.lstrip("\ufeff").splitlines():
        found = _LINE.match(line)
        if found is None or found[1] not in _FIELDS:
            continue
        if found[1] in fields:
            raise _malformed()
        fields[found[1]] = found[2]
    if set(fields) != set(_FIELDS):
        raise _malformed()
    if fields["Format"] != FORMAT:
        raise ProofFormatError(
            _(
                "This proof was made in a format this site does not know (%(format)s).",
                format=fields["Format"][:40],
            )
        )
    item = _ITEM.match(fields["Item"])
    try:
        received = datetime.strptime(fields["Received"], TIME_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        raise _malformed() from None
    if item is None:
        raise _malformed()
    statement = crypto.Statement(
        key_id=_hex(fields["Site key"], 8),
        case_reference=fields["Case reference"],
        kind=item[1],
        ordinal=int(item[2]),
        received_at=received,
        commitment=_hex(fields["Commitment"], crypto.proof.COMMITMENT_SIZE),
    )
    try:
        crypto.encode_statement(statement)
    except crypto.CryptoError:
        raise _malformed() from None
    return ProofFile(
        statement,
        _hex(fields["Salt"], crypto.proof.SALT_SIZE),
        _hex(fields["Signature"], crypto.proof.SIGNATURE_SIZE),
    )
