"""A policy's text as an admin edits it: TOML, read by the presets' own parser.

Edits made through the form change only the values they name, in place, so the comments and
sources quoted in the text stay where they are (tomlkit keeps them).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import tomlkit
from tomlkit.exceptions import TOMLKitError

from portal.i18n import _
from portal.services.calendar import Duration
from portal.services.policies import PRESETS, Policy, PolicyError, parse_policy

MAX_TEXT_LENGTH = 100_000
# Lower-case letters, digits and dashes: it appears in links and, with its version, in the
# deadline rows ("acme-complaints@3"), so it has no "@" and fits their column.
NAME_PATTERN = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,46}[a-z0-9])?")


class PolicyTextError(ValueError):
    """The text is not a policy; the message says where and what to change."""


@dataclass(frozen=True)
class ClockChange:
    """What the edit form sets on one clock; every other key of the clock stays as it is."""

    duration: int
    unit: str
    warn_before: tuple[str, ...]
    escalate_every: str | None
    at_expiry: tuple[str, ...]


def check_name(name: str) -> str:
    """A custom policy's name, or PolicyTextError saying how to write one."""
    if not NAME_PATTERN.fullmatch(name):
        raise PolicyTextError(
            _(
                "Use lower-case letters, digits and dashes (such as acme-complaints), "
                "at most 48 characters, starting and ending with a letter or digit."
            )
        )
    if name in PRESETS:
        raise PolicyTextError(_("A preset already has this name; choose another."))
    return name


def parse_text(text: str, name: str) -> Policy:
    """The policy ``text`` describes, read exactly as a preset is, named ``name``."""
    if len(text) > MAX_TEXT_LENGTH:
        raise PolicyTextError(
            _("The text is longer than %(most)d characters.", most=MAX_TEXT_LENGTH)
        )
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyTextError(_("This is not valid TOML: %(problem)s.", problem=exc)) from None
    if raw.get("name") != name:
        raise PolicyTextError(_('The text must keep the line name = "%(name)s".', name=name))
    if not str(raw.get("title", "")).strip():
        raise PolicyTextError(_('The text must have a title line, such as title = "Complaints".'))
    try:
        return parse_policy(raw)
    except (PolicyError, KeyError, ValueError, TypeError) as exc:
        raise PolicyTextError(_missing(exc)) from None


def renamed(text: str, name: str, title: str) -> str:
    """A preset's text with a new name and title; its comments and sources kept."""
    document = tomlkit.parse(text)
    document["name"] = name
    document["title"] = title
    return tomlkit.dumps(document)


def with_clock_changes(text: str, changes: Mapping[str, ClockChange]) -> str:
    """``text`` with the form's values set on the clocks named in ``changes``."""
    try:
        document = tomlkit.parse(text)
    except TOMLKitError as exc:
        raise PolicyTextError(_("This is not valid TOML: %(problem)s.", problem=exc)) from None
    clocks: Any = document.get("clocks", [])
    for clock in clocks:
        change = changes.get(str(clock.get("key")))
        if change is None:
            continue
        clock["duration"] = change.duration
        clock["unit"] = change.unit
        clock["warn_before"] = list(change.warn_before)
        if change.escalate_every:
            clock["escalate_every"] = change.escalate_every
        elif "escalate_every" in clock:
            del clock["escalate_every"]
        clock["at_expiry"] = list(change.at_expiry)
    return tomlkit.dumps(document)


def durations(text: str) -> tuple[str, ...]:
    """Comma-separated durations as the form takes them ("2 calendar_days, 1 calendar_days"),
    each checked; PolicyTextError names the one that is wrong."""
    found = []
    for piece in (p.strip() for p in text.split(",")):
        if not piece:
            continue
        found.append(duration(piece))
    return tuple(found)


def duration(text: str) -> str:
    """One duration, checked: a positive whole number and a unit."""
    try:
        parsed = Duration.parse(text)
    except ValueError:
        raise PolicyTextError(
            _(
                "%(given)s is not a duration: write a whole number and a unit, such as "
                "2 calendar_days (units: minutes, hours, calendar_days, working_days, "
                "calendar_months).",
                given=repr(text),
            )
        ) from None
    if parsed.amount <= 0:
        raise PolicyTextError(
            _("%(given)s: give a duration longer than nothing.", given=repr(text))
        )
    return f"{parsed.amount} {parsed.unit.value}"


def _missing(exc: Exception) -> str:
    if isinstance(exc, KeyError):
        return _("A required key is missing: %(key)s.", key=exc)
    return str(exc)
