"""Catalogue extraction for the preset policies: the words a policy shows people.

babel.cfg names ``extract_policy`` for ``portal/policies/*.toml``. A policy's promises, notices,
questions, labels and titles are shown to reporters and staff; the presets' texts go into the
catalogue so that each is shown in the page's language (``_(rule.promise)`` where it is shown).
An admin's own policy is shown as written.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from typing import IO, Any

# The keys whose values people read (everything else is a key, a unit, a source reference, or
# the name of a site text, such as reporter_notice).
SHOWN_KEYS = frozenset(
    {"title", "label", "promise", "promise_within", "notice", "question", "flag"}
)


def _strings(value: Any) -> Iterator[tuple[str, str]]:
    if isinstance(value, dict):
        for key, item in value.items():
            if key in SHOWN_KEYS and isinstance(item, str) and item.strip():
                yield key, item
            else:
                yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def extract_policy(
    fileobj: IO[bytes], keywords: Any, comment_tags: Any, options: Any
) -> Iterator[tuple[int, str, str, list[str]]]:
    """Babel's extraction interface: (line number, function name, message, comments)."""
    data = fileobj.read()
    text = data.decode("utf-8")
    document = tomllib.loads(text)
    for key, value in _strings(document):
        # TOML strings are shown stripped of the surrounding new lines of a multi-line value.
        message = value.strip()
        needle = value.splitlines()[0] if value.strip() else value
        line = next((number for number, row in enumerate(text.splitlines(), 1) if needle in row), 0)
        yield line, "_", message, [f"policy {key}"]
