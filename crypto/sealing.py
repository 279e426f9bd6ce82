"""Anonymous public-key encryption ("sealing") to an X25519 public key.

Construction (version 2, what :func:`seal` writes)::

    eph        = fresh X25519 key pair
    shared     = X25519(eph.private, recipient_pub)
    key        = HKDF-SHA256(shared, salt=b"", info=b"candor-seal-v2" || eph_pub || recipient_pub)
    padded     = plaintext || 0x80 || 0x00 ...   (length bucket(len(plaintext) + 1, 256))
    blob       = 0x02 || eph_pub (32) || nonce (12) || AES-256-GCM(key, nonce, padded, AD)

``bucket`` is Padmé with a 256-byte floor (see :mod:`crypto.padding`): a blob's length tells only
the bucket of its plaintext's length, every text under 256 bytes looks alike, and the padding sits
inside the ciphertext, so it is authenticated and removed only after the tag has verified.

Version 1 (still opened, for blobs stored before version 2) is the same without padding, with
``0x01`` and the label ``candor-seal-v1``. The label differs per version, so changing the version
byte of a blob derives another key and the blob fails to open: a version-2 blob can never be read
as version 1 with its padding left in, nor the other way round.

Both public keys go into ``info`` so the derived key is bound to this exact sender/recipient pair:
a blob re-targeted at another recipient, or with its ephemeral key swapped, derives a different key
and fails to open. The caller's associated data goes to GCM so a blob moved to another row fails.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from crypto.errors import CryptoError, DecryptionError, UnsupportedFormatError
from crypto.padding import bucket, pad, unpad

__all__ = [
    "KeyPair",
    "generate_keypair",
    "open_sealed",
    "public_key_from_private",
    "seal",
    "sealed_size",
]

VERSION_1 = 0x01
VERSION_2 = 0x02
VERSION = VERSION_2
# Short texts (a one-line message, a case key, an attachment's name and key) all share the
# smallest bucket; 256 bytes is a few lines of text.
MIN_PADDED_SIZE = 256
KEY_SIZE = 32
NONCE_SIZE = 12
TAG_SIZE = 16
HEADER_SIZE = 1 + KEY_SIZE + NONCE_SIZE
MIN_BLOB_SIZE = HEADER_SIZE + TAG_SIZE
_INFO_LABELS = {VERSION_1: b"candor-seal-v1", VERSION_2: b"candor-seal-v2"}
_RAW = serialization.Encoding.Raw
_RAW_PUBLIC = serialization.PublicFormat.Raw


@dataclass(frozen=True)
class KeyPair:
    """A raw X25519 key pair (32 bytes each).

    ``repr`` hides the private key so a key pair printed in a traceback or debugger does not leak.
    """

    private_key: bytes
    public_key: bytes

    def __repr__(self) -> str:
        return f"KeyPair(private_key=<hidden>, public_key={self.public_key.hex()})"


def _public_bytes(key: X25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(_RAW, _RAW_PUBLIC)


def _private_bytes(key: X25519PrivateKey) -> bytes:
    return key.private_bytes(_RAW, serialization.PrivateFormat.Raw, serialization.NoEncryption())


def _load_private(private_key: bytes) -> X25519PrivateKey:
    if len(private_key) != KEY_SIZE:
        raise CryptoError("invalid private key")
    return X25519PrivateKey.from_private_bytes(private_key)


def _load_public(public_key: bytes) -> X25519PublicKey:
    if len(public_key) != KEY_SIZE:
        raise CryptoError("invalid public key")
    return X25519PublicKey.from_public_bytes(public_key)


def _derive_key(shared: bytes, ephemeral_pub: bytes, recipient_pub: bytes, version: int) -> bytes:
    # No salt: the shared secret is already uniformly random per message (fresh ephemeral key),
    # and binding both public keys in info gives the key-commitment to the exact pair.
    hkdf = HKDF(
        algorithm=hashes.SHA256(),
        length=KEY_SIZE,
        salt=None,
        info=_INFO_LABELS[version] + ephemeral_pub + recipient_pub,
    )
    return hkdf.derive(shared)


def generate_keypair() -> KeyPair:
    """Return a fresh X25519 key pair from the operating system's CSPRNG.

    Security property: the private key is unpredictable (256-bit, OS randomness).
    """
    key = X25519PrivateKey.generate()
    return KeyPair(private_key=_private_bytes(key), public_key=_public_bytes(key))


def public_key_from_private(private_key: bytes) -> bytes:
    """Return the raw public key for a raw 32-byte X25519 private key.

    Security property: deterministic, so a stored public key can be checked against its private
    key (for example after unwrapping) before anything is sealed to it.
    """
    return _public_bytes(_load_private(private_key))


def sealed_size(plaintext_size: int) -> int:
    """Return the length of the blob :func:`seal` makes from ``plaintext_size`` bytes.

    Security property: a function of the plaintext length's Padmé bucket only (256-byte floor).
    """
    if plaintext_size < 0:
        raise ValueError("plaintext size must not be negative")
    return HEADER_SIZE + bucket(plaintext_size + 1, MIN_PADDED_SIZE) + TAG_SIZE


def _seal_with(
    ephemeral_private: bytes,
    nonce: bytes,
    public_key: bytes,
    plaintext: bytes,
    associated_data: bytes,
    version: int = VERSION,
) -> bytes:
    """Seal with a caller-chosen ephemeral key, nonce and format version.

    Only for known-answer tests: reusing either value across messages breaks confidentiality,
    and version 1 leaks the exact length.
    """
    return _seal_with_key(
        _load_private(ephemeral_private), nonce, public_key, plaintext, associated_data, version
    )


def _seal_with_key(
    ephemeral: X25519PrivateKey,
    nonce: bytes,
    public_key: bytes,
    plaintext: bytes,
    associated_data: bytes,
    version: int,
) -> bytes:
    if len(nonce) != NONCE_SIZE:
        raise CryptoError("invalid nonce")
    if version not in _INFO_LABELS:
        raise CryptoError("unsupported sealed blob version")
    recipient = _load_public(public_key)
    ephemeral_pub = _public_bytes(ephemeral)
    try:
        shared = ephemeral.exchange(recipient)
    except ValueError as exc:
        # A low-order recipient point yields an all-zero secret; refuse rather than encrypt
        # under a key anyone can compute.
        raise CryptoError("invalid public key") from exc
    key = _derive_key(shared, ephemeral_pub, public_key, version)
    if version == VERSION_2:
        plaintext = pad(plaintext, MIN_PADDED_SIZE)
    ciphertext = AESGCM(key).encrypt(nonce, plaintext, associated_data)
    return bytes((version,)) + ephemeral_pub + nonce + ciphertext


def seal(public_key: bytes, plaintext: bytes, associated_data: bytes) -> bytes:
    """Encrypt ``plaintext`` so only the holder of the matching private key can read it.

    Security properties: confidentiality and integrity (AES-256-GCM under a key from a fresh
    ephemeral X25519 exchange); the sender is anonymous and cannot decrypt what they sealed;
    ``associated_data`` is authenticated, so the blob opens only in the context it was sealed for;
    the blob's length reveals only the Padmé bucket of the plaintext's length (see
    :func:`sealed_size`). Raises ``CryptoError`` for a malformed or low-order public key.
    """
    return _seal_with_key(
        X25519PrivateKey.generate(),
        secrets.token_bytes(NONCE_SIZE),
        public_key,
        plaintext,
        associated_data,
        VERSION,
    )


def open_sealed(private_key: bytes, blob: bytes, associated_data: bytes) -> bytes:
    """Decrypt and verify a blob made by :func:`seal` (version 2) or stored as version 1.

    Security properties: returns plaintext only if the blob is unmodified, was sealed to this
    key pair and with exactly this ``associated_data``. Every failure (wrong key, wrong associated
    data, tampering, malformed length or padding, bad private key, low-order ephemeral key) raises
    ``DecryptionError``; an unknown version byte raises its subclass ``UnsupportedFormatError``.
    """
    if not blob:
        raise DecryptionError("malformed sealed blob")
    version = blob[0]
    if version not in _INFO_LABELS:
        raise UnsupportedFormatError("unsupported sealed blob version")
    if len(blob) < MIN_BLOB_SIZE:
        raise DecryptionError("malformed sealed blob")
    view = memoryview(blob)
    ephemeral_pub = bytes(view[1 : 1 + KEY_SIZE])
    nonce = bytes(view[1 + KEY_SIZE : HEADER_SIZE])
    try:
        recipient = _load_private(private_key)
        shared = recipient.exchange(X25519PublicKey.from_public_bytes(ephemeral_pub))
        key = _derive_key(shared, ephemeral_pub, _public_bytes(recipient), version)
        plaintext = AESGCM(key).decrypt(nonce, view[HEADER_SIZE:], associated_data)
    except (InvalidTag, ValueError, CryptoError) as exc:
        raise DecryptionError("sealed blob did not verify") from exc
    # Only authenticated plaintext reaches the padding check, so it cannot serve as an oracle.
    return unpad(plaintext) if version == VERSION_2 else plaintext
