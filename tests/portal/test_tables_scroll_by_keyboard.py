"""On a narrow screen a table wider than the window scrolls inside its own box, and a box that
scrolls must be reachable by keyboard (axe: scrollable-region-focusable). Every table a template
draws is either inside a focusable, named ``.table-scroll`` box or focusable itself, so that a new
page cannot forget it; the browser tests check the pages themselves with axe at 375 px."""

from __future__ import annotations

import re
from pathlib import Path

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
TABLE = re.compile(r"<table\b[^>]*>")
SCROLL_BOX = re.compile(
    r'<div class="[^"]*\btable-scroll\b[^"]*" tabindex="0" role="region" aria-label="[^"]+">'
)


def test_every_table_scrolls_by_keyboard() -> None:
    unreachable = []
    tables = 0
    for template in sorted(TEMPLATES.rglob("*.html")):
        lines = template.read_text("utf-8").splitlines()
        for number, line in enumerate(lines, start=1):
            for tag in TABLE.findall(line):
                tables += 1
                before = lines[number - 2] if number > 1 else ""
                if 'tabindex="0"' not in tag and not SCROLL_BOX.search(before):
                    unreachable.append(f"{template.relative_to(TEMPLATES)}:{number}: {tag}")
    assert tables > 10
    assert not unreachable, "\n".join(unreachable)
