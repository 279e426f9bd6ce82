"""Receipt codes and passphrases handed to reporters, and the receipt-code lookup value.

The receipt code is a locator, not a secret: 15 random digits plus a Damm check digit, so a typo is
caught before any database lookup. The passphrase is the secret: words drawn uniformly from the
EFF large word list (7776 words), 7 of them by default for about 90 bits of entropy.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import importlib.resources
import math
import secrets
import unicodedata

from crypto.errors import CryptoError, InvalidReceiptCodeError

__all__ = [
    "PASSPHRASE_WORDS",
    "RECEIPT_CODE_DIGITS",
    "format_receipt_code",
    "generate_passphrase",
    "generate_receipt_code",
    "lookup_hmac",
    "normalize_passphrase",
    "normalize_receipt_code",
    "passphrase_entropy_bits",
    "receipt_delay_key",
]

RECEIPT_CODE_DIGITS = 16
_GROUP = 4
PASSPHRASE_WORDS = 7
MIN_PEPPER_SIZE = 16
_WORDLIST_PACKAGE = "diceware"
_WORDLIST_PATH = ("wordlists", "wordlist_en_eff.txt")
_EFF_LARGE_WORDS = 7776
_DIGITS = frozenset("0123456789")
# Between groups people or phones may type spaces, any dash (Unicode category Pd: hyphens, en and
# em dashes, full-width hyphen...), a minus sign, or paste invisible format characters (Cf: bidi
# marks from a right-to-left text, zero-width spaces, soft hyphens). NFKC folds full-width forms
# first.
_EXTRA_SEPARATORS = frozenset("\u2212\ufe63\uff0d")
_DELAY_KEY_LABEL = "candor-receipt-delay-v1:"

# Damm's order-10 totally anti-symmetric quasigroup: the check digit detects every single-digit
# error and every adjacent transposition.
_DAMM = (
    (0, 3, 1, 7, 5, 9, 8, 6, 4, 2),
    (7, 0, 9, 2, 1, 5, 4, 8, 6, 3),
    (4, 2, 0, 6, 8, 7, 1, 3, 5, 9),
    (1, 7, 5, 0, 9, 8, 3, 4, 2, 6),
    (6, 1, 2, 3, 0, 4, 5, 9, 7, 8),
    (3, 6, 7, 4, 2, 0, 9, 5, 8, 1),
    (5, 8, 6, 9, 7, 2, 0, 1, 3, 4),
    (8, 9, 4, 5, 3, 6, 2, 0, 1, 7),
    (9, 4, 3, 8, 6, 1, 7, 2, 0, 5),
    (2, 5, 8, 1, 4, 3, 6, 7, 9, 0),
)


def _damm(digits: str) -> int:
    interim = 0
    for digit in digits:
        interim = _DAMM[interim][ord(digit) - 48]
    return interim


def generate_receipt_code() -> str:
    """Return a new receipt code, grouped for display (``"1234 5678 9012 3456"``).

    Security property: the 15 payload digits come from ``secrets`` (about 50 bits), so codes are
    not guessable in sequence; the code is a locator only, never a key on its own.
    """
    payload = "".join(secrets.choice("0123456789") for _ in range(RECEIPT_CODE_DIGITS - 1))
    return format_receipt_code(payload + str(_damm(payload)))


def normalize_receipt_code(text: str) -> str:
    """Return the canonical 16-digit form of a typed receipt code.

    Spaces, dashes, invisible format characters and case are ignored; every Unicode decimal digit
    (full-width, Arabic-Indic, Devanagari, ...) counts as the ASCII digit of the same value.
    Raises ``InvalidReceiptCodeError`` unless exactly 16 digits remain and the Damm check digit
    is valid.

    Security properties: typos (any single wrong digit, any swap of neighbours) are refused before
    the code reaches a lookup, so a mistyped code cannot land on another reporter's case; and
    every way of typing one code gives one canonical form, so a limit keyed on it cannot be
    escaped by typing the same code in other digits.
    """
    folded = unicodedata.normalize("NFKC", text).casefold()
    digits = "".join(
        _ascii_digit(ch) for ch in folded if not ch.isspace() and not _is_separator(ch)
    )
    if len(digits) != RECEIPT_CODE_DIGITS or not _DIGITS.issuperset(digits):
        raise InvalidReceiptCodeError("a receipt code has 16 digits")
    if _damm(digits) != 0:
        raise InvalidReceiptCodeError("receipt code check digit does not match")
    return digits


def _is_separator(ch: str) -> bool:
    return ch in _EXTRA_SEPARATORS or unicodedata.category(ch) in ("Pd", "Cf")


def _ascii_digit(ch: str) -> str:
    # Only decimal digits (category Nd) map; "²" or "①" are not digits a keyboard types for a
    # code and stay as they are, so the code is refused.
    value = unicodedata.decimal(ch, None)
    return ch if value is None else str(value)


def format_receipt_code(canonical: str) -> str:
    """Group a canonical 16-digit receipt code in fours separated by spaces.

    Security property: none; display only. Raises ``InvalidReceiptCodeError`` for anything that
    is not 16 ASCII digits.
    """
    if len(canonical) != RECEIPT_CODE_DIGITS or not _DIGITS.issuperset(canonical):
        raise InvalidReceiptCodeError("a receipt code has 16 digits")
    return " ".join(canonical[i : i + _GROUP] for i in range(0, RECEIPT_CODE_DIGITS, _GROUP))


@functools.cache
def _wordlist() -> tuple[str, ...]:
    resource = importlib.resources.files(_WORDLIST_PACKAGE).joinpath(*_WORDLIST_PATH)
    words: list[str] = []
    for line in resource.read_text(encoding="utf-8").splitlines():
        fields = line.split()
        if not fields:
            continue
        # Lines are "<dice number>\t<word>"; the word is always the last field.
        words.append(fields[-1].lower())
    # Refuse a changed or damaged list rather than silently generating weaker passphrases.
    if len(words) != _EFF_LARGE_WORDS or len(set(words)) != _EFF_LARGE_WORDS:
        raise CryptoError("unexpected passphrase word list")
    return tuple(words)


def generate_passphrase(words: int = PASSPHRASE_WORDS) -> str:
    """Return ``words`` lowercase words from the EFF large list, separated by single spaces.

    Security property: each word is drawn uniformly and independently with ``secrets``, so the
    passphrase has ``passphrase_entropy_bits(words)`` bits of entropy (about 90.5 for 7 words).
    """
    if words < 1:
        raise ValueError("a passphrase needs at least one word")
    wordlist = _wordlist()
    return " ".join(secrets.choice(wordlist) for _ in range(words))


def passphrase_entropy_bits(words: int = PASSPHRASE_WORDS) -> float:
    """Return the entropy in bits of a generated passphrase of ``words`` words.

    Security property: documents the guessing cost; 7 words give log2(7776**7) = 90.5 bits.
    """
    return words * math.log2(len(_wordlist()))


def normalize_passphrase(text: str) -> str:
    """Return the passphrase with case folded and whitespace runs collapsed to single spaces.

    Security property: costs no entropy (generated passphrases are lowercase words separated by
    single spaces) while making login tolerant of caps lock, phone auto-capitalisation and
    stray spaces.
    """
    return " ".join(text.casefold().split())


def lookup_hmac(pepper: bytes, value: str) -> bytes:
    """Return HMAC-SHA256(pepper, value as UTF-8), the stored lookup value for a receipt code.

    Security property: without the pepper (kept in the config, not the database) a database
    dump cannot be searched by enumerating receipt codes. Raises ``CryptoError`` for a pepper
    shorter than 16 bytes.
    """
    if len(pepper) < MIN_PEPPER_SIZE:
        raise CryptoError("pepper too short")
    return hmac.new(pepper, value.encode("utf-8"), hashlib.sha256).digest()


def receipt_delay_key(pepper: bytes, canonical: str) -> bytes:
    """Return the key under which failed check-backs on one receipt code are counted.

    HMAC-SHA256(pepper, label || canonical code): ``canonical`` must come from
    :func:`normalize_receipt_code`, so every way of typing one code counts against one key.

    Security properties: the counter store (a table or Redis) never holds a receipt code, which
    is a locator, in the clear, and cannot be searched for one without the pepper; the label
    makes the value differ from the case's own lookup value, so a copy of the database cannot
    tell which case the failed attempts were made against. Raises ``CryptoError`` for a short
    pepper.
    """
    return lookup_hmac(pepper, _DELAY_KEY_LABEL + canonical)
