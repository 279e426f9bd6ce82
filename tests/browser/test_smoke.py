from __future__ import annotations

from urllib.parse import urlsplit

from playwright.sync_api import Page, Request, expect


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def test_landing_page_is_self_contained_without_javascript(page: Page, live_server: str) -> None:
    requested: list[str] = []

    def record(request: Request) -> None:
        requested.append(request.url)

    page.on("request", record)
    response = page.goto(f"{live_server}/")

    assert response is not None
    assert response.status == 200
    expect(page.get_by_text("Test Organisation").first).to_be_visible()
    assert page.locator("script").count() == 0
    assert requested
    assert {origin(url) for url in requested} == {live_server}
