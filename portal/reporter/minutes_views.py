"""The reporter checks the minutes of a report they made by telephone, post, e-mail or in a
meeting, and approves or corrects them (Directive art. 18(2)-(4))."""

from __future__ import annotations

from flask import flash, redirect, url_for
from flask.typing import ResponseReturnValue

from portal.i18n import _
from portal.reporter import bp
from portal.reporter.forms import MinutesCorrectionForm
from portal.reporter.views import _case_page, _Reporter, _signed_in, reporter_action
from portal.services import oral, reporter_access
from portal.services.errors import InvalidInputError
from portal.timeutil import utcnow
from portal.web import db_session


@bp.post("/case/minutes/approve")
def approve_minutes() -> ResponseReturnValue:
    def action(context: reporter_access.ReporterContext) -> str:
        oral.approve_minutes(db_session(), context.case, now=utcnow())
        return _("Thank you. Your approval of the minutes is recorded.")

    return reporter_action(action)


@bp.post("/case/minutes/correct")
def correct_minutes() -> ResponseReturnValue:
    form = MinutesCorrectionForm()
    body = form.body.data or ""
    found = _signed_in()
    if not isinstance(found, _Reporter):
        return found
    if not form.validate():
        return _case_page(
            found.login,
            problem=_("The correction could not be accepted; send it again."),
            minutes_draft=body,
        )
    try:
        oral.correct_minutes(db_session(), found.context.case, body, now=utcnow())
    except InvalidInputError as exc:
        return _case_page(found.login, problem=str(exc), minutes_draft=body)
    flash(_("Your corrected minutes have been sent to the handlers."), "info")
    return redirect(url_for("reporter.case"))
