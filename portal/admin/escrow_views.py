"""Admins create the key escrow (threshold M, N escrow custodians) and ask to change it."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # newer than its stubs

from portal.admin import bp
from portal.admin.forms import EscrowForm
from portal.i18n import _
from portal.services.errors import AlreadyExistsError, InvalidInputError, ServiceError
from portal.services.staff import escrow, escrow_requests
from portal.staff import admin_required, staff
from portal.timeutil import utcnow
from portal.web import db_session


def _form() -> EscrowForm:
    form = EscrowForm()
    form.custodians.choices = [
        SelectChoice(u.id, f"{u.display_name} ({u.title})")
        for u in escrow.custodian_candidates(db_session())
    ]
    return form


def _problems(form: EscrowForm) -> list[str]:
    return [
        _("%(label)s: %(messages)s", label=getattr(form, name).label.text, messages=" ".join(m))
        for name, m in form.errors.items()
    ]


def _page(form: EscrowForm, problems: list[str]) -> str:
    return render_template(
        "admin/escrow.html",
        status=escrow.escrow_status(db_session()),
        form=form,
        problems=problems,
    )


@bp.get("/escrow")
@admin_required
def escrow_page() -> ResponseReturnValue:
    form = _form()
    if form.threshold.data is None:
        form.threshold.data = 2
    return _page(form, [])


@bp.post("/escrow")
@admin_required
def escrow_create() -> ResponseReturnValue:
    """Create the escrow; the paper shares are shown in this response only, never again."""
    form = _form()
    if not form.validate_on_submit():
        return _page(form, _problems(form)), 400
    paper_names = escrow.parse_paper_names(form.paper_names.data or "")
    user_ids = list(form.custodians.data or [])
    threshold = form.threshold.data or 0
    try:
        escrow.check_custodians(db_session(), threshold, user_ids, paper_names)
        if form.confirm.data != "yes":
            return _confirm(form, paper_names, change=False)
        paper = escrow.create_escrow(
            db_session(),
            staff().user,
            threshold=threshold,
            user_ids=user_ids,
            paper_names=paper_names,
            now=utcnow(),
        )
    except (InvalidInputError, AlreadyExistsError) as exc:
        return _page(form, [str(exc)]), 400
    if not paper:
        flash(_("The escrow is created; every escrow custodian holds a sealed share."), "info")
        return redirect(url_for("admin.escrow_page"))
    return render_template("staff/escrow_shares.html", shares=paper, created=True)


@bp.post("/escrow/change")
@admin_required
def escrow_change() -> ResponseReturnValue:
    """Ask the current escrow custodians to re-split the key for another set or threshold."""
    form = _form()
    if not form.validate_on_submit():
        return _page(form, _problems(form)), 400
    paper_names = escrow.parse_paper_names(form.paper_names.data or "")
    user_ids = list(form.custodians.data or [])
    threshold = form.threshold.data or 0
    try:
        escrow.check_custodians(db_session(), threshold, user_ids, paper_names)
        if form.confirm.data != "yes":
            return _confirm(form, paper_names, change=True)
        request = escrow_requests.request_change(
            db_session(),
            staff().user,
            threshold=threshold,
            user_ids=user_ids,
            paper_names=paper_names,
            reason=form.reason.data or "",
            now=utcnow(),
        )
    except ServiceError as exc:
        return _page(form, [str(exc)]), 400
    flash(
        _("The change is asked for. It is done once enough current escrow custodians approve."),
        "info",
    )
    return redirect(url_for("handler.escrow_request", request_id=request.id))


def _confirm(form: EscrowForm, paper_names: list[str], *, change: bool) -> str:
    chosen = set(form.custodians.data or [])
    staff_names = [
        f"{u.display_name} ({u.title})"
        for u in escrow.custodian_candidates(db_session())
        if u.id in chosen
    ]
    return render_template(
        "admin/escrow_confirm.html",
        form=form,
        staff_names=staff_names,
        paper_names=paper_names,
        count=len(staff_names) + len(paper_names),
        change=change,
    )
