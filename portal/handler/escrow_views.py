"""Escrow requests: asked for by an admin or level 2 staff, approved by escrow custodians each in
their own session; a paper custodian's words are typed in here while they are present."""

from __future__ import annotations

from collections.abc import Callable

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # newer than its stubs

from portal.handler import bp
from portal.handler.forms import EscrowRecoveryForm, PaperShareForm, PlainForm
from portal.i18n import _, _n
from portal.services.errors import NotFoundError, ServiceError
from portal.services.staff import escrow_answers, escrow_pages, escrow_requests
from portal.services.staff.escrow_completion import Outcome
from portal.services.staff.escrow_requests import WrongShareError
from portal.staff import staff, staff_required
from portal.timeutil import utcnow
from portal.web import db_session, parse_id


@bp.get("/escrow")
@staff_required
def escrow_requests_page() -> ResponseReturnValue:
    try:
        requests = escrow_pages.list_requests(db_session(), staff().user)
    except NotFoundError:
        abort(404)
    return render_template("handler/escrow_requests.html", requests=requests)


def _recovery_form() -> EscrowRecoveryForm:
    form = EscrowRecoveryForm()
    people = [
        SelectChoice(str(u.id), f"{u.display_name} ({u.username})")
        for u in escrow_pages.recovery_choices(db_session())
    ]
    form.handler_id.choices = [SelectChoice("", _("Choose a handler")), *people]
    form.from_handler_id.choices = [
        SelectChoice("", _("Nobody: only the references below")),
        *people,
    ]
    return form


@bp.route("/escrow/recovery", methods=["GET", "POST"])
@staff_required
def escrow_recovery() -> ResponseReturnValue:
    if not escrow_pages.may_see(staff().user):
        abort(404)
    form = _recovery_form()
    if not form.validate_on_submit():
        problems = [" ".join(m) for m in form.errors.values()]
        return render_template("handler/escrow_recovery.html", form=form, problems=problems), (
            400 if problems else 200
        )
    try:
        asked, uncovered = escrow_requests.request_recovery(
            db_session(),
            staff().user,
            handler_id=parse_id(form.handler_id.data or ""),
            from_handler_id=parse_id(form.from_handler_id.data or ""),
            references=form.references.data or "",
            reason=form.reason.data or "",
            now=utcnow(),
        )
    except ServiceError as exc:
        return render_template("handler/escrow_recovery.html", form=form, problems=[str(exc)]), 400
    flash(_("The recovery is asked for. The escrow custodians are to approve it."), "info")
    if uncovered:
        flash(
            _n(
                "%(num)d chosen case is not under escrow and cannot be recovered.",
                "%(num)d chosen cases are not under escrow and cannot be recovered.",
                uncovered,
            ),
            "error",
        )
    return redirect(url_for("handler.escrow_request", request_id=asked.id))


def _request_page(request_id: int, problems: list[str] | None = None) -> str:
    try:
        page = escrow_pages.request_page(db_session(), request_id, staff().user)
    except NotFoundError:
        abort(404)
    return render_template(
        "handler/escrow_request.html",
        page=page,
        form=PlainForm(),
        paper_form=PaperShareForm(formdata=None),
        problems=problems or [],
    )


@bp.route("/escrow/requests/<int:request_id>", methods=["GET", "POST"])
@staff_required
def escrow_request(request_id: int) -> ResponseReturnValue:
    """The request; a post is an answer (the button's ``act``), a paper share, or a withdrawal."""
    if not escrow_pages.may_see(staff().user):
        abort(404)
    if request.method == "GET":
        return _request_page(request_id)
    act = ACTS.get(request.form.get("act", ""))
    if act is None:
        abort(400)
    return act(request_id)


def _after(request_id: int, outcome: Outcome) -> ResponseReturnValue:
    if outcome.paper_shares:
        return render_template(
            "staff/escrow_shares.html", shares=outcome.paper_shares, created=False
        )
    if outcome.done and outcome.paper_shares == () and outcome.granted + outcome.skipped:
        flash(
            _n(
                "Enough escrow custodians approved: %(num)d case was granted.",
                "Enough escrow custodians approved: %(num)d cases were granted.",
                outcome.granted,
            ),
            "info",
        )
        if outcome.skipped:
            flash(
                _n(
                    "%(num)d case was not granted: it is gone, not under escrow, or the "
                    "handler is excluded from it.",
                    "%(num)d cases were not granted: they are gone, not under escrow, or the "
                    "handler is excluded from them.",
                    outcome.skipped,
                ),
                "error",
            )
    elif outcome.done:
        flash(_("Enough escrow custodians approved: the request is done."), "info")
    else:
        flash(
            _(
                "Approval recorded: %(count)d of %(needed)d.",
                count=outcome.approvals,
                needed=outcome.threshold,
            ),
            "info",
        )
    return redirect(url_for("handler.escrow_request", request_id=request_id))


def _approve(request_id: int) -> ResponseReturnValue:
    if not PlainForm().validate():
        abort(400)
    try:
        outcome = escrow_answers.approve(
            db_session(), request_id, staff().user, staff().private_key, now=utcnow()
        )
    except NotFoundError:
        abort(404)
    except ServiceError as exc:
        return _request_page(request_id, [str(exc)]), 400
    return _after(request_id, outcome)


def _paper_share(request_id: int) -> ResponseReturnValue:
    form = PaperShareForm()
    if not form.validate_on_submit():
        return _request_page(request_id, [_("Type in the share's words.")]), 400
    custodian_id = parse_id(form.custodian_id.data or "")
    if custodian_id is None:
        abort(400)
    try:
        outcome = escrow_answers.enter_paper_share(
            db_session(),
            request_id,
            custodian_id,
            form.words.data or "",
            staff().user,
            staff().private_key,
            now=utcnow(),
        )
    except NotFoundError:
        abort(404)
    except WrongShareError as exc:
        return _request_page(request_id, [str(exc)]), 400
    except ServiceError as exc:
        return _request_page(request_id, [str(exc)]), 400
    return _after(request_id, outcome)


def _refuse(request_id: int) -> ResponseReturnValue:
    if not PlainForm().validate():
        abort(400)
    try:
        closed = escrow_answers.refuse(db_session(), request_id, staff().user, now=utcnow())
    except NotFoundError:
        abort(404)
    except ServiceError as exc:
        return _request_page(request_id, [str(exc)]), 400
    flash(
        _("Refusal recorded: too few escrow custodians are left to approve; the request is closed.")
        if closed
        else _("Refusal recorded."),
        "info",
    )
    return redirect(url_for("handler.escrow_request", request_id=request_id))


def _cancel(request_id: int) -> ResponseReturnValue:
    if not PlainForm().validate():
        abort(400)
    try:
        escrow_answers.cancel(db_session(), request_id, staff().user, now=utcnow())
    except NotFoundError:
        abort(404)
    except ServiceError as exc:
        return _request_page(request_id, [str(exc)]), 400
    flash(_("The request is withdrawn; the shares given for it are deleted."), "info")
    return redirect(url_for("handler.escrow_request", request_id=request_id))


ACTS: dict[str, Callable[[int], ResponseReturnValue]] = {
    "approve": _approve,
    "refuse": _refuse,
    "paper": _paper_share,
    "cancel": _cancel,
}
