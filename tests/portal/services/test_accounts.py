from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from portal.services import accounts
from portal.services.errors import InvalidInputError
from tests.factories import NOW, make_admin


def test_invited_account_keeps_its_notification_address(db: Session) -> None:
    admin = make_admin(db)
    user, _ = accounts.invite_user(
        db,
        admin,
        username="nina",
        display_name="Nina",
        title="",
        level=1,
        is_handler=True,
        is_admin=False,
        categories=(),
        now=NOW,
        email="  nina@example.org ",
    )
    assert user.email == "nina@example.org"


@pytest.mark.parametrize("bad", ["nina", "nina@example", "nina@example.org\r\nBcc: x@y.z"])
def test_an_address_that_could_break_a_header_is_refused(db: Session, bad: str) -> None:
    admin = make_admin(db)
    with pytest.raises(InvalidInputError, match="E-mail"):
        accounts.invite_user(
            db,
            admin,
            username="nina",
            display_name="Nina",
            title="",
            level=1,
            is_handler=True,
            is_admin=False,
            categories=(),
            now=NOW,
            email=bad,
        )
