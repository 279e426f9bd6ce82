"""Layout and accessibility checks on a page the tests reached with JavaScript off.

The portal serves no script, so a page lays out the same with JavaScript on or off. The checks
need script (axe-core, and reading scroll widths), so they run on a snapshot: the page's HTML
served again at its own address, in a fresh context of the same width with JavaScript on, its
stylesheet loaded from the live server. The site itself never serves axe; it comes from the
``axe-playwright-python`` test dependency, which bundles axe-core's ``axe.min.js``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, Route

FAILING_IMPACTS = ("serious", "critical")
DESKTOP = 1280
PHONE = 375


@dataclass(frozen=True)
class Box:
    x: float
    y: float
    width: float
    height: float


@contextmanager
def snapshot(page: Page, width: int, *, rtl: bool = False) -> Iterator[Page]:
    """The document ``page`` shows, laid out again at ``width`` CSS pixels, with script on;
    with ``rtl``, as a right-to-left language would set it."""
    html = page.content()
    if rtl:
        html = html.replace('<html lang="en" dir="ltr">', '<html lang="en" dir="rtl">', 1)
        assert 'dir="rtl"' in html
    url = page.url
    browser = page.context.browser
    assert browser is not None
    context = browser.new_context(
        java_script_enabled=True, viewport={"width": width, "height": 900}
    )
    try:
        copy = context.new_page()

        def serve(route: Route) -> None:
            route.fulfill(status=200, body=html, content_type="text/html; charset=utf-8")

        copy.route(url, serve)
        copy.goto(url)
        copy.wait_for_load_state("load")
        yield copy
    finally:
        context.close()


def scrolls_sideways(page: Page) -> bool:
    """True when the page itself is wider than the window (a table scrolling in its own box
    does not count)."""
    result: bool = page.evaluate(
        "() => document.scrollingElement.scrollWidth > document.scrollingElement.clientWidth"
    )
    return result


def wider_than_window(page: Page) -> list[str]:
    """The elements whose right (or left) edge lies outside the window: what to fix."""
    found: list[str] = page.evaluate(
        """() => {
          const width = document.scrollingElement.clientWidth;
          const out = [];
          for (const el of document.body.querySelectorAll('*')) {
            const box = el.getBoundingClientRect();
            if (box.width && (box.right > width + 0.5 || box.left < -0.5)) {
              out.push(el.tagName.toLowerCase() + (el.id ? '#' + el.id : '')
                + (el.className ? '.' + String(el.className).split(' ').join('.') : ''));
            }
          }
          return out.slice(0, 10);
        }"""
    )
    return found


def box(page: Page, selector: str) -> Box:
    found = page.locator(selector).bounding_box()
    assert found is not None, f"{selector} is not shown"
    return Box(found["x"], found["y"], found["width"], found["height"])


def serious_violations(page: Page) -> list[str]:
    """axe-core's serious and critical violations on ``page``, one line each."""
    results = Axe().run(page)
    lines = []
    violations: list[dict[str, Any]] = results.response["violations"]
    for violation in violations:
        if violation.get("impact") not in FAILING_IMPACTS:
            continue
        targets = [str(node.get("target")) for node in violation.get("nodes", [])][:5]
        lines.append(f"{violation['impact']} {violation['id']}: {violation['help']} at {targets}")
    return lines


def check_page(page: Page, *, widths: tuple[int, ...] = (DESKTOP, PHONE)) -> None:
    """No sideways scrolling at each width, and no serious or critical axe violation."""
    for width in widths:
        with snapshot(page, width) as copy:
            assert not scrolls_sideways(copy), (
                f"{page.url} scrolls sideways at {width} px: {wider_than_window(copy)}"
            )
            problems = serious_violations(copy)
            assert not problems, f"{page.url} at {width} px:\n" + "\n".join(problems)
