"""Exceptions raised by the crypto package.

Messages are deliberately generic: they never say which check failed (key, associated data, tag,
length), so an error shown to or logged for an attacker tells them nothing they can steer by.
"""

from __future__ import annotations

__all__ = [
    "BackupKeyMismatchError",
    "CryptoError",
    "DecryptionError",
    "IntegrityCheckError",
    "InvalidReceiptCodeError",
    "InvalidRecoveryKeyError",
    "MalformedProofError",
    "ProofError",
    "ProofSignatureError",
    "UnsupportedFormatError",
]


class CryptoError(Exception):
    """Base class of every error raised by the crypto package."""


class DecryptionError(CryptoError):
    """A ciphertext did not verify.

    Raised for a wrong key, wrong associated data, any tampering, a truncated, reordered or
    extended stream, and a malformed blob. Callers must treat every case the same way.
    """


class UnsupportedFormatError(DecryptionError):
    """A blob starts with a version byte this code does not know."""


class IntegrityCheckError(DecryptionError):
    """A stored value's integrity tag is missing or does not match its value and row.

    A subclass of ``DecryptionError`` so that every caller which refuses content that fails to
    open refuses a forged, moved or untagged value the same way.
    """


class InvalidReceiptCodeError(CryptoError):
    """A receipt code has the wrong length, characters or check digit."""


class InvalidRecoveryKeyError(CryptoError):
    """A recovery key has the wrong length, characters or checksum."""


class BackupKeyMismatchError(DecryptionError):
    """A backup names another backup key than the one given to open it.

    The identifier is public (a hash of the public key), so saying so reveals nothing; a
    subclass of ``DecryptionError`` so that every caller refusing what does not open refuses it.
    """


class ProofError(CryptoError):
    """A proof of report could not be read or did not verify."""


class MalformedProofError(ProofError):
    """A proof's statement is not in any format this code knows."""


class ProofSignatureError(ProofError):
    """A proof's signature does not verify under the key it names (or under any key given).

    Raised alike for a changed field, a wrong or unknown key and a malformed signature.
    """
