"""The catalogues keep up with the code, and each language is as complete as it says it is.

messages.pot must hold exactly what ``make messages`` would extract today, so a string marked
in a template or in the code cannot ship without a place in the catalogues. Each shipped
catalogue declares in its header comment which parts of the site it has complete
("# Complete: reporter, automatic, staff", parts from ``portal.i18n.PARTS``); every message of
such a part is then translated in it, in every plural form, not fuzzy, with the same
placeholders. Reporter pages and automatic messages are complete in every shipped language,
the staff pages in the staff languages at least.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.frontend import CommandLineInterface
from babel.messages.pofile import read_po

from portal import i18n

ROOT = Path(__file__).resolve().parents[2]
POT = i18n.TRANSLATIONS_DIR / "messages.pot"
# The minimum for the staff pages; every language marked staff=True is held to it too.
STAFF_MINIMUM = {"de", "fr", "es", "it"}
COMPLETE = re.compile(r"^#\s*Complete:(.*)$", re.MULTILINE)
NAMED = re.compile(r"%\((\w+)\)[-#0 +]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa]")
BRACED = re.compile(r"(?<!\{)\{(\w*)\}(?!\})")


def load(path: Path, locale: str | None = None) -> Catalog:
    with path.open("rb") as f:
        return read_po(f, locale=locale)


def key(message: Message) -> str:
    """A message's msgid (the singular for plurals): what the catalogue is looked up by."""
    return message.id[0] if isinstance(message.id, tuple) else str(message.id)


def messages(catalog: Catalog) -> dict[str, Message]:
    return {key(m): m for m in catalog if m.id}


def shipped() -> dict[str, Path]:
    return {
        path.parent.parent.name: path
        for path in sorted(i18n.TRANSLATIONS_DIR.glob("*/LC_MESSAGES/messages.po"))
    }


def declared_parts(path: Path) -> set[str]:
    """The parts named on the "# Complete:" line of the catalogue's header comment."""
    header = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("#"):
            break
        header.append(line)
    found = COMPLETE.search("\n".join(header))
    if found is None:
        return set()
    return {part.strip() for part in found.group(1).split(",") if part.strip()}


def parts_of(message: Message) -> set[str]:
    return {i18n.part_of(filename) for filename, _line in message.locations}


def placeholders(texts: Iterable[str]) -> set[str]:
    names: set[str] = set()
    for text in texts:
        names |= {f"%({name})" for name in NAMED.findall(text)}
        names |= {f"{{{name}}}" for name in BRACED.findall(text)}
    return names


def problem(message: Message, catalog: Catalog) -> str | None:
    """What is wrong with ``message``'s translation, or None."""
    sources = list(message.id) if isinstance(message.id, tuple) else [str(message.id)]
    if isinstance(message.id, tuple):
        forms = list(message.string) if isinstance(message.string, tuple | list) else []
        if len(forms) < catalog.num_plurals:
            return f"{len(forms)} of {catalog.num_plurals} plural forms"
    else:
        forms = [str(message.string or "")]
    if not all(forms):
        return "empty"
    if message.fuzzy:
        return "fuzzy"
    wanted = placeholders(sources)
    for form in forms:
        used = placeholders([form])
        # A plural form may leave out the count ("one day"), never anything else.
        if used - wanted or (wanted - {"%(num)"}) - used:
            return f"placeholders {sorted(used)} instead of {sorted(wanted)}"
    return None


def extract(out: Path) -> Catalog:
    """What ``make messages`` would write to messages.pot, extracted here in-process."""
    CommandLineInterface().run(  # type: ignore[no-untyped-call]
        [
            "pybabel",
            "-q",
            "extract",
            "-F",
            str(ROOT / "babel.cfg"),
            "-k",
            "_l",
            "-k",
            "_n:1,2",
            "-k",
            "N_",
            "--add-location=file",
            "--sort-output",
            "--no-wrap",
            "-o",
            str(out),
            ".",
        ]
    )
    return load(out)


def test_messages_pot_is_up_to_date(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    fresh = set(messages(extract(tmp_path / "messages.pot")))
    committed = set(messages(load(POT)))
    missing = sorted(fresh - committed)
    extra = sorted(committed - fresh)
    assert not missing and not extra, (
        "portal/translations/messages.pot is out of date: run make messages.\n"
        f"Marked in the code but missing from it ({len(missing)}): {missing}\n"
        f"In it but no longer in the code ({len(extra)}): {extra}"
    )


def test_every_message_belongs_to_a_known_part() -> None:
    template = load(POT)
    assert set(i18n.PARTS) == {"reporter", "automatic", "staff"}
    for message in template:
        if message.id:
            assert message.locations, f"{key(message)!r} has no location: run make messages"
            assert parts_of(message) <= set(i18n.PARTS), key(message)


def test_every_shipped_language_has_a_catalogue_and_declares_its_parts() -> None:
    catalogues = shipped()
    codes = {language.code for language in i18n.LANGUAGES} - {"en"}
    assert set(catalogues) == codes, (
        f"catalogues without a language: {sorted(set(catalogues) - codes)}; "
        f"languages without a catalogue: {sorted(codes - set(catalogues))}"
    )
    staff = {language.code for language in i18n.LANGUAGES if language.staff} - {"en"}
    assert staff >= STAFF_MINIMUM
    missing: dict[str, list[str]] = {}
    for code, path in catalogues.items():
        parts = declared_parts(path)
        unknown = parts - set(i18n.PARTS)
        assert not unknown, f"{code}: unknown parts {sorted(unknown)} on its Complete: line"
        required = {"reporter", "automatic"} | ({"staff"} if code in staff else set())
        if required - parts:
            missing[code] = sorted(required - parts)
    assert not missing, (
        'Catalogues that do not declare a part complete ("# Complete: ..." in the header '
        f"comment) that they must: {missing}"
    )


@pytest.mark.parametrize("code", sorted(shipped()))
def test_declared_parts_are_translated_in_full(code: str) -> None:
    path = shipped()[code]
    parts = declared_parts(path)
    catalog = load(path, locale=code)
    translated = messages(catalog)
    failures: dict[str, list[str]] = {}
    for msgid, message in sorted(messages(load(POT)).items()):
        for part in sorted(parts_of(message) & parts):
            found = translated.get(msgid)
            why = "missing: run make messages" if found is None else problem(found, catalog)
            if why is not None:
                failures.setdefault(part, []).append(f"{msgid!r} ({why})")
    summary = "\n".join(
        f"{code}, part {part}: {len(items)} not translated:\n  " + "\n  ".join(items)
        for part, items in failures.items()
    )
    assert not failures, summary


def test_templates_translate_data_with_translated_never_with_underscore() -> None:
    """Jinja's ``_`` takes its argument as trusted markup and as a format string: on a value that
    came from data (an admin's policy title) it would show HTML unescaped. Templates call it on
    literal text only, and use ``translated(value)`` for data."""
    call = re.compile(r"(?<![\w.])_\(\s*(?![\"'])")
    offenders = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in sorted((ROOT / "templates").rglob("*.html"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if call.search(line)
    ]
    assert not offenders, "\n".join(offenders)
