"""Key wrapping: under a low-entropy secret (Argon2id) or under a high-entropy key (HKDF).

Secret-wrapped blob (version 1), 41-byte header then ciphertext::

    0x01 || time_cost (u32 BE) || memory_cost_kib (u32 BE) || parallelism (u32 BE)
         || salt (16) || nonce (12) || AES-256-GCM(wrapping_key, nonce, key_material, AD || header)

Key-wrapped blob (version 1), 29-byte header then ciphertext::

    0x01 || salt (16) || nonce (12)
         || AES-256-GCM(HKDF(secret, salt), nonce, key_material, AD || header)

The Argon2 parameters travel with each blob so the production profile can be raised later while old
blobs still open; the whole header is authenticated, so parameters, salt or nonce cannot be swapped.
The caller's associated data comes first and the header has a fixed size, so the concatenation is
unambiguous.
"""

from __future__ import annotations

import secrets
import struct

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from crypto.errors import CryptoError, DecryptionError, UnsupportedFormatError
from crypto.kdf import SALT_SIZE, Argon2Profile, DerivedKeys, derive_keys, new_salt

__all__ = [
    "blob_profile",
    "derive_for_blob",
    "unwrap_with_key",
    "unwrap_with_keys",
    "unwrap_with_secret",
    "wrap_with_key",
    "wrap_with_secret",
    "wrap_with_secret_keys",
]

VERSION = 0x01
NONCE_SIZE = 12
TAG_SIZE = 16
KEY_SIZE = 32
MIN_WRAPPING_SECRET_SIZE = 16
_PARAMS = struct.Struct(">BIII")
SECRET_HEADER_SIZE = _PARAMS.size + SALT_SIZE + NONCE_SIZE
KEY_HEADER_SIZE = 1 + SALT_SIZE + NONCE_SIZE
_KEYWRAP_LABEL = b"candor-keywrap-v1"
_RECORDED = "recorded"


def _check_header(blob: bytes, header_size: int) -> None:
    if not blob:
        raise DecryptionError("malformed wrapped blob")
    if blob[0] != VERSION:
        raise UnsupportedFormatError("unsupported wrapped blob version")
    if len(blob) < header_size + TAG_SIZE:
        raise DecryptionError("malformed wrapped blob")


def _parse_secret_header(blob: bytes) -> tuple[Argon2Profile, bytes, bytes]:
    _check_header(blob, SECRET_HEADER_SIZE)
    _version, time_cost, memory_cost_kib, parallelism = _PARAMS.unpack_from(blob)
    profile = Argon2Profile(_RECORDED, time_cost, memory_cost_kib, parallelism)
    try:
        profile.validate()
    except CryptoError as exc:
        raise DecryptionError("malformed wrapped blob") from exc
    salt = blob[_PARAMS.size : _PARAMS.size + SALT_SIZE]
    nonce = blob[_PARAMS.size + SALT_SIZE : SECRET_HEADER_SIZE]
    return profile, salt, nonce


def _open(key: bytes, nonce: bytes, blob: bytes, header_size: int, associated_data: bytes) -> bytes:
    try:
        return AESGCM(key).decrypt(nonce, blob[header_size:], associated_data + blob[:header_size])
    except (InvalidTag, ValueError) as exc:
        raise DecryptionError("wrapped blob did not verify") from exc


def wrap_with_secret(
    key_material: bytes, secret: str, associated_data: bytes, profile: Argon2Profile
) -> tuple[bytes, bytes]:
    """Wrap ``key_material`` under a password or passphrase; return ``(blob, verifier)``.

    Security properties: confidentiality and integrity of the key material (AES-256-GCM under an
    Argon2id-derived key with a fresh salt); the header (Argon2 parameters, salt, nonce) and
    ``associated_data`` are authenticated; the returned verifier is independent of the wrapping
    key, so it can be stored for login checks without exposing the key material.
    """
    blob, keys = wrap_with_secret_keys(key_material, secret, associated_data, profile)
    return blob, keys.verifier


def wrap_with_secret_keys(
    key_material: bytes, secret: str, associated_data: bytes, profile: Argon2Profile
) -> tuple[bytes, DerivedKeys]:
    """As :func:`wrap_with_secret`, but return every key of the one Argon2id run.

    Security property: the same keys as :func:`derive_for_blob` gives for the returned blob, so a
    caller that needs another derived key (the visit-record key) runs Argon2id once, not twice.
    """
    profile.validate()
    salt = new_salt()
    nonce = secrets.token_bytes(NONCE_SIZE)
    keys = derive_keys(secret, salt, profile)
    header = (
        _PARAMS.pack(VERSION, profile.time_cost, profile.memory_cost_kib, profile.parallelism)
        + salt
        + nonce
    )
    ciphertext = AESGCM(keys.wrapping_key).encrypt(nonce, key_material, associated_data + header)
    return header + ciphertext, keys


def blob_profile(blob: bytes) -> Argon2Profile:
    """Return the Argon2 parameters recorded in a secret-wrapped blob (name ``"recorded"``).

    Security property: lets a caller notice blobs made under a weaker profile and re-wrap them at
    the next successful login. The parameters are only trusted after the blob verifies.
    """
    profile, _salt, _nonce = _parse_secret_header(blob)
    return profile


def derive_for_blob(blob: bytes, secret: str) -> DerivedKeys:
    """Run Argon2id once with the parameters and salt recorded in ``blob``.

    Security property: one memory-hard derivation yields both the login verifier and the
    unwrapping key, so a login costs the defender exactly what each guess costs the attacker.
    Raises ``DecryptionError`` for a malformed header or out-of-range parameters.
    """
    profile, salt, _nonce = _parse_secret_header(blob)
    return derive_keys(secret, salt, profile)


def unwrap_with_keys(blob: bytes, keys: DerivedKeys, associated_data: bytes) -> bytes:
    """Unwrap a secret-wrapped blob with keys from :func:`derive_for_blob`.

    Security property: returns the key material only if the blob, its header and
    ``associated_data`` are unmodified and the keys came from the right secret; otherwise raises
    ``DecryptionError``.
    """
    _profile, _salt, nonce = _parse_secret_header(blob)
    return _open(keys.wrapping_key, nonce, blob, SECRET_HEADER_SIZE, associated_data)


def unwrap_with_secret(blob: bytes, secret: str, associated_data: bytes) -> bytes:
    """Unwrap a secret-wrapped blob with the password or passphrase.

    Security property: as :func:`unwrap_with_keys`; the Argon2 parameters come from the
    authenticated header, so the caller need not know which profile wrapped it.
    """
    return unwrap_with_keys(blob, derive_for_blob(blob, secret), associated_data)


def _keywrap_key(wrapping_secret: bytes, salt: bytes) -> bytes:
    # The random per-blob salt makes each wrapping key unique even when the same secret wraps
    # many items, so nonce reuse across blobs under one key cannot happen.
    hkdf = HKDF(algorithm=hashes.SHA256(), length=KEY_SIZE, salt=salt, info=_KEYWRAP_LABEL)
    return hkdf.derive(wrapping_secret)


def wrap_with_key(key_material: bytes, wrapping_secret: bytes, associated_data: bytes) -> bytes:
    """Wrap ``key_material`` under a high-entropy secret (recovery key, session key).

    Security properties: confidentiality and integrity (AES-256-GCM under
    HKDF-SHA256(secret, random salt)); header and ``associated_data`` authenticated. Only for
    secrets with at least 128 bits of entropy: there is no work factor against guessing. Raises
    ``CryptoError`` if ``wrapping_secret`` is shorter than 16 bytes.
    """
    if len(wrapping_secret) < MIN_WRAPPING_SECRET_SIZE:
        raise CryptoError("wrapping secret too short")
    salt = secrets.token_bytes(SALT_SIZE)
    nonce = secrets.token_bytes(NONCE_SIZE)
    header = bytes((VERSION,)) + salt + nonce
    key = _keywrap_key(wrapping_secret, salt)
    return header + AESGCM(key).encrypt(nonce, key_material, associated_data + header)


def unwrap_with_key(blob: bytes, wrapping_secret: bytes, associated_data: bytes) -> bytes:
    """Unwrap a blob made by :func:`wrap_with_key`.

    Security property: returns the key material only if the blob and ``associated_data`` are
    unmodified and the secret is right; otherwise raises ``DecryptionError``
    (``UnsupportedFormatError`` for an unknown version).
    """
    _check_header(blob, KEY_HEADER_SIZE)
    salt = blob[1 : 1 + SALT_SIZE]
    nonce = blob[1 + SALT_SIZE : KEY_HEADER_SIZE]
    return _open(_keywrap_key(wrapping_secret, salt), nonce, blob, KEY_HEADER_SIZE, associated_data)
