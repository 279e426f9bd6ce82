"""Issue 16: a new handler mistypes the first one-time code on the second-factor page and still
sees the recovery key and its "I have stored it" box, in a real browser with JavaScript off."""

from __future__ import annotations

import pyotp
from playwright.sync_api import Page, expect
from sqlalchemy.orm import Session

from portal.services import accounts
from portal.timeutil import utcnow
from tests.browser.navigators import NewStaffNavigator
from tests.factories import make_admin

PASSWORD = "maple orbit velvet canyon"


def test_a_mistyped_code_keeps_the_recovery_key(page: Page, live_server: str, db: Session) -> None:
    admin = make_admin(db)
    _, token = accounts.invite_user(
        db,
        admin,
        username="nina",
        display_name="Nina Ng",
        title="Compliance officer",
        level=1,
        is_handler=True,
        is_admin=False,
        categories=(),
        now=utcnow(),
    )
    nina = NewStaffNavigator(page, live_server)
    nina.activate(f"/staff/activate/{token}", PASSWORD)
    key = nina.read_recovery_key()
    assert key
    good = pyotp.TOTP(nina.secret()).now()
    nina.enter_code("000000" if good != "000000" else "111111")
    expect(page.get_by_role("alert")).to_contain_text("That code does not match")
    # The key and its box are still there after the slip.
    assert nina.read_recovery_key() == key
    expect(page.get_by_label("I have stored my recovery key somewhere safe")).to_be_visible()
    # A reload keeps them as well.
    page.reload()
    assert nina.read_recovery_key() == key
    nina.enter_code(pyotp.TOTP(nina.secret()).now())
    expect(page.get_by_role("heading", level=1)).not_to_have_text("Set up your second factor")
    expect(page.get_by_text("Your second factor is set up.")).to_be_visible()
