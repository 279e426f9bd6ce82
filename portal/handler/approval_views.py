"""The approval page: a second person decides whether an account starts receiving more reports.

Admins and active handlers at level 2 or above see it; the service refuses anyone who asked for a
change or is its subject, so one person alone never makes themselves or anyone a recipient.
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from portal.admin.forms import ConfirmForm
from portal.handler import bp
from portal.i18n import _
from portal.models import User
from portal.services import approvals
from portal.services.errors import InvalidInputError, NotFoundError
from portal.staff import staff, staff_required
from portal.timeutil import utcnow
from portal.web import app_config, db_session, intake_settings, site_look

# Row ids are 32-bit on PostgreSQL; a larger number names no change.
MAX_ID = 2**31 - 1


def category_labels() -> dict[str, str]:
    intake = intake_settings()
    return {c.key: c.label for c in (*intake.categories, *intake.retired)}


def notice() -> approvals.Notice:
    site = app_config().site
    return approvals.Notice(site_name=site_look().name, base_url=site.base_url)


def flash_pending(user: User, pending: approvals.PendingChange | None) -> None:
    """Say, right after a save, that part of it is not in effect yet, and who can approve it."""
    if pending is None:
        return
    flash(
        _(
            "What %(name)s is to receive from now on waits for approval by a second person; "
            "until then nothing of it is in effect. %(who)s",
            name=user.display_name,
            who=approvals.WHO_MAY_APPROVE,
        ),
        "info",
    )
    if not pending.has_approver:
        flash(str(approvals.HOW_TO_GET_AN_APPROVER), "error")


def _approver() -> User:
    person = staff().user
    if not approvals.may_approve(person):
        abort(403)
    return person


def _why_not(person: User, pending: approvals.PendingChange) -> str:
    try:
        approvals.check_may_decide(person, pending.change)
    except approvals.NotAllowedError as exc:
        return str(exc)
    return ""


@bp.get("/approvals")
@staff_required
def approvals_page() -> ResponseReturnValue:
    person = _approver()
    pending = approvals.list_pending(db_session())
    return render_template(
        "handler/approvals.html",
        pending=pending,
        why_not={p.change.id: _why_not(person, p) for p in pending},
        labels=category_labels(),
        who=approvals.WHO_MAY_APPROVE,
        how=approvals.HOW_TO_GET_AN_APPROVER,
    )


@bp.route("/approvals/<int:change_id>/<any(approve, reject):decision>", methods=["GET", "POST"])
@staff_required
def decide_change(change_id: int, decision: str) -> ResponseReturnValue:
    person = _approver()
    if change_id > MAX_ID:
        abort(404)
    db = db_session()
    try:
        pending = approvals.get_pending(db, change_id)
    except NotFoundError as exc:
        flash(str(exc), "error")
        return redirect(url_for("handler.approvals_page"))
    approve = decision == "approve"
    form = ConfirmForm()
    why_not = _why_not(person, pending)
    if why_not:
        return _confirm_page(pending, form, approve, why_not, can_decide=False), 403
    if not form.validate_on_submit():
        return _confirm_page(pending, form, approve), 400 if request.method == "POST" else 200
    try:
        approvals.decide(db, person, change_id, approve=approve, now=utcnow())
    except NotFoundError as exc:
        flash(str(exc), "error")
        return redirect(url_for("handler.approvals_page"))
    except InvalidInputError as exc:
        return _confirm_page(pending, form, approve, str(exc)), 400
    name = pending.user.display_name
    if approve:
        flash(
            _("Approved: %(name)s receives what the change asked for from now on.", name=name),
            "info",
        )
    else:
        flash(_("Rejected: nothing changed for %(name)s.", name=name), "info")
    return redirect(url_for("handler.approvals_page"))


def _confirm_page(
    pending: approvals.PendingChange,
    form: ConfirmForm,
    approve: bool,
    problem: str = "",
    *,
    can_decide: bool = True,
) -> str:
    return render_template(
        "handler/approval_confirm.html",
        p=pending,
        form=form,
        approve=approve,
        problem=problem,
        can_decide=can_decide,
        labels=category_labels(),
        how=approvals.HOW_TO_GET_AN_APPROVER,
    )
