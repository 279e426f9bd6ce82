"""One corrupted inbox row must not take the inbox down, nor be half-shown.

Attack: corrupt (or forge, or strip the tag of) one case's sealed preview or the handler's grant
for it, so that the whole inbox fails with a server error and the handler sees no cases at all.

Defence: the inbox opens each row's preview on its own; a row that fails is shown as "could not
be verified" without any of its preview, and the rest of the page renders (200). The case page
of that case still refuses as a whole with the integrity page.
"""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy.orm import Session

import crypto
from portal.models import CaseKeyGrant
from portal.services import contexts
from tests.security.integrity_helpers import (
    FiledCase,
    assert_refused,
    case_row,
    file_full_case,
    flip,
    staff_client,
)

GOOD = "The canteen serves expired food every Friday."
BAD = "The depot manager sells the spare parts privately."


def _corrupt_preview(db: Session, filed: FiledCase, how: str) -> None:
    case = case_row(db, filed)
    if how == "flipped":
        case.sealed_preview = flip(case.sealed_preview, bit=len(case.sealed_preview) * 4)
    elif how == "untagged":
        case.sealed_preview_tag = None
    elif how == "case-key":
        case.public_key = crypto.generate_keypair().public_key
    elif how == "forged":
        case.sealed_preview = crypto.seal(
            case.public_key, b"Forged preview", contexts.preview(case.uid)
        )
    else:  # the handler's grant, which the preview is opened with
        grant = db.get(CaseKeyGrant, (case.id, filed.hanna.id))
        assert grant is not None
        grant.sealed_case_key = flip(grant.sealed_case_key, bit=9)
    db.commit()


@pytest.mark.parametrize("how", ["flipped", "untagged", "forged", "grant", "case-key"])
def test_one_bad_row_is_marked_and_the_rest_of_the_inbox_shows(
    app: Flask, db: Session, how: str
) -> None:
    good = file_full_case(app, db, text=GOOD)
    bad = file_full_case(app, db, text=BAD)
    _corrupt_preview(db, bad, how)
    hanna = staff_client(app, db, good.hanna)

    response = hanna.get("/staff/inbox")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "2 cases." in html
    assert GOOD in html
    assert html.count("Could not be verified") == 1
    assert BAD[:30] not in html and "Forged preview" not in html

    assert_refused(hanna.get(bad.url), shown=(BAD, "Forged preview"))
    assert hanna.get(good.url).status_code == 200
