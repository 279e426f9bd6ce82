"""The empty intake form, rendered once and served many times.

The form page is the heaviest page a reporter loads (every field, every choice and every promise
goes through WTForms and Jinja), and a flood of intake posts loads it once per post. Yet an empty
form differs between two visitors only in its two tokens: the CSRF token and the form's own
token. So the page is rendered with a mark in place of each, kept under a key that names
everything else it was made from (the page's language, the site's settings, the handlers a
reporter may exclude, the policies' promises, the upload limit), and each request gets a copy with
its own fresh tokens written in. An admin's edit changes the key, on this instance or another, so
no page outlives what it shows. A page with anything of the visitor's own (a problem to fix, typed
text, a flashed message) is never taken from here.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable, Hashable

from flask import current_app, request, session
from flask_wtf.csrf import generate_csrf
from markupsafe import escape

# Marks that cannot occur in a page by accident: random for each process.
CSRF_MARK = f"csrf-{secrets.token_hex(16)}"
FORM_TOKEN_MARK = f"form-{secrets.token_hex(16)}"

# Enough for every language and a few settings at once; beyond it the oldest pages are dropped.
_MAX_PAGES = 64

_lock = threading.Lock()


def _pages() -> dict[Hashable, str]:
    """This application's kept pages: another app in the process has its own configuration."""
    pages: dict[Hashable, str] = current_app.extensions.setdefault("candor.blank_pages", {})
    return pages


def blank_form_page(key: Hashable, render: Callable[[], str], form_token: str) -> str:
    """The empty form page for ``key`` with this request's CSRF token and ``form_token``.

    ``render`` draws the page with ``CSRF_MARK`` and ``FORM_TOKEN_MARK`` as the two tokens; it
    runs only when no page is kept under ``key``."""
    pages = _pages()
    with _lock:
        page = pages.get(key)
    if page is None:
        page = render()
        if page.count(CSRF_MARK) != 1 or page.count(FORM_TOKEN_MARK) != 1:
            raise ValueError("a blank page must hold each token's mark exactly once")
        with _lock:
            while len(pages) >= _MAX_PAGES:
                del pages[next(iter(pages))]
            pages[key] = page
    # generate_csrf keeps the raw token in the session, as rendering the form would have.
    return page.replace(CSRF_MARK, str(escape(generate_csrf()))).replace(
        FORM_TOKEN_MARK, str(escape(form_token))
    )


def servable() -> bool:
    """Whether this request may have a kept page: nothing flashed waits for it, and its address
    asks for nothing but a language (any other query would be one more page to keep)."""
    return not session.get("_flashes") and set(request.args) <= {"lang"}


def kept_count() -> int:
    """How many pages this application keeps now."""
    with _lock:
        return len(_pages())
