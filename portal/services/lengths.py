"""Upper bounds on every secret a person types, checked before any Argon2id work.

Argon2id's cost hardly depends on the input length, but hashing a many-megabyte "password" still
reads and copies it, and an unbounded field invites abuse; every bound here is far above anything
the site issues or a person would choose. Forms apply the same bounds; the services check again
so that a direct call cannot skip them.
"""

from __future__ import annotations

from portal.services.errors import InvalidInputError

# A generated passphrase is 7 words, about 50 characters.
MAX_PASSPHRASE_LENGTH = 256
# 16 digits, grouped in fours, perhaps with spaces around the dashes.
MAX_RECEIPT_CODE_LENGTH = 64
MAX_PASSWORD_LENGTH = 256
# 36 characters in 9 groups of 4 joined by dashes: 44.
MAX_RECOVERY_KEY_LENGTH = 64
# 6 digits, perhaps with a space in the middle.
MAX_ONE_TIME_CODE_LENGTH = 16


def too_long_message(name: str, limit: int) -> str:
    """What the person reads when a field is longer than the site accepts."""
    return (
        f"The {name} is longer than this site accepts ({limit} characters at most), so it was "
        "not checked. Look at what you typed or pasted, then try again."
    )


def check_lengths(*fields: tuple[str, str, int]) -> None:
    """Raise InvalidInputError for the first ``(name, value, limit)`` whose value is too long."""
    for name, value, limit in fields:
        if len(value) > limit:
            raise InvalidInputError(too_long_message(name, limit))
