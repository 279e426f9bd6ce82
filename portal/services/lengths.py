"""Upper bounds on every secret a person types, checked before any Argon2id work.

Argon2id's cost hardly depends on the input length, but hashing a many-megabyte "password" still
reads and copies it, and an unbounded field invites abuse; every bound here is far above anything
the site issues or a person would choose. Forms apply the same bounds; the services check again
so that a direct call cannot skip them.
"""

from __future__ import annotations

from portal.i18n import N_, _l
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


# One whole sentence for each secret a person types, so that a translator can write it as their
# language needs (a name alone cannot be put into another language's sentence).
TOO_LONG: dict[str, str] = {
    "receipt code": N_(
        "The receipt code is longer than this site accepts (%(limit)d characters at most), so "
        "it was not checked. Look at what you typed or pasted, then try again."
    ),
    "passphrase": N_(
        "The passphrase is longer than this site accepts (%(limit)d characters at most), so it "
        "was not checked. Look at what you typed or pasted, then try again."
    ),
    "repeated passphrase": N_(
        "The repeated passphrase is longer than this site accepts (%(limit)d characters at "
        "most), so it was not checked. Look at what you typed or pasted, then try again."
    ),
    "password": N_(
        "The password is longer than this site accepts (%(limit)d characters at most), so it "
        "was not checked. Look at what you typed or pasted, then try again."
    ),
    "current password": N_(
        "The current password is longer than this site accepts (%(limit)d characters at most), "
        "so it was not checked. Look at what you typed or pasted, then try again."
    ),
    "new password": N_(
        "The new password is longer than this site accepts (%(limit)d characters at most), so "
        "it was not checked. Look at what you typed or pasted, then try again."
    ),
    "repeated password": N_(
        "The repeated password is longer than this site accepts (%(limit)d characters at most), "
        "so it was not checked. Look at what you typed or pasted, then try again."
    ),
    "one-time code": N_(
        "The one-time code is longer than this site accepts (%(limit)d characters at most), so "
        "it was not checked. Look at what you typed or pasted, then try again."
    ),
    "recovery key": N_(
        "The recovery key is longer than this site accepts (%(limit)d characters at most), so "
        "it was not checked. Look at what you typed or pasted, then try again."
    ),
}
TOO_LONG_ANY = N_(
    "What you typed is longer than this site accepts (%(limit)d characters at most), so it was "
    "not checked. Look at what you typed or pasted, then try again."
)


def too_long_message(name: str, limit: int) -> str:
    """What the person reads when a field is longer than the site accepts.

    Lazy: forms build it at import time, and it is written in the language of the page that
    shows it.
    """
    return _l(TOO_LONG.get(name, TOO_LONG_ANY), limit=limit)


def check_lengths(*fields: tuple[str, str, int]) -> None:
    """Raise InvalidInputError for the first ``(name, value, limit)`` whose value is too long."""
    for name, value, limit in fields:
        if len(value) > limit:
            raise InvalidInputError(str(too_long_message(name, limit)))
