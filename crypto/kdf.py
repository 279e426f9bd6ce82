"""Password-based key derivation: one Argon2id run, then HKDF-SHA256 into independent keys.

A single Argon2id run yields a 32-byte master secret. HKDF-SHA256 with different ``info`` labels
splits it into a key-wrapping key, a login verifier and a visit-record key, so a login costs one
Argon2id run and the stored verifier reveals nothing about the other keys (HKDF outputs under
different labels are independent).
"""

from __future__ import annotations

import hmac
import secrets
import unicodedata
from dataclasses import dataclass

from argon2.exceptions import HashingError
from argon2.low_level import Type, hash_secret_raw
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from crypto.errors import CryptoError

__all__ = [
    "PRODUCTION",
    "PROFILES",
    "TEST",
    "Argon2Profile",
    "DerivedKeys",
    "derive_keys",
    "new_salt",
    "verifier_matches",
]

SALT_SIZE = 16
MASTER_SIZE = 32
KEY_SIZE = 32
_WRAP_LABEL = b"candor-wrap-v1"
_VERIFIER_LABEL = b"candor-verifier-v1"
# Seals the reporter's record of their own visits (crypto/visits.py): only the passphrase opens it.
_VISITS_LABEL = b"candor-visits-v1"

# Bounds on parameters read back from stored blobs: they keep a corrupted or hostile blob from
# asking for an absurd amount of memory or time, while leaving ample room to raise the profile.
MAX_TIME_COST = 64
MAX_MEMORY_COST_KIB = 4 * 1024 * 1024  # 4 GiB
MAX_PARALLELISM = 64


@dataclass(frozen=True)
class Argon2Profile:
    """Argon2id cost parameters (memory in KiB, as Argon2 counts it)."""

    name: str
    time_cost: int
    memory_cost_kib: int
    parallelism: int

    def validate(self) -> None:
        """Raise ``CryptoError`` unless the parameters are within Argon2's and our bounds.

        Security property: parameters read from a stored blob cannot make a login allocate
        unbounded memory or run unbounded time.
        """
        if not 1 <= self.time_cost <= MAX_TIME_COST:
            raise CryptoError("Argon2 time cost out of range")
        if not 1 <= self.parallelism <= MAX_PARALLELISM:
            raise CryptoError("Argon2 parallelism out of range")
        # Argon2 needs at least 8 KiB per lane.
        if not 8 * self.parallelism <= self.memory_cost_kib <= MAX_MEMORY_COST_KIB:
            raise CryptoError("Argon2 memory cost out of range")


# Measured on the 2-core reference machine with argon2-cffi: median 150 ms per derivation
# (time_cost=2 gave 107 ms, time_cost=4 gave 178 ms). 64 MiB keeps a GPU/ASIC attacker memory-bound
# while a login stays well under a quarter of a second.
PRODUCTION = Argon2Profile(name="production", time_cost=3, memory_cost_kib=64 * 1024, parallelism=2)

# Deliberately weak: only for the test suite, where thousands of derivations must be fast.
TEST = Argon2Profile(name="test", time_cost=1, memory_cost_kib=8, parallelism=1)

PROFILES: dict[str, Argon2Profile] = {PRODUCTION.name: PRODUCTION, TEST.name: TEST}


@dataclass(frozen=True)
class DerivedKeys:
    """The independent keys derived from one secret.

    ``visits_key`` seals the record of a reporter's visits; staff accounts do not use it.
    ``repr`` hides every value so none reaches a traceback or a log by accident.
    """

    wrapping_key: bytes
    verifier: bytes
    visits_key: bytes

    def __repr__(self) -> str:
        return "DerivedKeys(wrapping_key=<hidden>, verifier=<hidden>, visits_key=<hidden>)"


def _expand(master: bytes, label: bytes) -> bytes:
    # The master is already uniformly random (Argon2 output), so HKDF needs no salt here;
    # distinct labels give independent keys.
    return HKDF(algorithm=hashes.SHA256(), length=KEY_SIZE, salt=None, info=label).derive(master)


def derive_keys(secret: str, salt: bytes, profile: Argon2Profile) -> DerivedKeys:
    """Derive the wrapping key, the login verifier and the visit-record key from a secret.

    Security properties: brute force costs one Argon2id run per guess per salt (memory-hard);
    the verifier and the wrapping key are independent, so storing the verifier does not expose the
    wrapping key; the secret is NFC-normalised so the same text typed on different systems
    derives the same keys.
    """
    profile.validate()
    if len(salt) < 8:
        raise CryptoError("salt too short")
    normalized = unicodedata.normalize("NFC", secret).encode("utf-8")
    try:
        master = hash_secret_raw(
            secret=normalized,
            salt=salt,
            time_cost=profile.time_cost,
            memory_cost=profile.memory_cost_kib,
            parallelism=profile.parallelism,
            hash_len=MASTER_SIZE,
            type=Type.ID,
        )
    except HashingError as exc:
        raise CryptoError("Argon2id derivation failed") from exc
    return DerivedKeys(
        wrapping_key=_expand(master, _WRAP_LABEL),
        verifier=_expand(master, _VERIFIER_LABEL),
        visits_key=_expand(master, _VISITS_LABEL),
    )


def new_salt() -> bytes:
    """Return 16 random bytes for a new Argon2id salt.

    Security property: a per-secret random salt makes precomputation useless and forces an
    offline attacker to guess one record at a time.
    """
    return secrets.token_bytes(SALT_SIZE)


def verifier_matches(expected: bytes, actual: bytes) -> bool:
    """Compare two verifiers in constant time.

    Security property: the comparison time does not depend on where the values differ, so timing
    does not reveal how much of a stored verifier a guess matched.
    """
    return hmac.compare_digest(expected, actual)
