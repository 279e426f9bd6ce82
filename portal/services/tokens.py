"""Random tokens that are stored only as hashes, and the decoy that keeps failures as slow as
successes."""

from __future__ import annotations

import hashlib
import secrets
from functools import cache

import crypto


def token_hash(token: str) -> bytes:
    """What the database keeps of a session id or a link token: a copy cannot be replayed."""
    return hashlib.sha256(token.encode()).digest()


@cache
def decoy_blob(profile: crypto.Argon2Profile) -> bytes:
    """A wrapped blob to run Argon2id against when there is no account or case to check, so
    that timing does not tell whether one exists."""
    blob, _ = crypto.wrap_with_secret(secrets.token_bytes(32), "decoy", b"decoy", profile)
    return blob
