"""Recovery keys: display format, parsing leniency and typo detection."""

from __future__ import annotations

import re

import pytest

from crypto import InvalidRecoveryKeyError, generate_recovery_key, parse_recovery_key

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
DISPLAY = re.compile(rf"^[{ALPHABET}]{{4}}(-[{ALPHABET}]{{4}}){{8}}$")


def test_round_trip_and_format() -> None:
    seen = set()
    for _ in range(200):
        text, key = generate_recovery_key()
        assert len(key) == 20
        assert DISPLAY.match(text), text
        assert parse_recovery_key(text) == key
        seen.add(key)
    assert len(seen) == 200


def test_parsing_is_lenient_about_case_separators_and_lookalikes() -> None:
    text, key = generate_recovery_key()
    compact = text.replace("-", "")
    assert parse_recovery_key(text.lower()) == key
    assert parse_recovery_key(compact) == key
    assert parse_recovery_key(" ".join(compact[i : i + 4] for i in range(0, 36, 4))) == key
    assert parse_recovery_key("  " + text + "\n") == key
    lookalikes = compact.replace("0", "O").replace("1", "l")
    assert parse_recovery_key(lookalikes) == key
    assert parse_recovery_key(compact.replace("1", "I").lower()) == key


def test_every_single_character_error_caught() -> None:
    for _ in range(15):
        text, _key = generate_recovery_key()
        compact = text.replace("-", "")
        for position, char in enumerate(compact):
            for other in ALPHABET:
                if other == char:
                    continue
                typo = compact[:position] + other + compact[position + 1 :]
                with pytest.raises(InvalidRecoveryKeyError):
                    parse_recovery_key(typo)


def test_every_adjacent_transposition_caught() -> None:
    for _ in range(50):
        compact = generate_recovery_key()[0].replace("-", "")
        for position in range(len(compact) - 1):
            a, b = compact[position], compact[position + 1]
            if a == b:
                continue
            swapped = compact[:position] + b + a + compact[position + 2 :]
            with pytest.raises(InvalidRecoveryKeyError):
                parse_recovery_key(swapped)


def test_malformed_keys_refused() -> None:
    text, _ = generate_recovery_key()
    compact = text.replace("-", "")
    for bad in (
        "",
        compact[:-1],
        compact + "0",
        compact[:10] + "U" + compact[11:],  # U is not in Crockford's alphabet
        compact[:10] + "!" + compact[11:],
        compact[:10] + "\u00df" + compact[12:],  # upper-cases to two letters
    ):
        with pytest.raises(InvalidRecoveryKeyError):
            parse_recovery_key(bad)
