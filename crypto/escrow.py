"""The escrow key: an X25519 key pair whose private half exists only as M-of-N Shamir shares.

The split is SLIP-39 (``shamir-mnemonic``, the specification's reference implementation), one
group of N member shares with threshold M, each share a mnemonic of 33 words that a person can
write down. SLIP-39 brings what a home-made split would lack:

* each share carries an RS1024 checksum, so a mistyped word is refused before anything is tried;
* every share of one split carries the split's random identifier, so a share of another split
  (an old generation, another site) is refused rather than combined into a wrong key;
* a digest of the secret is hidden among the shares, so M shares of which one was altered (with
  its checksum recomputed) fail to combine instead of yielding another key;
* fewer than M shares are information-theoretically independent of the secret.

The caller's public key is checked against the rebuilt private key as a last guard: whatever
the shares say, nothing but the escrow private key that belongs to that public key comes out.
"""

from __future__ import annotations

import hmac
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from shamir_mnemonic import MnemonicError, Share, combine_mnemonics, generate_mnemonics

from crypto.errors import CryptoError
from crypto.sealing import KEY_SIZE, KeyPair, generate_keypair, public_key_from_private

__all__ = [
    "MAX_SHARES",
    "MIN_THRESHOLD",
    "EscrowShare",
    "InvalidShareError",
    "SharesDoNotMatchError",
    "TooFewSharesError",
    "combine_escrow_shares",
    "generate_escrow_key",
    "parse_escrow_share",
    "split_escrow_key",
]

# SLIP-39 allows at most 16 shares in a group, and refuses a threshold of 1 with more than one
# share (a threshold of 1 is a copy, not a split: escrow would then rest on any one custodian).
MAX_SHARES = 16
MIN_THRESHOLD = 2
# PBKDF2 rounds of SLIP-39's passphrase layer are 10000 * 2**exponent; no passphrase is used
# here (the shares themselves are sealed or on paper), so the lowest exponent suffices.
_ITERATION_EXPONENT = 0


class InvalidShareError(CryptoError):
    """A share is not a well-formed SLIP-39 mnemonic (unknown word, wrong length, checksum)."""


class SharesDoNotMatchError(CryptoError):
    """The shares belong to different splits, repeat one another, or were altered: the digest
    or the public key check failed. Nothing about the key is told."""


class TooFewSharesError(CryptoError):
    """Fewer distinct shares than the threshold were given; nothing can be rebuilt."""


@dataclass(frozen=True)
class EscrowShare:
    """One parsed share: its words (normalised) and what its header says in clear."""

    words: str
    identifier: int
    index: int
    threshold: int

    def __repr__(self) -> str:
        return f"EscrowShare(words=<hidden>, identifier={self.identifier}, index={self.index})"


def generate_escrow_key() -> KeyPair:
    """A fresh X25519 key pair for the escrow (see :func:`crypto.generate_keypair`).

    Security property: the private key is 256 bits of OS randomness; the caller splits it at
    once and keeps only the public key.
    """
    return generate_keypair()


def split_escrow_key(private_key: bytes, threshold: int, count: int) -> list[str]:
    """Split the 32-byte escrow private key into ``count`` mnemonic shares, any ``threshold`` of
    which rebuild it.

    Security property: fewer than ``threshold`` shares reveal nothing about the key; every
    share names this split (a random identifier), so shares of different splits never combine.
    Raises ``ValueError`` for a threshold below 2, above ``count``, or a count above 16.
    """
    if len(private_key) != KEY_SIZE:
        raise CryptoError("invalid private key")
    if not MIN_THRESHOLD <= threshold <= count <= MAX_SHARES:
        raise ValueError("need 2 <= threshold <= count <= 16")
    groups = generate_mnemonics(
        1, [(threshold, count)], private_key, b"", True, _ITERATION_EXPONENT
    )
    return list(groups[0])


def _normalise(text: str) -> str:
    words = unicodedata.normalize("NFKC", text).lower().replace("-", " ").split()
    return " ".join(words)


def parse_escrow_share(text: str) -> EscrowShare:
    """Parse a typed or stored share: case, extra spaces and line breaks do not matter.

    Security property: a share with an unknown word, a wrong length or a failed checksum is
    refused here (``InvalidShareError``), before it is stored or combined.
    """
    words = _normalise(text)
    if not words:
        raise InvalidShareError("empty share")
    try:
        share = Share.from_mnemonic(words)
    except (MnemonicError, ValueError, KeyError) as exc:
        raise InvalidShareError("not a valid share") from exc
    if share.group_threshold != 1 or share.group_count != 1:
        raise InvalidShareError("not an escrow share")
    return EscrowShare(words, share.identifier, share.index, share.member_threshold)


def combine_escrow_shares(shares: Sequence[str], public_key: bytes) -> bytes:
    """Rebuild the escrow private key from at least its threshold of shares.

    Security properties: fewer distinct shares than the threshold raise ``TooFewSharesError``
    without combining anything; shares of different splits, a repeated or altered share raise
    ``SharesDoNotMatchError``; the result is returned only if it is the private key of
    ``public_key``. A malformed share raises ``InvalidShareError``.
    """
    parsed = [parse_escrow_share(text) for text in shares]
    if not parsed:
        raise TooFewSharesError("no shares")
    first = parsed[0]
    if any(s.identifier != first.identifier or s.threshold != first.threshold for s in parsed):
        raise SharesDoNotMatchError("shares of different splits")
    distinct = {s.index: s for s in parsed}
    if len(distinct) < first.threshold:
        raise TooFewSharesError("fewer shares than the threshold")
    chosen = sorted(distinct.values(), key=lambda s: s.index)[: first.threshold]
    try:
        private_key = bytes(combine_mnemonics([s.words for s in chosen], b""))
    except (MnemonicError, ValueError) as exc:
        raise SharesDoNotMatchError("shares do not combine") from exc
    try:
        rebuilt_public = public_key_from_private(private_key)
    except CryptoError as exc:
        raise SharesDoNotMatchError("shares do not combine") from exc
    if not hmac.compare_digest(rebuilt_public, public_key):
        raise SharesDoNotMatchError("shares do not rebuild this escrow key")
    return private_key
