"""Words about the clock and retention as reporters read them, on the start page and in the
published policy (the "reporter" part of the catalogue: portal/i18n.py ``PART_OF_PATH``).

The admin pages' own tables of the same events (``clock.preview``) are staff words; these are
the reporter's, kept here so a reporter page needs no staff translation.
"""

from __future__ import annotations

from portal.i18n import _n
from portal.services.clock.event_words import START_WORDS as START_WORDS
from portal.services.clock.event_words import STOP_WORDS as STOP_WORDS


def kept_words(days: int) -> str:
    """How long a case is kept, in the page's language: in years or months where it comes out
    even ("5 years"), else in days."""
    if days % 365 == 0:
        return _n("%(num)d year", "%(num)d years", days // 365)
    if days % 30 == 0:
        return _n("%(num)d month", "%(num)d months", days // 30)
    return _n("%(num)d day", "%(num)d days", days)
