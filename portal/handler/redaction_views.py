"""Redacting parts of a case, and removing a redaction: each a form, then a confirmation."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from portal.handler import bp
from portal.handler.case_views import _access
from portal.handler.forms import RedactionForm, RemoveRedactionForm
from portal.i18n import _
from portal.services import inbox as inbox_service
from portal.services import redaction
from portal.services.casework import CaseAccess
from portal.services.errors import InvalidInputError, NotFoundError
from portal.staff import case_handler_required
from portal.timeutil import utcnow
from portal.web import db_session


@bp.route("/cases/<uid>/redact/<kind>/<item>", methods=["GET", "POST"])
@case_handler_required
def redact(uid: str, kind: str, item: str) -> ResponseReturnValue:
    """GET: the form. POST: checked and shown masked for confirmation; saved from there."""
    access = _access(uid)
    session = db_session()
    try:
        target = redaction.item_of(session, access, kind, item)
    except NotFoundError:
        abort(404)
    form = RedactionForm()
    if request.method == "GET":
        return _form_page(access, target, form)
    if not form.validate():
        abort(400)
    typed, reason = form.phrases.data or "", form.reason.data or ""
    try:
        if form.step.data == "save":
            redaction.make_redaction(session, access, kind, item, typed, reason, now=utcnow())
            flash(
                _("The words are redacted for colleagues granted the case later and in exports."),
                "info",
            )
            return redirect(url_for("handler.case_page", uid=uid, _anchor="redactions"))
        proposal = redaction.propose(session, access, kind, item, typed, reason)
    except InvalidInputError as exc:
        return _form_page(access, target, form, problem=str(exc), status=400)
    form.step.data = "save"
    return render_template(
        "handler/redaction_confirm.html",
        case=access.case,
        reference=inbox_service.reference(access.case),
        proposal=proposal,
        form=form,
    )


def _form_page(
    access: CaseAccess,
    target: redaction.Item,
    form: RedactionForm,
    problem: str = "",
    status: int = 200,
) -> ResponseReturnValue:
    form.step.data = "check"
    return render_template(
        "handler/redaction_form.html",
        case=access.case,
        reference=inbox_service.reference(access.case),
        item=target,
        form=form,
        problem=problem,
        masks_shown=access.masks.shown,
    ), status


@bp.route("/cases/<uid>/redactions/<redaction_uid>/remove", methods=["GET", "POST"])
@case_handler_required
def remove_redaction(uid: str, redaction_uid: str) -> ResponseReturnValue:
    """GET: what removing shows, and the reason. POST: removed, audited."""
    access = _access(uid)
    session = db_session()
    try:
        view = redaction.get_redaction(session, access, redaction_uid)
    except NotFoundError:
        abort(404)
    form = RemoveRedactionForm()
    problem, status = "", 200
    if request.method == "POST":
        if not form.validate():
            abort(400)
        try:
            redaction.remove_redaction(
                session, access, redaction_uid, form.reason.data or "", now=utcnow()
            )
        except InvalidInputError as exc:
            problem, status = str(exc), 400
        else:
            flash(
                _("The redaction is removed: everyone who holds the case sees the words."), "info"
            )
            return redirect(url_for("handler.case_page", uid=uid, _anchor="redactions"))
    return render_template(
        "handler/redaction_remove.html",
        case=access.case,
        reference=inbox_service.reference(access.case),
        redaction=view,
        form=form,
        problem=problem,
    ), status
