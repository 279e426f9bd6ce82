"""The handler's choice of how to be told about their cases (on the account page)."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue

from portal.handler import bp
from portal.handler.forms import ChangePasswordForm, NotifyForm
from portal.i18n import _
from portal.services import accounts
from portal.staff import handler_required, staff
from portal.timeutil import utcnow
from portal.web import db_session


def notify_form() -> NotifyForm:
    """The form with the handler's current choice, for the account page."""
    form = NotifyForm()
    if form.mode.data is None:
        form.mode.data = "digest" if staff().user.notify_by_digest else "immediately"
    return form


@bp.post("/account/notifications")
@handler_required
def notification_preference() -> ResponseReturnValue:
    form = NotifyForm()
    if not form.validate_on_submit():
        return render_template(
            "handler/account.html", form=ChangePasswordForm(formdata=None), notify=form
        ), 400
    by_digest = form.mode.data == "digest"
    accounts.set_notification_preference(
        db_session(), staff().user, by_digest=by_digest, now=utcnow()
    )
    if by_digest:
        flash(
            _(
                "You will be told of new reports, reporter's messages and appeals in the daily "
                "digest. Critical (tier 1) cases are still told at once."
            ),
            "info",
        )
    else:
        flash(
            _("You will be told of new reports, reporter's messages and appeals at once."), "info"
        )
    return redirect(url_for("handler.account"))
