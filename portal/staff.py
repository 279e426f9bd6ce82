"""The staff login gate shared by the handler and admin blueprints."""

from __future__ import annotations

from base64 import b64decode, b64encode
from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from typing import ParamSpec

from flask import abort, flash, g, redirect, request, session, url_for
from flask.typing import ResponseReturnValue

from portal import i18n
from portal.i18n import _l
from portal.models import Case
from portal.services import drafts, staff_auth
from portal.timeutil import utcnow
from portal.web import app_config, db_session

SESSION_KEY = "staff"
DRAFTS_KEY = "drafts"
# The posts whose text is worth keeping when they cannot be acted on, and which form it was.
DRAFT_ENDPOINTS = {
    "handler.send_message": "reply",
    "handler.add_note": "note",
    # Choosing a response template posts the reply form: its typed text is kept the same way.
    "handler.use_template": "reply",
}
MAX_KEPT_DRAFTS = 10
P = ParamSpec("P")


def remember_login(login: staff_auth.StaffLogin) -> None:
    # A fresh cookie at sign-in; nothing from before it carries over, not even the CSRF token
    # (Flask-WTF caches it on g for the request, so that goes too). Only the tokens of unsent
    # drafts survive: they open nothing without the case key that this sign-in brings.
    kept = session.get(DRAFTS_KEY)
    i18n.clear_session()
    g.pop("csrf_token", None)
    session[SESSION_KEY] = {"t": login.token, "k": b64encode(login.cookie_key).decode()}
    if isinstance(kept, list) and kept:
        session[DRAFTS_KEY] = [str(t) for t in kept][-MAX_KEPT_DRAFTS:]


def keep_typed_text() -> bool:
    """Keep the reply or note of a post that cannot be acted on; True when something was kept.

    The text is sealed to the case's public key (see ``portal.services.drafts``); the cookie keeps
    only the token that finds it again after the next sign-in.
    """
    kind = DRAFT_ENDPOINTS.get(request.endpoint or "")
    case_uid = (request.view_args or {}).get("uid")
    if request.method != "POST" or kind is None or not isinstance(case_uid, str):
        return False
    # Only for a browser that was signed in (its session ended or its form expired): a stranger
    # with no staff cookie gets nothing written.
    if current_login() is None:
        return False
    token = drafts.keep_draft(
        db_session(), case_uid, kind, request.form.get("body", ""), now=utcnow()
    )
    if token is None:
        return False
    kept = session.get(DRAFTS_KEY)
    tokens = [str(t) for t in kept] if isinstance(kept, list) else []
    session[DRAFTS_KEY] = [*tokens, token][-MAX_KEPT_DRAFTS:]
    return True


def take_drafts_for(case: Case, case_private_key: bytes) -> list[drafts.Draft]:
    """The drafts this browser kept for the case, opened with the handler's case key."""
    kept = session.get(DRAFTS_KEY)
    if not isinstance(kept, list) or not kept:
        return []
    found, others = drafts.take_drafts(
        db_session(), [str(t) for t in kept], case, case_private_key, now=utcnow()
    )
    if others:
        session[DRAFTS_KEY] = others
    else:
        session.pop(DRAFTS_KEY, None)
    return found


def current_login() -> staff_auth.StaffLogin | None:
    raw = session.get(SESSION_KEY)
    if not isinstance(raw, dict):
        return None
    return staff_auth.StaffLogin(token=str(raw["t"]), cookie_key=b64decode(raw["k"]))


_KEPT_AFTER_SIGN_OUT = _l(
    "Your session had ended, so your text was not sent. It is kept, sealed, and waits for you "
    "on the case page after you sign in again."
)


def _case_path() -> str:
    uid = (request.view_args or {}).get("uid", "")
    return url_for("handler.case_page", uid=uid)


def staff() -> staff_auth.StaffContext:
    """The signed-in staff member of this request (set by the decorators below)."""
    context: staff_auth.StaffContext = g.staff
    return context


def _gate(
    view: Callable[P, ResponseReturnValue],
    check: Callable[[staff_auth.StaffContext], bool],
    refusal: int = 403,
) -> Callable[P, ResponseReturnValue]:
    @wraps(view)
    def wrapped(*args: P.args, **kwargs: P.kwargs) -> ResponseReturnValue:
        login = current_login()
        if login is None:
            return redirect(url_for("handler.sign_in", next=request.path))
        try:
            context = staff_auth.resume(
                db_session(),
                login,
                now=utcnow(),
                idle=timedelta(minutes=app_config().security.session_idle_minutes),
            )
        except staff_auth.StaffSessionExpiredError as exc:
            kept = keep_typed_text()
            session.pop(SESSION_KEY, None)
            flash(str(exc), "error")
            if kept:
                flash(str(_KEPT_AFTER_SIGN_OUT), "info")
                return redirect(url_for("handler.sign_in", next=_case_path()))
            return redirect(url_for("handler.sign_in"))
        if not context.second_factor_done:
            return redirect(url_for("handler.enrol"))
        if not check(context):
            abort(refusal)
        g.staff = context
        return view(*args, **kwargs)

    return wrapped


def handler_required(view: Callable[P, ResponseReturnValue]) -> Callable[P, ResponseReturnValue]:
    """Signed in, second factor done, and a handler: only handlers read cases."""
    return _gate(view, lambda c: c.user.is_handler)


def case_handler_required(
    view: Callable[P, ResponseReturnValue],
) -> Callable[P, ResponseReturnValue]:
    """As :func:`handler_required`, for pages of one case: someone who is not a handler gets
    404, the answer for a case that does not exist, so a case URL never confirms a case."""
    return _gate(view, lambda c: c.user.is_handler, refusal=404)


def admin_required(view: Callable[P, ResponseReturnValue]) -> Callable[P, ResponseReturnValue]:
    return _gate(view, lambda c: c.user.is_admin)


def custodian_required(
    view: Callable[P, ResponseReturnValue],
) -> Callable[P, ResponseReturnValue]:
    """Signed in, second factor done, and a custodian: the identity requests' pages."""
    return _gate(view, lambda c: c.user.is_custodian)


def staff_required(view: Callable[P, ResponseReturnValue]) -> Callable[P, ResponseReturnValue]:
    return _gate(view, lambda c: True)
