"""A case's short reference ("C-1A2B3C4D"): what staff, notifications and proofs call a case.

A module of its own, below everything that names a case, so that naming one never imports the
inbox (and with it the whole casework).
"""

from __future__ import annotations

from portal.models import Case

# Hex digits of the case's uid in its reference: enough to tell cases apart on a large site.
REFERENCE_DIGITS = 8


def reference(case: Case) -> str:
    """A short reference for staff and notifications; says nothing about the case."""
    return f"C-{case.uid[:REFERENCE_DIGITS].upper()}"
