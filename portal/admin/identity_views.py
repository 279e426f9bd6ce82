"""The admin page on identity access: who the custodians are, or that nobody checks it."""

from __future__ import annotations

from flask import render_template
from flask.typing import ResponseReturnValue

from portal.admin import bp
from portal.services import accounts
from portal.staff import admin_required
from portal.web import db_session


@bp.get("/identity-access")
@admin_required
def identity_access() -> ResponseReturnValue:
    return render_template(
        "admin/identity_access.html", custodians=accounts.list_custodians(db_session())
    )
