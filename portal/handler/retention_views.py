"""A legal hold on a case: put on and lifted by a handler at level 2 or above (audited)."""

from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask.typing import ResponseReturnValue

from portal.handler import bp
from portal.handler.case_views import _access, _render_case
from portal.handler.forms import PlainForm
from portal.i18n import _
from portal.services import retention
from portal.services.errors import InvalidInputError
from portal.staff import case_handler_required
from portal.timeutil import utcnow
from portal.web import db_session


@bp.post("/cases/<uid>/hold")
@case_handler_required
def hold_case(uid: str) -> ResponseReturnValue:
    if not PlainForm().validate():
        abort(400)
    access = _access(uid)
    try:
        retention.place_hold(
            db_session(), access.case, access.handler, request.form.get("reason", ""), now=utcnow()
        )
    except retention.HoldNotAllowedError:
        abort(403)
    except InvalidInputError as exc:
        return _render_case(access, None, problem=str(exc), status=400)
    flash(_("The case is on hold: it will not be deleted until the hold is lifted."), "info")
    return redirect(url_for("handler.case_page", uid=uid))


@bp.post("/cases/<uid>/hold/lift")
@case_handler_required
def lift_hold(uid: str) -> ResponseReturnValue:
    if not PlainForm().validate():
        abort(400)
    access = _access(uid)
    try:
        retention.lift_hold(db_session(), access.case, access.handler, now=utcnow())
    except retention.HoldNotAllowedError:
        abort(403)
    except InvalidInputError as exc:
        return _render_case(access, None, problem=str(exc), status=400)
    flash(_("The hold is lifted: the case is deleted when the time it is kept runs out."), "info")
    return redirect(url_for("handler.case_page", uid=uid))
