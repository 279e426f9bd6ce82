"""The escrow key's M-of-N split: M-1 shares rebuild nothing, any M do, and shares of another
split, altered or mistyped shares are refused."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest
from shamir_mnemonic.share import Share

from crypto import (
    InvalidShareError,
    SharesDoNotMatchError,
    TooFewSharesError,
    combine_escrow_shares,
    generate_escrow_key,
    parse_escrow_share,
    public_key_from_private,
    split_escrow_key,
)
from crypto.errors import CryptoError

VECTORS = Path(__file__).resolve().parents[1] / "vectors" / "escrow_v1.json"


@pytest.fixture(scope="module")
def split() -> tuple[bytes, bytes, list[str]]:
    pair = generate_escrow_key()
    return pair.private_key, pair.public_key, split_escrow_key(pair.private_key, 3, 5)


def test_vector_any_two_of_three_rebuild_the_key() -> None:
    vector = json.loads(VECTORS.read_text(encoding="utf-8"))["vectors"][0]
    private_key = bytes.fromhex(vector["private_key"])
    public_key = bytes.fromhex(vector["public_key"])
    assert public_key_from_private(private_key) == public_key
    for pair in itertools.combinations(vector["shares"], 2):
        assert combine_escrow_shares(list(pair), public_key) == private_key
    for share in vector["shares"]:
        with pytest.raises(TooFewSharesError):
            combine_escrow_shares([share], public_key)


def test_any_m_shares_rebuild_the_key(split: tuple[bytes, bytes, list[str]]) -> None:
    private_key, public_key, shares = split
    assert len(shares) == 5
    assert len(set(shares)) == 5
    for chosen in itertools.combinations(shares, 3):
        assert combine_escrow_shares(list(chosen), public_key) == private_key
    # More than M is fine too: the extra ones are not needed.
    assert combine_escrow_shares(shares, public_key) == private_key


def test_m_minus_one_shares_rebuild_nothing(split: tuple[bytes, bytes, list[str]]) -> None:
    _private_key, public_key, shares = split
    for chosen in itertools.combinations(shares, 2):
        with pytest.raises(TooFewSharesError):
            combine_escrow_shares(list(chosen), public_key)
    # The same share twice counts once.
    with pytest.raises(TooFewSharesError):
        combine_escrow_shares([shares[0], shares[0], shares[1]], public_key)
    with pytest.raises(TooFewSharesError):
        combine_escrow_shares([], public_key)


def test_shares_of_another_split_are_refused(split: tuple[bytes, bytes, list[str]]) -> None:
    private_key, public_key, shares = split
    # Even a split of the same key: its identifier differs, so it never mixes with this one.
    other = split_escrow_key(private_key, 3, 5)
    with pytest.raises(SharesDoNotMatchError):
        combine_escrow_shares([shares[0], shares[1], other[2]], public_key)
    # A whole split of another key combines, but not into this escrow's key.
    stranger = split_escrow_key(generate_escrow_key().private_key, 3, 5)
    with pytest.raises(SharesDoNotMatchError):
        combine_escrow_shares(stranger[:3], public_key)


def test_a_tampered_share_with_a_valid_checksum_is_refused(
    split: tuple[bytes, bytes, list[str]],
) -> None:
    _private_key, public_key, shares = split
    share = Share.from_mnemonic(shares[2])
    value = bytearray(share.value)
    value[0] ^= 0x01
    forged = Share(
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
    assert parse_escrow_share(forged).index == share.index
    with pytest.raises(SharesDoNotMatchError):
        combine_escrow_shares([shares[0], shares[1], forged], public_key)


def test_a_mistyped_word_is_refused_before_combining(
    split: tuple[bytes, bytes, list[str]],
) -> None:
    _private_key, public_key, shares = split
    words = shares[0].split()
    words[5] = "academic" if words[5] != "academic" else "acid"
    with pytest.raises(InvalidShareError):
        parse_escrow_share(" ".join(words))
    with pytest.raises(InvalidShareError):
        combine_escrow_shares([" ".join(words), shares[1], shares[2]], public_key)
    for text in ("", "not a share at all", " ".join(words[:-1])):
        with pytest.raises(InvalidShareError):
            parse_escrow_share(text)


def test_typed_shares_ignore_case_and_spacing(split: tuple[bytes, bytes, list[str]]) -> None:
    private_key, public_key, shares = split
    typed = ["\n".join(s.upper().split()) + "  " for s in shares[:3]]
    assert combine_escrow_shares(typed, public_key) == private_key
    parsed = parse_escrow_share(typed[0])
    assert parsed.words == shares[0]
    assert parsed.threshold == 3
    assert "hidden" in repr(parsed)
    assert shares[0].split()[0] not in repr(parsed)


@pytest.mark.parametrize(("threshold", "count"), [(1, 3), (4, 3), (2, 17), (0, 0)])
def test_impossible_splits_are_refused(threshold: int, count: int) -> None:
    with pytest.raises(ValueError, match="threshold"):
        split_escrow_key(generate_escrow_key().private_key, threshold, count)


def test_only_a_32_byte_key_is_split() -> None:
    with pytest.raises(CryptoError):
        split_escrow_key(b"short", 2, 3)
