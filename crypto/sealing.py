"""Anonymous public-key encryption ("sealing") to an X25519 public key.

Construction (version 1)::

    eph        = fresh X25519 key pair
    shared     = X25519(eph.private, recipient_pub)
    key        = HKDF-SHA256(shared, salt=b"", info=b"candor-seal-v1" || eph_pub || recipient_pub)
    blob       = 0x01 || eph_pub (32) || nonce (12) || AES-256-GCM(key, nonce, plaintext, AD)

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

__all__ = ["KeyPair", "generate_keypair", "open_sealed", "public_key_from_private", "seal"]

VERSION = 0x01
KEY_SIZE = 32
NONCE_SIZE = 12
TAG_SIZE = 16
HEADER_SIZE = 1 + KEY_SIZE + NONCE_SIZE
MIN_BLOB_SIZE = HEADER_SIZE + TAG_SIZE
_INFO_LABEL = b"candor-seal-v1"
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


def _derive_key(shared: bytes, ephemeral_pub: bytes, recipient_pub: bytes) -> bytes:
    # No salt: the shared secret is already uniformly random per message (fresh ephemeral key),
    # and binding both public keys in info gives the key-commitment to the exact pair.
    hkdf = HKDF(
        algorithm=hashes.SHA256(),
        length=KEY_SIZE,
        salt=None,
        info=_INFO_LABEL + ephemeral_pub + recipient_pub,
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


def _seal_with(
    ephemeral_private: bytes,
    nonce: bytes,
    public_key: bytes,
    plaintext: bytes,
    associated_data: bytes,
) -> bytes:
    """Seal with a caller-chosen ephemeral key and nonce.

    Only for known-answer tests: reusing either value across messages breaks confidentiality.
    """
    return _seal_with_key(
        _load_private(ephemeral_private), nonce, public_key, plaintext, associated_data
    )


def _seal_with_key(
    ephemeral: X25519PrivateKey,
    nonce: bytes,
    public_key: bytes,
    plaintext: bytes,
    associated_data: bytes,
) -> bytes:
    if len(nonce) != NONCE_SIZE:
        raise CryptoError("invalid nonce")
    recipient = _load_public(public_key)
    ephemeral_pub = _public_bytes(ephemeral)
    try:
        shared = ephemeral.exchange(recipient)
    except ValueError as exc:
        # A low-order recipient point yields an all-zero secret; refuse rather than encrypt
        # under a key anyone can compute.
        raise CryptoError("invalid public key") from exc
    key = _derive_key(shared, ephemeral_pub, public_key)
    ciphertext = AESGCM(key).encrypt(nonce, plaintext, associated_data)
    return bytes((VERSION,)) + ephemeral_pub + nonce + ciphertext


def seal(public_key: bytes, plaintext: bytes, associated_data: bytes) -> bytes:
    """Encrypt ``plaintext`` so only the holder of the matching private key can read it.

    Security properties: confidentiality and integrity (AES-256-GCM under a key from a fresh
    ephemeral X25519 exchange); the sender is anonymous and cannot decrypt what they sealed;
    ``associated_data`` is authenticated, so the blob opens only in the context it was sealed for.
    Raises ``CryptoError`` for a malformed or low-order public key.
    """
    return _seal_with_key(
        X25519PrivateKey.generate(),
        secrets.token_bytes(NONCE_SIZE),
        public_key,
        plaintext,
        associated_data,
    )


def open_sealed(private_key: bytes, blob: bytes, associated_data: bytes) -> bytes:
    """Decrypt and verify a blob made by :func:`seal`.

    Security properties: returns plaintext only if the blob is unmodified, was sealed to this
    key pair and with exactly this ``associated_data``. Every failure (wrong key, wrong associated
    data, tampering, malformed length, bad private key) raises ``DecryptionError``; an unknown
    version byte raises its subclass ``UnsupportedFormatError``.
    """
    if not blob:
        raise DecryptionError("malformed sealed blob")
    if blob[0] != VERSION:
        raise UnsupportedFormatError("unsupported sealed blob version")
    if len(blob) < MIN_BLOB_SIZE:
        raise DecryptionError("malformed sealed blob")
    view = memoryview(blob)
    ephemeral_pub = bytes(view[1 : 1 + KEY_SIZE])
    nonce = bytes(view[1 + KEY_SIZE : HEADER_SIZE])
    try:
        recipient = _load_private(private_key)
        shared = recipient.exchange(X25519PublicKey.from_public_bytes(ephemeral_pub))
        key = _derive_key(shared, ephemeral_pub, _public_bytes(recipient))
        return AESGCM(key).decrypt(nonce, view[HEADER_SIZE:], associated_data)
    except (InvalidTag, ValueError, CryptoError) as exc:
        raise DecryptionError("sealed blob did not verify") from exc
