"""Admins set how long each category's cases are kept after closing (audited)."""

from __future__ import annotations

from collections.abc import Mapping

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from portal.admin import bp
from portal.handler.forms import PlainForm
from portal.i18n import _
from portal.services import retention
from portal.services.errors import InvalidInputError
from portal.staff import admin_required, staff
from portal.timeutil import utcnow
from portal.web import app_config, current_settings, db_session

FIELD = "days:"


def _page(entries: Mapping[str, str], problem: str = "") -> str:
    return render_template(
        "admin/retention.html",
        categories=current_settings().intake.categories,
        entries=entries,
        field=FIELD,
        default_days=app_config().retention.default_days,
        remind_days=app_config().retention.remind_days,
        max_days=retention.MAX_DAYS,
        problem=problem,
        form=PlainForm(),
    )


@bp.route("/retention", methods=["GET", "POST"])
@admin_required
def retention_settings() -> ResponseReturnValue:
    if request.method == "GET":
        saved = current_settings().retention_days
        return _page({key: str(days) for key, days in saved.items()})
    if not PlainForm().validate():
        abort(400)
    entries = {
        key.removeprefix(FIELD): value
        for key, value in request.form.items()
        if key.startswith(FIELD)
    }
    try:
        retention.save_category_days(
            db_session(),
            current_settings().intake,
            entries,
            actor_id=staff().user.id,
            now=utcnow(),
        )
    except InvalidInputError as exc:
        return _page(entries, str(exc)), 400
    flash(_("The times cases are kept are saved."), "info")
    return redirect(url_for("admin.retention_settings"))
