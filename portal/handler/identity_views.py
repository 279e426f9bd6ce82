"""A handler's request to see a confidential reporter's identity, and the custodians' pages.

The custodians' pages show a case reference, the handler, the reasons and the dates, never any
case content: a custodian holds no case key.
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from portal.handler import bp, case_views
from portal.handler.approval_views import notice
from portal.handler.forms import IdentityDecisionForm, IdentityRequestForm
from portal.i18n import _
from portal.models import IdentityRequestState
from portal.services import identity_access
from portal.services.errors import InvalidInputError, NotFoundError
from portal.staff import case_handler_required, custodian_required, staff
from portal.timeutil import utcnow
from portal.web import db_session

# What each decision does, and the state a request must be in for it.
DECISIONS = {
    "approve": IdentityRequestState.REQUESTED,
    "refuse": IdentityRequestState.REQUESTED,
    "revoke": IdentityRequestState.APPROVED,
}


@bp.post("/cases/<uid>/identity-requests")
@case_handler_required
def request_identity(uid: str) -> ResponseReturnValue:
    form = IdentityRequestForm()
    access = case_views.access_or_404(uid)
    typed = form.reason.data or ""
    if not form.validate():
        if "csrf_token" in form.errors:
            abort(400)
        problems = " ".join(m for messages in form.errors.values() for m in messages)
        return case_views.render_case(
            access, problem=_("Reason: %(problem)s", problem=problems), reason=typed, status=400
        )
    try:
        identity_access.request_identity(
            db_session(), access.case, access.handler, typed, now=utcnow(), notice=notice()
        )
    except InvalidInputError as exc:
        return case_views.render_case(access, problem=str(exc), reason=typed, status=400)
    flash(
        _("Your request has been sent to the custodians. You will be told of their decision."),
        "info",
    )
    return redirect(url_for("handler.case_page", uid=uid, _anchor="identity"))


@bp.get("/identity-requests")
@custodian_required
def identity_requests() -> ResponseReturnValue:
    return render_template(
        "handler/identity_requests.html", lists=identity_access.list_requests(db_session())
    )


@bp.route(
    "/identity-requests/<int:request_id>/<any(approve, refuse, revoke):decision>",
    methods=["GET", "POST"],
)
@custodian_required
def decide_identity_request(request_id: int, decision: str) -> ResponseReturnValue:
    db = db_session()
    try:
        view = identity_access.get_request_view(db, request_id)
    except NotFoundError as exc:
        flash(str(exc), "error")
        return redirect(url_for("handler.identity_requests"))
    if view.request.state is not DECISIONS[decision]:
        flash(_(identity_access.ALREADY_DECIDED), "error")
        return redirect(url_for("handler.identity_requests"))
    form = IdentityDecisionForm()
    if not form.validate_on_submit():
        status = 400 if request.method == "POST" else 200
        return _decision_page(view, decision, form), status
    try:
        if decision == "revoke":
            identity_access.revoke(
                db, staff().user, request_id, reason=form.reason.data or "", now=utcnow()
            )
        else:
            identity_access.decide(
                db,
                staff().user,
                request_id,
                approve=decision == "approve",
                reason=form.reason.data or "",
                now=utcnow(),
                notice=notice(),
            )
    except NotFoundError as exc:
        flash(str(exc), "error")
        return redirect(url_for("handler.identity_requests"))
    except (InvalidInputError, identity_access.NotACustodianError) as exc:
        return _decision_page(view, decision, form, str(exc)), 400
    done = {
        "approve": _("Request %(id)s approved.", id=request_id),
        "refuse": _("Request %(id)s refused.", id=request_id),
        "revoke": _("The approval of request %(id)s is revoked.", id=request_id),
    }
    flash(done[decision], "info")
    return redirect(url_for("handler.identity_requests"))


def _decision_page(
    view: identity_access.RequestView,
    decision: str,
    form: IdentityDecisionForm,
    problem: str = "",
) -> str:
    return render_template(
        "handler/identity_decision.html", view=view, decision=decision, form=form, problem=problem
    )
