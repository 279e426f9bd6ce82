"""Integrity tags: known answers, binding to every field, and failing closed."""

from __future__ import annotations

import pytest

from crypto import CryptoError, DecryptionError, IntegrityCheckError, integrity_tag, verify_tag

KEY = bytes(range(32))
REPORT_BINDING = b"candor:case:00112233445566778899aabbccddeeff:report"
SEALED = b"\x01" + bytes(63)

# Computed with Python's hmac module over the encoding in crypto/integrity.py's docstring, so a
# change of encoding, label handling or hash shows here.
VECTORS = [
    (
        KEY,
        b"sealed",
        REPORT_BINDING,
        SEALED,
        "4306ed03bafc6e94abbda2b5d19c6b28427a5b7599e46d9d40b329fc87e2c26b",
    ),
    (
        KEY,
        b"public-key",
        b"candor:user:7:public-key",
        bytes(range(32, 64)),
        "4d2d835de36b5f86b20d2c3f88d74fb45de6eb88838858a561da591110f5c2a3",
    ),
    (
        b"\xff" * 32,
        b"",
        b"",
        b"",
        "0910c8aa9a5bd64fd2309f119a5c673168f7a487e3710e6bd4e319affe4bb351",
    ),
]


@pytest.mark.parametrize(("key", "label", "binding", "value", "expected"), VECTORS)
def test_known_answers(
    key: bytes, label: bytes, binding: bytes, value: bytes, expected: str
) -> None:
    tag = integrity_tag(key, label, binding, value)
    assert tag.hex() == expected
    verify_tag(key, label, binding, value, tag)


def test_fields_are_length_prefixed_so_shifting_a_boundary_changes_the_tag() -> None:
    assert integrity_tag(KEY, b"ab", b"c", b"") != integrity_tag(KEY, b"a", b"bc", b"")
    assert integrity_tag(KEY, b"a", b"b", b"c") != integrity_tag(KEY, b"a", b"", b"bc")


@pytest.mark.parametrize("field", ["key", "label", "binding", "value"])
def test_any_changed_field_is_refused(field: str) -> None:
    tag = integrity_tag(KEY, b"sealed", REPORT_BINDING, SEALED)
    args = {"key": KEY, "label": b"sealed", "binding": REPORT_BINDING, "value": SEALED}
    args[field] = bytes([args[field][0] ^ 1]) + args[field][1:]
    with pytest.raises(IntegrityCheckError):
        verify_tag(args["key"], args["label"], args["binding"], args["value"], tag)


@pytest.mark.parametrize("tag", [None, b"", bytes(32), bytes(31)])
def test_missing_or_malformed_tags_fail_closed(tag: bytes | None) -> None:
    with pytest.raises(IntegrityCheckError) as raised:
        verify_tag(KEY, b"sealed", REPORT_BINDING, SEALED, tag)
    # The web layer's integrity page catches every DecryptionError.
    assert isinstance(raised.value, DecryptionError)


def test_every_flipped_bit_of_a_tag_is_refused() -> None:
    tag = integrity_tag(KEY, b"sealed", REPORT_BINDING, SEALED)
    for bit in range(len(tag) * 8):
        flipped = bytearray(tag)
        flipped[bit // 8] ^= 1 << (bit % 8)
        with pytest.raises(IntegrityCheckError):
            verify_tag(KEY, b"sealed", REPORT_BINDING, SEALED, bytes(flipped))


def test_a_short_key_is_refused() -> None:
    with pytest.raises(CryptoError):
        integrity_tag(bytes(16), b"sealed", b"", b"")
