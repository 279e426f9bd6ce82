"""Receipt codes, passphrases and the receipt-code lookup HMAC."""

from __future__ import annotations

import math
import re

import pytest

from crypto import (
    PASSPHRASE_WORDS,
    CryptoError,
    InvalidReceiptCodeError,
    format_receipt_code,
    generate_passphrase,
    generate_receipt_code,
    lookup_hmac,
    normalize_passphrase,
    normalize_receipt_code,
    passphrase_entropy_bits,
    receipt_delay_key,
)
from crypto.codes import _damm, _wordlist

GROUPED = re.compile(r"^\d{4} \d{4} \d{4} \d{4}$")


# --- receipt codes ------------------------------------------------------------------------------


def test_damm_reference_example() -> None:
    # The worked example for Damm's algorithm: 572 gets check digit 4.
    assert _damm("572") == 4
    assert _damm("5724") == 0


def test_generated_codes_are_grouped_and_valid() -> None:
    codes = {generate_receipt_code() for _ in range(200)}
    assert len(codes) == 200
    for code in codes:
        assert GROUPED.match(code)
        canonical = normalize_receipt_code(code)
        assert canonical == code.replace(" ", "")
        assert format_receipt_code(canonical) == code


def test_check_digit_catches_every_substitution_and_adjacent_transposition() -> None:
    for _ in range(40):
        canonical = normalize_receipt_code(generate_receipt_code())
        for position, digit in enumerate(canonical):
            for other in "0123456789":
                if other == digit:
                    continue
                typo = canonical[:position] + other + canonical[position + 1 :]
                with pytest.raises(InvalidReceiptCodeError):
                    normalize_receipt_code(typo)
        for position in range(len(canonical) - 1):
            a, b = canonical[position], canonical[position + 1]
            if a == b:
                continue
            swapped = canonical[:position] + b + a + canonical[position + 2 :]
            with pytest.raises(InvalidReceiptCodeError):
                normalize_receipt_code(swapped)


def test_separators_and_whitespace_ignored() -> None:
    canonical = normalize_receipt_code(generate_receipt_code())
    groups = [canonical[i : i + 4] for i in range(0, 16, 4)]
    variants = [
        canonical,
        "-".join(groups),
        " - ".join(groups),
        "  " + "\t".join(groups) + "\n",
        "\u00a0".join(groups),  # no-break space, as pasted from some documents
        "\u2013".join(groups),  # en dash
        "".join(chr(0xFF10 + int(d)) for d in canonical),  # full-width digits
        "".join(chr(0x0660 + int(d)) for d in canonical),  # Arabic-Indic digits
        "".join(chr(0x06F0 + int(d)) for d in canonical),  # Extended Arabic-Indic (Persian)
        "".join(chr(0x0966 + int(d)) for d in canonical),  # Devanagari digits
        "\u200f" + "\u200f ".join(groups),  # right-to-left marks pasted from an Arabic text
        "\u200b".join(groups),  # zero-width space
        "\uff0d".join(groups),  # full-width hyphen-minus
        "\u2212".join(groups),  # minus sign
    ]
    for variant in variants:
        assert normalize_receipt_code(variant) == canonical


def test_bad_codes_refused() -> None:
    canonical = normalize_receipt_code(generate_receipt_code())
    for bad in (
        "",
        canonical[:-1],
        canonical + "0",
        canonical[:15],
        canonical[:8] + "a" + canonical[9:],
        canonical[:8] + "." + canonical[9:],
        "\u0663" * 16,  # sixteen Arabic-Indic threes: the check digit does not match
        canonical[:15] + "\u2167",  # a Roman numeral folds to letters, not to a digit
    ):
        with pytest.raises(InvalidReceiptCodeError):
            normalize_receipt_code(bad)
    with pytest.raises(InvalidReceiptCodeError):
        format_receipt_code("123")


def test_receipt_delay_key_vector() -> None:
    # Computed independently: printf 'candor-receipt-delay-v1:1234567890123450' |
    #   openssl dgst -sha256 -mac HMAC -macopt hexkey:000102...1f
    assert receipt_delay_key(bytes(range(32)), "1234567890123450").hex() == (
        "75ec954b81f05c0ddcd7e51c362a7e3ca3882d8f915afc8cf7211af6761d0fb8"
    )


def test_receipt_delay_key_differs_from_the_case_lookup_and_needs_the_pepper() -> None:
    canonical = normalize_receipt_code(generate_receipt_code())
    pepper = bytes(range(32))
    key = receipt_delay_key(pepper, canonical)
    assert key != lookup_hmac(pepper, canonical)
    assert canonical.encode() not in key
    assert key != receipt_delay_key(bytes(range(1, 33)), canonical)
    with pytest.raises(CryptoError):
        receipt_delay_key(b"short", canonical)


# --- passphrases --------------------------------------------------------------------------------


def test_word_list_is_the_eff_large_list() -> None:
    words = _wordlist()
    assert len(words) == 7776
    assert len(set(words)) == 7776
    assert words[0] == "abacus"
    assert words[-1] == "zoom"
    assert all(w == w.lower() and " " not in w for w in words)


def test_passphrase_entropy_at_least_80_bits() -> None:
    assert PASSPHRASE_WORDS == 7
    assert passphrase_entropy_bits() >= 80
    assert passphrase_entropy_bits() == pytest.approx(7 * math.log2(7776))
    assert passphrase_entropy_bits(8) == pytest.approx(8 * math.log2(7776))


def test_generated_passphrases() -> None:
    words = set(_wordlist())
    phrases = {generate_passphrase() for _ in range(50)}
    assert len(phrases) == 50
    for phrase in phrases:
        parts = phrase.split(" ")
        assert len(parts) == PASSPHRASE_WORDS
        assert all(part in words for part in parts)
        assert normalize_passphrase(phrase) == phrase
    assert len(generate_passphrase(3).split(" ")) == 3
    with pytest.raises(ValueError):
        generate_passphrase(0)


def test_passphrase_normalisation() -> None:
    assert normalize_passphrase("  Abacus   ZOOM\tyo-yo \n") == "abacus zoom yo-yo"
    assert normalize_passphrase("abacus\u00a0zoom") == "abacus zoom"
    assert normalize_passphrase("ABACUS Zoom") == normalize_passphrase("abacus zoom")
    assert normalize_passphrase("") == ""


# --- lookup HMAC --------------------------------------------------------------------------------


def test_lookup_hmac_known_answer() -> None:
    # RFC 4231 test case 1 (HMAC-SHA-256).
    assert lookup_hmac(b"\x0b" * 20, "Hi There").hex() == (
        "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
    )


def test_lookup_hmac_properties() -> None:
    pepper = bytes(range(32))
    code = "1234567890123452"
    assert lookup_hmac(pepper, code) == lookup_hmac(pepper, code)
    assert lookup_hmac(pepper, code) != lookup_hmac(bytes(32), code)
    assert len(lookup_hmac(pepper, code)) == 32
    with pytest.raises(CryptoError):
        lookup_hmac(b"short", code)
