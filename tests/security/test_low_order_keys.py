"""Attack: a low-order X25519 point as a public key, so the shared secret is known to everyone.

Curve25519 has points of order 1, 2, 4 and 8. Any clamped scalar times such a point is the
identity, so X25519 with it gives the all-zero secret, and the key HKDF derives from that is one
anyone can compute. Someone able to write a public key (a handler's, a case's) could make the
site seal reports under such a key; someone forging a blob could pick a low-order ephemeral key
and so know the key its tag must verify under. The site refuses both: sealing to a low-order
point raises ``CryptoError``, and a blob whose ephemeral key is low-order fails to open with
``DecryptionError`` (never a crash, never a zero key), in both sealed formats.

The points are the known small-order list (as in libsodium's ``has_small_order``): 0, 1, the two
points of order 8, p - 1, and their non-canonical encodings (adding p, setting the ignored top
bit).
"""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from crypto import CryptoError, DecryptionError, generate_keypair, open_sealed, seal
from crypto.padding import pad
from crypto.sealing import MIN_PADDED_SIZE, VERSION_1, VERSION_2, _seal_with

P = 2**255 - 19
ORDER_8 = [
    "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
    "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
]
CANONICAL = [0, 1, P - 1, *(int.from_bytes(bytes.fromhex(h), "little") for h in ORDER_8)]


def encodings() -> list[bytes]:
    values = set()
    for u in CANONICAL:
        for value in (u, u + P):
            if value < 2**255:
                values.update({value, value | 1 << 255})  # X25519 ignores the top bit
    return [value.to_bytes(32, "little") for value in sorted(values)]


LOW_ORDER = encodings()
AD = b"case:1|intake:1"
RECIPIENT = generate_keypair()


def test_the_list_is_complete() -> None:
    assert len(LOW_ORDER) == 14
    assert bytes(32) in LOW_ORDER
    assert (
        bytes.fromhex("ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f")
        in LOW_ORDER
    )
    assert (
        bytes.fromhex("eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f")
        in LOW_ORDER
    )


@pytest.mark.parametrize("point", LOW_ORDER, ids=[p.hex()[:12] for p in LOW_ORDER])
def test_sealing_to_a_low_order_point_is_refused(point: bytes) -> None:
    with pytest.raises(CryptoError):
        seal(point, b"the report", AD)
    ephemeral = generate_keypair()
    for version in (VERSION_1, VERSION_2):
        with pytest.raises(CryptoError):
            _seal_with(ephemeral.private_key, bytes(12), point, b"the report", AD, version)


def zero_secret_key(ephemeral: bytes, recipient: bytes, version: int) -> bytes:
    """The key a forger knows if the all-zero shared secret were ever accepted."""
    info = f"candor-seal-v{version}".encode() + ephemeral + recipient
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(bytes(32))


@pytest.mark.parametrize("point", LOW_ORDER, ids=[p.hex()[:12] for p in LOW_ORDER])
def test_blob_with_a_low_order_ephemeral_key_does_not_open(point: bytes) -> None:
    nonce = bytes(12)
    for version in (VERSION_1, VERSION_2):
        # A forgery made with the key a zero secret would give: it must not verify.
        plaintext = b"forged report"
        if version == VERSION_2:
            plaintext = pad(plaintext, MIN_PADDED_SIZE)
        key = zero_secret_key(point, RECIPIENT.public_key, version)
        forged = bytes((version,)) + point + nonce + AESGCM(key).encrypt(nonce, plaintext, AD)
        with pytest.raises(DecryptionError):
            open_sealed(RECIPIENT.private_key, forged, AD)
        # A genuine blob with its ephemeral key swapped for the point fails the same way.
        genuine = _seal_with(
            generate_keypair().private_key, nonce, RECIPIENT.public_key, b"real", AD, version
        )
        with pytest.raises(DecryptionError):
            open_sealed(RECIPIENT.private_key, genuine[:1] + point + genuine[33:], AD)
